// The editor's DOM: the caption list, the summary and conflict panel, the live caption on the video, the waveform, messages.
// Caption text only ever reaches the page through textContent and input values, never as HTML. The list is
// updated, not rebuilt: a caption's row is redrawn only when its cue, the cue before it (overlap) or its
// position changed, so typing in one caption leaves the others, and the text cursor, alone.

import {cueAt} from "./cues.js";
import {figures, flaggedWords, violationsAt} from "./quality.js";
import {formatTime} from "./times.js";

const TITLES = {ok: "Within", warning: "Over the target:", error: "Error:"};

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

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

function emptyRow() {
  const seek = el("button", {type: "button", className: "seek"});
  const start = el("input", {className: "start", inputMode: "decimal"});
  const end = el("input", {className: "end", inputMode: "decimal"});
  const text = el("textarea", {className: "text", rows: 2, spellcheck: true});
  return el("li", {className: "cue"}, [
    el("div", {className: "cue-head"}, [seek, start, el("span", {textContent: "→", ariaHidden: "true"}), end,
      el("span", {className: "badges"})]),
    text,
    el("p", {className: "problems"}),
    el("p", {className: "flags"}),
  ]);
}

export function createView(page, {rules, words, durationMs}) {
  const $ = (id) => page.getElementById(id);
  const list = $("cue-list");
  const video = $("video");
  const drawn = new WeakMap(); // row -> {cue, previous, index} it shows
  let current = -1; // the row marked as under the playhead

  function fillRow(item, cues, index) {
    const cue = cues[index];
    const n = index + 1;
    const [seek, start, end] = item.querySelectorAll(".seek, .start, .end");
    const text = item.querySelector(".text");
    item.dataset.index = String(index);
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
    badges.replaceChildren(...shown.map((f) => {
      const badge = el("span", {className: `badge ${f.level}`, textContent: f.label,
                                title: `${TITLES[f.level]} ${f.limit}`});
      badge.dataset.level = f.level;
      return badge;
    }));
    item.querySelector(".problems").textContent = problemsText(found, shown);
    const flags = item.querySelector(".flags");
    const flagged = flaggedWords(cue, words);
    flags.replaceChildren();
    if (flagged.length) {
      flags.append("Check: ");
      flagged.forEach((w, i) => {
        flags.append(el("mark", {textContent: w.text.trim()}), ` (${w.flags.join(", ").replaceAll("_", " ")})`);
        if (i < flagged.length - 1) flags.append(", ");
      });
    }
    item.classList.toggle("flagged", flagged.length > 0);
  }

  function renderCues(cues) {
    while (list.children.length > cues.length) list.lastElementChild.remove();
    while (list.children.length < cues.length) list.append(emptyRow());
    cues.forEach((cue, index) => {
      const item = list.children[index];
      const was = drawn.get(item);
      const previous = cues[index - 1];
      if (was && was.cue === cue && was.previous === previous && was.index === index) return;
      fillRow(item, cues, index);
      drawn.set(item, {cue, previous, index});
    });
  }

  function renderStatus(state) {
    const flagged = state.cues.reduce((sum, cue) => sum + flaggedWords(cue, words).length, 0);
    const errors = state.problems.filter((p) => p.level === "error").length;
    const warnings = state.problems.length - errors;
    $("summary").textContent = `${state.cues.length} captions · saved revision: ${errors} errors, ${warnings} `
      + `warnings · ${flagged} flagged words to check`;
    $("revision-label").textContent = `revision ${state.base}`;
    const blocked = errors > 0 && !state.dirty;
    $("override").hidden = !blocked;
    $("approve-blocked").hidden = !blocked;
    $("approve-blocked").textContent = blocked ? `${errors} quality errors block approval: fix them, or give a `
      + "reason to approve anyway." : "";
    $("conflict").hidden = !state.conflict;
    $("conflict-text").textContent = state.conflict
      ? `Not saved: ${state.conflict.detail}. Your changes are still here.` : "";
  }

  function highlight(cues, nowMs) {
    const index = cueAt(cues, nowMs);
    $("live-caption").textContent = index === -1 ? "" : cues[index].text;
    $("live-caption").hidden = index === -1;
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

  function drawWaveform(cues, selected, nowMs, peaks) {
    const canvas = $("waveform");
    const context = canvas.getContext("2d");
    const duration = durationMs || 1;
    const {width, height} = canvas;
    const x = (ms) => (ms / duration) * width;
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
      context.fillRect(x(i * msPerPeak), (height - h) / 2, Math.max(1, x(msPerPeak)), h);
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
    announce(message) { $("save-status").textContent = message; },
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
