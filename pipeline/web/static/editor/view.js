// The editor's DOM: the caption list, the summary, the live caption on the video, the waveform, messages.
// Caption text only ever reaches the page through textContent and input values, never as HTML. The list is
// updated, not rebuilt: a caption's row is redrawn only when its cue, the cue before it (overlap) or its
// position changed, so typing in one caption leaves the others, and the text cursor, alone.

import {cueAt} from "./cues.js";
import * as Flags from "./flags.js";
import {figures, violationsAt} from "./quality.js";
import {formatTime} from "./times.js";
import {waveWindow} from "./waveform-keys.js";
import {el} from "./dom.js";

const TITLES = {ok: "Within", warning: "Over the target:", error: "Error:"};

function setValue(input, value) {
  if (input.value !== value) input.value = value;
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

function emptyRow() {
  // Not in the Tab order: Tab goes start, end, text in each caption; Alt+P plays from the caption's text.
  const seek = el("button", {type: "button", className: "seek", tabIndex: -1});
  const start = el("input", {className: "start", inputMode: "decimal"});
  const end = el("input", {className: "end", inputMode: "decimal"});
  const text = el("textarea", {className: "text", rows: 2, spellcheck: true});
  return el("li", {className: "cue"}, [
    el("div", {className: "cue-head"}, [seek, start, el("span", {textContent: "→", ariaHidden: "true"}), end,
      el("span", {className: "badges"})]),
    text,
    el("p", {className: "problems"}),
    el("div", {className: "flags", role: "list"}), // not a <ul>: "#cue-list li" stays one per caption
    el("p", {className: "cue-note", ariaHidden: "true"}), // the last message, where the reviewer is working
  ]);
}

export function createView(page, {rules, durationMs}) {
  const $ = (id) => page.getElementById(id);
  const list = $("cue-list");
  const video = $("video");
  const drawn = new WeakMap(); // row -> {cue, previous, index, flags} it shows
  let current = -1; // the row marked as under the playhead
  let selectedRow = 0; // the row the last message is copied into
  let live = ""; // the text of the live caption

  function fillRow(item, cues, index, rowFlags) {
    const cue = cues[index];
    const n = index + 1;
    const [seek, start, end] = item.querySelectorAll(".seek, .start, .end");
    const text = item.querySelector(".text");
    item.dataset.index = String(index);
    item.id = `cue-${n}`;
    seek.textContent = String(n);
    seek.setAttribute("aria-label", `Play caption ${n} from ${formatTime(cue.start_ms)}`);
    setValue(start, formatTime(cue.start_ms));
    setValue(end, formatTime(cue.end_ms));
    start.setAttribute("aria-label", `Start of caption ${n}`);
    end.setAttribute("aria-label", `End of caption ${n}`);
    setValue(text, cue.text);
    text.setAttribute("aria-label", `Text of caption ${n}`);
    text.setAttribute("aria-describedby", `cue-figures-${n}`);
    const found = violationsAt(cues, index, rules);
    const shown = figures(cue, rules, found);
    const badges = item.querySelector(".badges");
    badges.id = `cue-figures-${n}`;
    // The short figure for the eye, the sentence saying which limit it is over for a screen reader.
    badges.replaceChildren(...shown.map((f) => {
      const badge = el("span", {className: `badge ${f.level}`, title: `${TITLES[f.level]} ${f.limit}`}, [
        el("span", {textContent: f.label, ariaHidden: "true"}),
        el("span", {className: "visually-hidden", textContent: `${f.spoken}.`})]);
      badge.dataset.level = f.level;
      badge.dataset.figure = f.name;
      return badge;
    }));
    item.querySelector(".problems").textContent = problemsText(found, shown);
    const flags = item.querySelector(".flags");
    flags.replaceChildren(...rowFlags.map(flagItem));
    flags.setAttribute("aria-label", `Flagged words of caption ${n}`);
    item.classList.toggle("flagged", rowFlags.some((p) => p.state === "open"));
  }

  // `flags`: the server's flags (flags.js); a row is redrawn when its cue, the one before, its place or the
  // states of its flags changed.
  function renderCues(cues, flags = []) {
    while (list.children.length > cues.length) list.lastElementChild.remove();
    while (list.children.length < cues.length) list.append(emptyRow());
    const rows = Flags.byCue(cues, flags);
    cues.forEach((cue, index) => {
      const item = list.children[index];
      const was = drawn.get(item);
      const previous = cues[index - 1];
      const mine = rows[index].map((p) => `${p.flag.key}:${p.state}:${p.flag.by}`).join(" ");
      if (was && was.cue === cue && was.previous === previous && was.index === index && was.flags === mine) return;
      fillRow(item, cues, index, rows[index]);
      drawn.set(item, {cue, previous, index, flags: mine});
    });
  }

  function renderStatus(state) {
    const flagged = Flags.openCount(state.cues, state.flags || []);
    const errors = state.problems.filter((p) => p.level === "error").length;
    const warnings = state.problems.length - errors;
    $("summary").textContent = `${state.cues.length} captions · saved revision: ${errors} errors, ${warnings} `
      + `warnings · ${flagged} flagged words to check`;
    $("revision-label").textContent = `revision ${state.base}`;
    if (state.assetState) $("review-status").textContent = stateWords(state.assetState);
  }

  // The caption under the playhead: marked in the list and drawn as the live caption; while paused, the caption
  // being edited (`editing`, a list position) is drawn, so the preview follows the typing.
  function highlight(cues, nowMs, editing = -1) {
    const index = cueAt(cues, nowMs);
    const shown = video && video.paused && cues[editing] ? editing : index;
    const text = shown === -1 ? "" : cues[shown].text;
    if (text !== live) { live = text; $("live-caption").textContent = text; }
    if (index === current) return;
    list.children[current]?.classList.remove("current");
    list.children[current]?.removeAttribute("aria-current");
    current = index;
    const item = list.children[index];
    if (!item) return;
    item.classList.add("current");
    item.setAttribute("aria-current", "true");
    if (video && !video.paused && !list.contains(page.activeElement)) item.scrollIntoView({block: "nearest"});
  }

  // The waveform of the part of the timeline `zoom` shows (waveform-keys.js), and its value for assistive
  // technology: where the playhead is.
  function drawWaveform(cues, selected, nowMs, peaks, zoom = 1) {
    const canvas = $("waveform");
    const context = canvas.getContext("2d");
    const {from, to} = waveWindow(durationMs || 1, zoom, nowMs);
    const {width, height} = canvas;
    const x = (ms) => ((ms - from) / (to - from)) * width;
    const at = cueAt(cues, nowMs);
    canvas.setAttribute("aria-valuenow", String(Math.round(nowMs)));
    canvas.setAttribute("aria-valuetext", `${formatTime(Math.round(nowMs))} of ${formatTime(durationMs || 0)}, `
      + `${at === -1 ? "between captions" : `in caption ${at + 1}`}; zoom ${zoom} times`);
    context.fillStyle = "#f4f4f4";
    context.fillRect(0, 0, width, height);
    cues.forEach((cue, i) => {
      context.fillStyle = i === selected ? "rgba(29, 112, 184, 0.35)" : "rgba(29, 112, 184, 0.15)";
      context.fillRect(x(cue.start_ms), 0, Math.max(1, x(cue.end_ms) - x(cue.start_ms)), height);
    });
    context.fillStyle = "#2b2b2b";
    const msPerPeak = 1000 / peaks.peaks_per_second;
    peaks.peaks.forEach((level, i) => {
      const h = Math.max(1, (level / 100) * height);
      context.fillRect(x(i * msPerPeak), (height - h) / 2, Math.max(1, x(msPerPeak) - x(0)), h);
    });
    context.fillStyle = "#d4351c";
    context.fillRect(x(nowMs), 0, 2, height);
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
      for (const note of list.querySelectorAll(".cue-note:not(:empty)")) note.textContent = "";
      const note = list.children[selectedRow]?.querySelector(".cue-note");
      if (note) note.textContent = message;
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
