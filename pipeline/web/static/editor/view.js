// The editor's DOM: the caption list, the summary, the live caption on the video, the waveform, messages.
// Caption text only ever reaches the page through textContent and input values, never as HTML. The list is
// updated, not rebuilt: a caption's row is redrawn only when its cue, the times of the cue before it (overlap) or
// its position changed, so typing in one caption leaves the others, and the text cursor, alone.

import {cueAt} from "./cues.js";
import * as Flags from "./flags.js";
import {figures, violationsAt} from "./quality.js";
import {formatTime} from "./times.js";
import {createWaveform} from "./waveform.js";
import {el} from "./dom.js";

const TITLES = {ok: "Within", warning: "Over the target:", error: "Error:"};

function setValue(input, value) {
  if (input.value !== value) input.value = value;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// What a caption's problems line says: order, overlap and empty text in words, the rest as figures to check.
function problemsText(found, shown) {
  const has = (rule) => found.find((v) => v.rule === rule);
  const problems = [];
  if (has("order")) problems.push("Starts before the caption before it.");
  if (has("overlap")) problems.push("Overlaps the caption before it.");
  if (has("empty")) problems.push("No text: type the caption or delete it.");
  const check = shown.filter((f) => f.level !== "ok").map((f) => `${f.label} (${f.limit})`);
  const slow = has("time_per_word");
  if (slow) check.push(`${(slow.value / 1000).toFixed(1)} s for its words (at least ${slow.limit / 1000} s)`);
  return problems.concat(check.length ? [`Check: ${check.join(", ")}`] : []).join(" ");
}

// The asset's state in words, for the header: "awaiting_review" -> "awaiting review".
export const stateWords = (state) => (state || "").replaceAll("_", " ");

// One flag of a caption: the word, its reasons and its state in words, and a button that marks it checked (or
// reopens it). A corrected word has nothing left to check.
function flagItem(p) {
  const word = Flags.bareWord(p.flag.word) || p.flag.word.trim();
  const by = p.flag.by ? ` by ${p.flag.by}` : "";
  const state = {open: "", checked: ` checked${by}`, corrected: " corrected"}[p.state] ?? ` ${p.state}`;
  const item = el("div", {className: `flag ${p.state}`, role: "listitem"}, [p.state === "open" ? "Check " : "",
    el("mark", {textContent: word}), ` (${(p.flag.labels || []).join(", ")})${state}`]);
  if (p.state === "corrected") return item;
  const open = p.state === "open";
  const button = el("button", {type: "button", className: "flag-state", textContent: open ? "Mark checked" : "Reopen"});
  button.dataset.flag = p.flag.key;
  button.dataset.act = open ? "check" : "reopen";
  button.setAttribute("aria-label", open ? `Mark “${word}” checked` : `Reopen “${word}”`);
  if (open) button.setAttribute("aria-keyshortcuts", "Alt+K");
  item.append(" ", button);
  return item;
}

const parts = new WeakMap(); // row -> its fields and parts, found once

// The words of the rows' labels, once in the page. Each field of a row is named by them and the row's number,
// which only its number button shows (aria-labelledby: "Start of caption" + "12"), so that a split or merge
// renumbers the rows after it by rewriting one number in each, not six labels (#20). Rows are known by their
// cue's id, which a caption keeps wherever it moves.
export const LABEL_WORDS = {play: "Play caption", start: "Start of caption", end: "End of caption",
                            text: "Text of caption", flags: "Flagged words of caption",
                            comment: "Comment on caption"};
export const rowId = (cueId) => `cue-${cueId}`;
export const cueIdOf = (row) => row.id.slice(rowId("").length);
export const numberId = (cueId) => `cue-number-${cueId}`;
const wordsId = (name) => `label-words-${name}`;
export const labelledBy = (name, cueId, ...more) => [wordsId(name), numberId(cueId), ...more].join(" ");

function labelWords(page) {
  if (page.getElementById(wordsId("play"))) return;
  page.body.append(el("div", {hidden: true}, Object.entries(LABEL_WORDS).map(
    ([name, words]) => el("span", {id: wordsId(name), textContent: words}))));
}

// A new row for the cue with id `cueId`, and its parts: {seek, at, start, end, text, badges, problems, flags}.
function emptyRow(cueId) {
  // Not in the Tab order: Tab goes start, end, text in each caption; Alt+P plays from the caption's text.
  const seek = el("button", {type: "button", className: "seek", tabIndex: -1, id: numberId(cueId)});
  const at = el("span", {hidden: true, id: `cue-at-${cueId}`}); // "from 0:04.2", the rest of the seek's name
  const start = el("input", {className: "start", inputMode: "decimal"});
  const end = el("input", {className: "end", inputMode: "decimal"});
  const text = el("textarea", {className: "text", rows: 2, spellcheck: true});
  const badges = el("span", {className: "badges", id: `cue-figures-${cueId}`});
  const problems = el("p", {className: "problems"});
  const flags = el("div", {className: "flags", role: "list"}); // not a <ul>: "#cue-list li" stays one per caption
  seek.setAttribute("aria-labelledby", labelledBy("play", cueId, at.id));
  start.setAttribute("aria-labelledby", labelledBy("start", cueId));
  end.setAttribute("aria-labelledby", labelledBy("end", cueId));
  text.setAttribute("aria-labelledby", labelledBy("text", cueId));
  text.setAttribute("aria-describedby", badges.id);
  flags.setAttribute("aria-labelledby", labelledBy("flags", cueId));
  const row = el("li", {className: "cue", id: rowId(cueId)}, [
    el("div", {className: "cue-head"}, [seek, at, start, el("span", {textContent: "→", ariaHidden: "true"}), end,
      badges]),
    text, problems, flags,
    el("p", {className: "cue-note", ariaHidden: "true"}), // the last message, where the reviewer is working
  ]);
  parts.set(row, {seek, at, start, end, text, badges, problems, flags});
  return row;
}

// The positions (into `sequence`) of a longest increasing run of its numbers, -1s left out: the rows that can
// stay where they are while the others move round them, so that a split or a moved caption moves one row.
export function longestRun(sequence) {
  const tails = []; // tails[k]: the position of the smallest last number of a run of k + 1
  const before = new Array(sequence.length).fill(-1);
  sequence.forEach((value, i) => {
    if (value < 0) return;
    let [low, high] = [0, tails.length];
    while (low < high) {
      const middle = (low + high) >> 1;
      if (sequence[tails[middle]] < value) low = middle + 1; else high = middle;
    }
    if (low > 0) before[i] = tails[low - 1];
    tails[low] = i;
  });
  const run = [];
  for (let i = tails.length ? tails[tails.length - 1] : -1; i !== -1; i = before[i]) run.push(i);
  return run.reverse();
}

const sameTimes = (a, b) => a === b || (Boolean(a) && Boolean(b) && a.start_ms === b.start_ms
                                        && a.end_ms === b.end_ms);

export function createView(page, {rules, durationMs}) {
  const $ = (id) => page.getElementById(id);
  const list = $("cue-list");
  const video = $("video");
  // Each caption's row is kept by its cue id (#20): an edit redraws the rows of the cues it changed (and the
  // next one, whose overlap depends on it); a split, merge, insert or delete adds or removes one row and
  // renumbers the rows after it; nothing is rebuilt.
  const rows = new Map(); // cue id -> its row
  const drawn = new WeakMap(); // row -> {cue, previous, index, flags, badges} it shows
  let shown = Object.freeze([]); // the cues the list shows, in its order
  let currentRow = null; // the row marked as under the playhead
  let selectedRow = 0; // the row the last message is copied into
  let noted = null; // the note that shows the last message
  let live = ""; // the text of the live caption
  const wave = createWaveform($("waveform"), durationMs);
  labelWords(page);

  // What says a row's number, the labels' included (LABEL_WORDS): it changes only when captions before it come
  // or go.
  function number(item, n) {
    item.dataset.index = String(n - 1);
    parts.get(item).seek.textContent = String(n);
  }

  // The caption's fields, figures, problems and flags, each only where it differs from what the row shows.
  function fillRow(item, cues, index, rowFlags, flagsKey) {
    const cue = cues[index];
    const was = drawn.get(item);
    const {at, start, end, text, badges, problems, flags} = parts.get(item);
    if (!was || was.index !== index) number(item, index + 1);
    setText(at, `from ${formatTime(cue.start_ms)}`);
    setValue(start, formatTime(cue.start_ms));
    setValue(end, formatTime(cue.end_ms));
    setValue(text, cue.text);
    const found = violationsAt(cues, index, rules);
    const figured = figures(cue, rules, found);
    const badgesKey = figured.map((f) => `${f.level}|${f.label}|${f.spoken}`).join("|");
    if (!was || was.badges !== badgesKey) {
      // The short figure for the eye, the sentence saying which limit it is over for a screen reader.
      badges.replaceChildren(...figured.map((f) => {
        const badge = el("span", {className: `badge ${f.level}`, title: `${TITLES[f.level]} ${f.limit}`}, [
          el("span", {textContent: f.label, ariaHidden: "true"}),
          el("span", {className: "visually-hidden", textContent: `${f.spoken}.`})]);
        badge.dataset.level = f.level;
        badge.dataset.figure = f.name;
        return badge;
      }));
    }
    setText(problems, problemsText(found, figured));
    if (!was || was.flags !== flagsKey) {
      flags.replaceChildren(...rowFlags.map(flagItem));
      item.classList.toggle("flagged", rowFlags.some((p) => p.state === "open"));
    }
    drawn.set(item, {cue, previous: cues[index - 1], index, flags: flagsKey, badges: badgesKey});
  }

  // The rows in the order of `cues`: rows of cues gone are removed, new ones made, and only the rows out of
  // order moved.
  function arrange(cues) {
    const wanted = new Set(cues.map((c) => c.id));
    for (const [id, row] of rows) if (!wanted.has(id)) { row.remove(); rows.delete(id); }
    const was = new Map(shown.map((c, i) => [c.id, i]));
    const order = cues.map((c) => {
      if (!rows.has(c.id)) rows.set(c.id, emptyRow(c.id));
      return rows.get(c.id);
    });
    const stay = new Set(longestRun(cues.map((c) => was.get(c.id) ?? -1)).map((i) => order[i]));
    let next = null;
    for (let i = order.length - 1; i >= 0; i--) {
      const row = order[i];
      if (!stay.has(row) || row.parentNode !== list) list.insertBefore(row, next);
      next = row;
    }
  }

  // `flags`: the server's flags (flags.js). A row is redrawn when its cue, the times of the one before, its
  // place or the states of its flags changed. Returns the positions of the rows drawn or renumbered.
  function renderCues(cues, flags = []) {
    const moved = cues.length !== shown.length || cues.some((c, i) => c.id !== shown[i].id);
    const active = page.activeElement;
    const caret = active && "selectionStart" in active ? [active.selectionStart, active.selectionEnd] : null;
    if (moved) arrange(cues);
    shown = cues;
    const byCue = Flags.byCue(cues, flags);
    const touched = [];
    cues.forEach((cue, index) => {
      const item = rows.get(cue.id);
      const was = drawn.get(item);
      const mine = byCue[index].map((p) => `${p.flag.key}:${p.state}:${p.flag.by}`).join(" ");
      const same = was && was.cue === cue && sameTimes(was.previous, cues[index - 1]) && was.flags === mine;
      if (same && was.index === index) return;
      if (same) { // only moved: a caption before it came or went
        number(item, index + 1);
        drawn.set(item, {...was, previous: cues[index - 1], index});
      } else fillRow(item, cues, index, byCue[index], mine);
      touched.push(index);
    });
    // A moved row loses the focus: back where it was, once every row says its new number.
    if (moved && active && active !== page.activeElement && list.contains(active)) {
      active.focus({preventScroll: true});
      if (caret) active.setSelectionRange(...caret);
    }
    return touched;
  }

  function renderStatus(state) {
    const flagged = Flags.openCount(state.cues, state.flags || []);
    const errors = state.problems.filter((p) => p.level === "error").length;
    const warnings = state.problems.length - errors;
    setText($("summary"), `${state.cues.length} captions · saved revision: ${errors} errors, ${warnings} `
      + `warnings · ${flagged} flagged words to check`);
    setText($("revision-label"), `revision ${state.base}`);
    if (state.assetState) setText($("review-status"), stateWords(state.assetState));
  }

  // The caption under the playhead: marked in the list and drawn as the live caption; while paused, the caption
  // being edited (`editing`, a list position) is drawn, so the preview follows the typing.
  function highlight(cues, nowMs, editing = -1) {
    const index = cueAt(cues, nowMs);
    const shownNow = video && video.paused && cues[editing] ? editing : index;
    const text = shownNow === -1 ? "" : cues[shownNow].text;
    if (text !== live) { live = text; $("live-caption").textContent = text; }
    const item = index === -1 ? null : rows.get(cues[index].id) ?? null;
    if (item === currentRow) return;
    currentRow?.classList.remove("current");
    currentRow?.removeAttribute("aria-current");
    currentRow = item;
    if (!item) return;
    item.classList.add("current");
    item.setAttribute("aria-current", "true");
    if (video && !video.paused && !list.contains(page.activeElement)) item.scrollIntoView({block: "nearest"});
  }

  // The waveform (waveform.js) and its value for assistive technology: where the playhead is.
  function drawWaveform(cues, selected, nowMs, peaks, zoom = 1) {
    const canvas = $("waveform");
    const at = cueAt(cues, nowMs);
    canvas.setAttribute("aria-valuenow", String(Math.round(nowMs)));
    canvas.setAttribute("aria-valuetext", `${formatTime(Math.round(nowMs))} of ${formatTime(durationMs || 0)}, `
      + `${at === -1 ? "between captions" : `in caption ${at + 1}`}; zoom ${zoom} times`);
    wave.draw(cues, selected, nowMs, peaks, zoom);
  }

  const textBox = (index) => list.children[index]?.querySelector(".text") ?? null;

  return {
    renderCues, renderStatus, highlight, drawWaveform, textBox,

    // Focus the text of caption `index`, with the cursor at `caret` or the text from `caret` to `end` selected.
    focusCue(index, caret, end = caret) {
      const text = textBox(index);
      if (!text) return;
      text.focus();
      if (caret !== undefined) text.setSelectionRange(caret, end);
      list.children[index].scrollIntoView({block: "nearest"});
    },
    // Select text in caption `index` without moving the focus (find and replace keeps it in its panel).
    showMatch(index, start, end) {
      textBox(index)?.setSelectionRange(start, end);
      list.children[index]?.scrollIntoView({block: "nearest"});
    },
    // A message: in the status line at the top, which screen readers announce, and copied (for the eye only)
    // under the caption the reviewer is working on, which may be far from the top (issue #15).
    announce(message) {
      $("save-status").textContent = message;
      const note = list.children[selectedRow]?.querySelector(".cue-note") ?? null;
      if (noted && noted !== note) noted.textContent = "";
      noted = note;
      if (note) setText(note, message);
    },
    markSelected(index) { selectedRow = index; },
    findStatus(message) { $("find-status").textContent = message; },

    // The reviewer's note and a language the recogniser heard other than the declared one.
    renderNotes(captions) {
      const notes = [];
      if (captions.changes_note) notes.push(`Changes requested by ${captions.changes_by}: ${captions.changes_note}`);
      if (captions.detected_language) {
        notes.push(`The speech recogniser heard "${captions.detected_language}", not the declared `
                   + `"${captions.language}": check the language.`);
      }
      $("changes-note").hidden = notes.length === 0;
      $("changes-note").textContent = notes.join(" ");
    },

    // The revisions, newest first; each but `base` with a button that calls `restore(number)`.
    renderHistory(revisions, base, restore) {
      $("history-list").replaceChildren(...revisions.map((r) => {
        const when = new Date(r.created_at).toLocaleString();
        const item = el("li", {}, [`${r.author}, ${when}: ${r.summary} `]);
        item.value = r.number;
        if (r.number !== base) {
          const button = el("button", {type: "button", textContent: `Restore revision ${r.number}`});
          button.addEventListener("click", () => restore(r.number));
          item.append(button);
        }
        return item;
      }));
    },
  };
}
