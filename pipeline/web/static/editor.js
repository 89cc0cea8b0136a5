// The caption editor. Caption text only ever reaches the page through textContent and input values,
// never as HTML. Every save names the revision it was based on; the server refuses a stale one (409)
// and this page then shows the conflict instead of overwriting anyone's work.
"use strict";

const DATA = JSON.parse(document.getElementById("editor-data").textContent);
const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const RULES = DATA.rules;
const API = `/api/assets/${DATA.asset.id}/captions/${DATA.language}`;
const NUDGE_MS = 100;
const MIN_SPLIT_MS = 200;
const $ = (id) => document.getElementById(id);

const state = {
  cues: [],          // [{start_ms, end_ms, text}]
  base: 0,           // the revision the cues were loaded from or last saved as
  problems: [],      // the server's quality report of the last saved revision
  selected: 0,       // index of the cue the tools act on
  dirty: false,
  saving: false,
  conflict: null,    // the server's 409 answer while a conflict is shown
  blocked: "",       // why the last save was refused (422): no retry until the next change
  undo: [],
  redo: [],
  typingSnapshot: 0, // time of the last undo snapshot taken while typing
  timer: 0,
  current: -1,       // cue under the playhead
};

const video = $("video");
const list = $("cue-list");
const status = $("save-status");

// -- times ---------------------------------------------------------------------------------------------

function formatTime(ms) {
  const minutes = Math.floor(ms / 60000);
  const seconds = ((ms % 60000) / 1000).toFixed(3).padStart(6, "0");
  return `${minutes}:${seconds}`;
}

function parseTime(text) {
  const match = /^\s*(?:(\d+):)?(\d+(?:\.\d{1,3})?)\s*$/.exec(text);
  if (!match) return null;
  return Math.round((Number(match[1] || 0) * 60 + Number(match[2])) * 1000);
}

function nowMs() { return video ? Math.round(video.currentTime * 1000) : 0; }

// -- quality badges: the rules of `pipeline captions check` (pipeline/captions/quality.py) ----------------

function cueFigures(cue) {
  const lines = cue.text.split("\n");
  const duration = cue.end_ms - cue.start_ms;
  const cps = lines.join(" ").length / (Math.max(duration, 1) / 1000);
  const longest = Math.max(0, ...lines.map((l) => l.length));
  const level = (value, warn, error) => (value > error ? "error" : value > warn ? "warning" : "ok");
  const durationLevel = duration < RULES.error_min_ms || duration > RULES.error_max_ms ? "error"
    : duration < RULES.warn_min_ms || duration > RULES.warn_max_ms ? "warning" : "ok";
  return [
    {name: "cps", label: `${cps.toFixed(1)} characters/s`, level: level(cps, RULES.warn_cps, RULES.error_cps),
     limit: `target at most ${RULES.warn_cps}`},
    {name: "cpl", label: `${longest} characters/line`, limit: `at most ${RULES.chars_per_line}`,
     level: lines.length > RULES.max_lines ? "error"
       : level(longest, RULES.chars_per_line, RULES.error_chars_per_line)},
    {name: "duration", label: `${(duration / 1000).toFixed(1)} s`, level: durationLevel,
     limit: `${RULES.warn_min_ms / 1000}–${RULES.warn_max_ms / 1000} s`},
  ];
}

function overlapProblem(index) {
  if (index === 0) return "";
  const before = state.cues[index - 1];
  return state.cues[index].start_ms < before.end_ms ? "Overlaps the caption before it." : "";
}

// -- flagged words -----------------------------------------------------------------------------------

function bare(text) { return text.toLowerCase().replace(/[^\p{L}\p{N}']/gu, ""); }

// A word belongs to the cue it starts in, or ends up to 0.5 s before: the rule of review._flag_warnings, so the
// editor and `pipeline captions check` list the same flagged words. A word the reviewer has changed drops out.
function flaggedWords(cue) {
  const present = new Set(cue.text.split(/\s+/).map(bare));
  return DATA.words.filter((w) => w.flags.length && w.start_ms >= cue.start_ms && w.start_ms < cue.end_ms + 500
                           && present.has(bare(w.text)));
}

// -- rendering ---------------------------------------------------------------------------------------

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

function renderBadges(item, index) {
  const cue = state.cues[index];
  const badges = item.querySelector(".badges");
  badges.replaceChildren(...cueFigures(cue).map((f) => el("span", {
    className: `badge ${f.level}`, textContent: f.label,
    title: `${f.level === "ok" ? "Within" : f.level === "warning" ? "Over the target:" : "Error:"} ${f.limit}`,
  })));
  for (const badge of badges.children) badge.dataset.level = badge.classList[1];
  const problems = [overlapProblem(index)].filter(Boolean);
  if (!cue.text.trim()) problems.push("No text: type the caption or delete it.");
  const worst = cueFigures(cue).filter((f) => f.level !== "ok").map((f) => `${f.label} (${f.limit})`);
  item.querySelector(".problems").textContent = problems.concat(worst.length ? [`Check: ${worst.join(", ")}`] : [])
    .join(" ");
  const flags = item.querySelector(".flags");
  const words = flaggedWords(cue);
  flags.replaceChildren();
  if (words.length) {
    flags.append("Check: ");
    words.forEach((w, i) => {
      flags.append(el("mark", {textContent: w.text.trim()}), ` (${w.flags.join(", ").replaceAll("_", " ")})`);
      if (i < words.length - 1) flags.append(", ");
    });
  }
  item.classList.toggle("flagged", words.length > 0);
}

function renderCue(cue, index) {
  const n = index + 1;
  const start = el("input", {className: "start", value: formatTime(cue.start_ms), inputMode: "decimal"});
  const end = el("input", {className: "end", value: formatTime(cue.end_ms), inputMode: "decimal"});
  start.setAttribute("aria-label", `Start of caption ${n}`);
  end.setAttribute("aria-label", `End of caption ${n}`);
  const text = el("textarea", {className: "text", value: cue.text, rows: 2, spellcheck: true});
  text.setAttribute("aria-label", `Text of caption ${n}`);
  text.setAttribute("aria-describedby", `cue-figures-${n}`);
  const seek = el("button", {type: "button", className: "seek", textContent: String(n)});
  seek.setAttribute("aria-label", `Play caption ${n} from ${formatTime(cue.start_ms)}`);
  const item = el("li", {className: "cue"}, [
    el("div", {className: "cue-head"}, [seek, start, el("span", {textContent: "→", ariaHidden: "true"}), end,
      el("span", {className: "badges", id: `cue-figures-${n}`})]),
    text,
    el("p", {className: "problems"}),
    el("p", {className: "flags"}),
  ]);
  item.dataset.index = String(index);
  renderBadges(item, index);
  return item;
}

function render(focus) {
  list.replaceChildren(...state.cues.map(renderCue));
  state.current = -1;
  updateSummary();
  highlightCurrent();
  drawWaveform();
  if (focus !== undefined) focusCue(focus.index, focus.caret);
}

function updateSummary() {
  const flagged = state.cues.reduce((sum, cue) => sum + flaggedWords(cue).length, 0);
  const errors = state.problems.filter((p) => p.level === "error").length;
  const warnings = state.problems.length - errors;
  $("summary").textContent = `${state.cues.length} captions · saved revision: ${errors} errors, ${warnings} `
    + `warnings · ${flagged} flagged words to check`;
  $("revision-label").textContent = `revision ${state.base}`;
  const blocked = errors > 0 && !state.dirty;
  $("override").hidden = !blocked;
  $("approve-blocked").hidden = !blocked;
  $("approve-blocked").textContent = blocked ? `${errors} quality errors block approval: fix them, or give a reason `
    + "to approve anyway." : "";
}

function itemAt(index) { return list.children[index]; }

function focusCue(index, caret) {
  const item = itemAt(index);
  if (!item) return;
  state.selected = index;
  const text = item.querySelector(".text");
  text.focus();
  if (caret !== undefined) text.setSelectionRange(caret, caret);
  item.scrollIntoView({block: "nearest"});
}

// -- editing with undo -------------------------------------------------------------------------------

function snapshot() {
  state.undo.push(JSON.stringify({cues: state.cues, selected: state.selected}));
  if (state.undo.length > 200) state.undo.shift();
  state.redo = [];
}

function changed() {
  state.dirty = true;
  state.blocked = "";
  announce("Unsaved changes");
  clearTimeout(state.timer);
  state.timer = setTimeout(save, DATA.autosave_ms);
  updateSummary();
  drawWaveform();
}

function restoreFrom(stack, other) {
  const entry = stack.pop();
  if (!entry) { announce("Nothing to " + (stack === state.undo ? "undo" : "redo")); return; }
  other.push(JSON.stringify({cues: state.cues, selected: state.selected}));
  const saved = JSON.parse(entry);
  state.cues = saved.cues;
  render({index: Math.min(saved.selected, state.cues.length - 1)});
  changed();
}

function sortCues() {
  const chosen = state.cues[state.selected];
  state.cues.sort((a, b) => a.start_ms - b.start_ms || a.end_ms - b.end_ms);
  state.selected = Math.max(0, state.cues.indexOf(chosen));
}

function setTime(index, field, ms) {
  const cue = state.cues[index];
  if (!cue) return;
  snapshot();
  cue[field] = Math.max(0, Math.round(ms));
  sortCues();
  render({index: state.selected});
  changed();
  announce(`Caption ${state.selected + 1} ${field === "start_ms" ? "starts" : "ends"} at ${formatTime(cue[field])}`);
}

function rebalance(text) {
  const flat = text.split(/\s+/).filter(Boolean).join(" ");
  if (flat.length <= RULES.chars_per_line) return flat;
  let best = -1;
  for (let i = flat.indexOf(" "); i !== -1; i = flat.indexOf(" ", i + 1)) {
    if (best === -1 || Math.abs(i - flat.length / 2) < Math.abs(best - flat.length / 2)) best = i;
  }
  return best === -1 ? flat : `${flat.slice(0, best)}\n${flat.slice(best + 1)}`;
}

function splitTime(cue, before, after) {
  // From Whisper's word timings when the words still match: the first part ends with the last word before
  // the cursor, the second starts with the next word. Otherwise in proportion to the characters.
  const words = DATA.words.filter((w) => w.start_ms >= cue.start_ms && w.start_ms < cue.end_ms);
  const count = before.split(/\s+/).filter(Boolean).length;
  const total = count + after.split(/\s+/).filter(Boolean).length;
  if (words.length === total && count > 0 && count < total) {
    return [words[count - 1].end_ms, Math.max(words[count].start_ms, words[count - 1].end_ms)];
  }
  const at = cue.start_ms + Math.round((cue.end_ms - cue.start_ms) * before.length / (before.length + after.length));
  return [at, at];
}

const actions = {
  play() { if (video) (video.paused ? video.play() : video.pause()); },
  "start-now"() { setTime(state.selected, "start_ms", nowMs()); },
  "end-now"() { setTime(state.selected, "end_ms", nowMs()); },
  "start-earlier"() { setTime(state.selected, "start_ms", state.cues[state.selected].start_ms - NUDGE_MS); },
  "start-later"() { setTime(state.selected, "start_ms", state.cues[state.selected].start_ms + NUDGE_MS); },
  "end-earlier"() { setTime(state.selected, "end_ms", state.cues[state.selected].end_ms - NUDGE_MS); },
  "end-later"() { setTime(state.selected, "end_ms", state.cues[state.selected].end_ms + NUDGE_MS); },
  split() {
    const index = state.selected;
    const cue = state.cues[index];
    const box = itemAt(index)?.querySelector(".text");
    if (!cue || !box) return;
    const caret = box.selectionStart;
    const before = cue.text.slice(0, caret).trim();
    const after = cue.text.slice(caret).trim();
    if (!before || !after || cue.end_ms - cue.start_ms < 2 * MIN_SPLIT_MS) {
      announce("Put the text cursor between two words of a caption to split it there");
      return;
    }
    const [endFirst, startSecond] = splitTime(cue, before, after);
    snapshot();
    state.cues.splice(index, 1, {start_ms: cue.start_ms, end_ms: endFirst, text: rebalance(before)},
                      {start_ms: startSecond, end_ms: cue.end_ms, text: rebalance(after)});
    render({index: index + 1, caret: 0});
    changed();
    announce(`Caption ${index + 1} split in two at ${formatTime(endFirst)}`);
  },
  merge() {
    const index = state.selected;
    const [first, second] = [state.cues[index], state.cues[index + 1]];
    if (!first || !second) { announce("There is no next caption to merge with"); return; }
    snapshot();
    state.cues.splice(index, 2, {start_ms: first.start_ms, end_ms: Math.max(first.end_ms, second.end_ms),
                                 text: rebalance(`${first.text} ${second.text}`)});
    render({index});
    changed();
    announce(`Captions ${index + 1} and ${index + 2} merged`);
  },
  insert() {
    const index = state.selected;
    const cue = state.cues[index];
    const next = state.cues[index + 1];
    const start = cue ? cue.end_ms : nowMs();
    const end = next && next.start_ms - start >= 500 ? Math.min(start + 2000, next.start_ms) : start + 2000;
    snapshot();
    state.cues.splice(cue ? index + 1 : 0, 0, {start_ms: start, end_ms: end, text: ""});
    render({index: cue ? index + 1 : 0});
    changed();
    announce(`New caption ${state.selected + 1} inserted at ${formatTime(start)}; type its text`);
  },
  delete() {
    const index = state.selected;
    if (!state.cues[index]) return;
    snapshot();
    state.cues.splice(index, 1);
    render({index: Math.min(index, state.cues.length - 1)});
    changed();
    announce(`Caption ${index + 1} deleted; Ctrl+Z brings it back`);
  },
  undo() { restoreFrom(state.undo, state.redo); },
  redo() { restoreFrom(state.redo, state.undo); },
  "next-flag"() {
    const count = state.cues.length;
    for (let step = 1; step <= count; step++) {
      const index = (state.selected + step) % count;
      const words = flaggedWords(state.cues[index]);
      if (words.length) {
        focusCue(index);
        const position = state.cues[index].text.indexOf(words[0].text.trim());
        if (position >= 0) itemAt(index).querySelector(".text").setSelectionRange(position,
                                                                                  position + words[0].text.trim().length);
        seekTo(state.cues[index].start_ms);
        announce(`Caption ${index + 1}: check "${words[0].text.trim()}" (${words[0].flags.join(", ")})`);
        return;
      }
    }
    announce("No flagged words left");
  },
  find() { $("find-panel").hidden = false; $("find-text").focus(); },
  save() { save(); },
  help() { $("help").showModal(); },
};

// -- find and replace ----------------------------------------------------------------------------------

function findFrom(index, offset) {
  const needle = $("find-text").value;
  if (!needle) return null;
  const matchCase = $("find-case").checked;
  const norm = (s) => (matchCase ? s : s.toLowerCase());
  for (let step = 0; step <= state.cues.length; step++) {
    const i = (index + step) % state.cues.length;
    const at = norm(state.cues[i].text).indexOf(norm(needle), step === 0 ? offset : 0);
    if (at !== -1) return {index: i, at, length: needle.length};
  }
  return null;
}

function showMatch(found) {
  const box = itemAt(found.index).querySelector(".text");
  state.selected = found.index;
  box.setSelectionRange(found.at, found.at + found.length);
  itemAt(found.index).scrollIntoView({block: "nearest"});
  $("find-status").textContent = `Found in caption ${found.index + 1}`;
}

function currentMatch() {
  const box = itemAt(state.selected)?.querySelector(".text");
  return box ? {index: state.selected, start: box.selectionStart, end: box.selectionEnd} : null;
}

$("find-next").addEventListener("click", () => {
  const here = currentMatch();
  const found = findFrom(here ? here.index : 0, here ? here.end : 0);
  if (found) showMatch(found); else $("find-status").textContent = "Not found";
});
$("replace-one").addEventListener("click", () => {
  const here = currentMatch();
  const needle = $("find-text").value;
  const cue = here && state.cues[here.index];
  const picked = cue ? cue.text.slice(here.start, here.end) : "";
  const same = $("find-case").checked ? picked === needle : picked.toLowerCase() === needle.toLowerCase();
  if (!needle || !same || here.start === here.end) { $("find-next").click(); return; }
  snapshot();
  cue.text = cue.text.slice(0, here.start) + $("replace-text").value + cue.text.slice(here.end);
  render();
  changed();
  $("find-status").textContent = `Replaced in caption ${here.index + 1}`;
});
$("replace-all").addEventListener("click", () => {
  const needle = $("find-text").value;
  if (!needle) return;
  const flags = $("find-case").checked ? "g" : "gi";
  const pattern = new RegExp(needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), flags);
  let count = 0;
  snapshot();
  for (const cue of state.cues) {
    cue.text = cue.text.replace(pattern, () => { count += 1; return $("replace-text").value; });
  }
  if (!count) { state.undo.pop(); $("find-status").textContent = "Not found"; return; }
  render();
  changed();
  $("find-status").textContent = `Replaced ${count} time${count === 1 ? "" : "s"}`;
});
$("find-close").addEventListener("click", () => { $("find-panel").hidden = true; focusCue(state.selected); });

// -- playback: the live caption, the current cue, the waveform -----------------------------------------

function seekTo(ms) { if (video) video.currentTime = ms / 1000 + 0.001; }

function cueAt(ms) { return state.cues.findIndex((c) => c.start_ms <= ms && ms < c.end_ms); }

function highlightCurrent() {
  const index = cueAt(nowMs());
  $("live-caption").textContent = index === -1 ? "" : state.cues[index].text;
  $("live-caption").hidden = index === -1;
  if (index === state.current) return;
  itemAt(state.current)?.classList.remove("current");
  itemAt(state.current)?.removeAttribute("aria-current");
  state.current = index;
  const item = itemAt(index);
  if (!item) return;
  item.classList.add("current");
  item.setAttribute("aria-current", "true");
  if (video && !video.paused && !list.contains(document.activeElement)) item.scrollIntoView({block: "nearest"});
}

let peaks = {peaks_per_second: 50, peaks: []};

function drawWaveform() {
  const canvas = $("waveform");
  const context = canvas.getContext("2d");
  const duration = DATA.asset.duration_ms || 1;
  const {width, height} = canvas;
  const x = (ms) => (ms / duration) * width;
  context.fillStyle = "#f4f4f4";
  context.fillRect(0, 0, width, height);
  state.cues.forEach((cue, i) => {
    context.fillStyle = i === state.selected ? "rgba(29, 112, 184, 0.35)" : "rgba(29, 112, 184, 0.15)";
    context.fillRect(x(cue.start_ms), 0, Math.max(1, x(cue.end_ms) - x(cue.start_ms)), height);
  });
  context.fillStyle = "#2b2b2b";
  const msPerPeak = 1000 / peaks.peaks_per_second;
  peaks.peaks.forEach((level, i) => {
    const h = Math.max(1, (level / 100) * height);
    context.fillRect(x(i * msPerPeak), (height - h) / 2, Math.max(1, x(msPerPeak)), h);
  });
  context.fillStyle = "#d4351c";
  context.fillRect(x(nowMs()), 0, 2, height);
}

function frame() {
  highlightCurrent();
  drawWaveform();
  if (video && !video.paused) requestAnimationFrame(frame);
}

if (video) {
  video.addEventListener("play", () => requestAnimationFrame(frame));
  video.addEventListener("timeupdate", () => { highlightCurrent(); drawWaveform(); });
  video.addEventListener("seeked", () => { highlightCurrent(); drawWaveform(); });
}
$("waveform").addEventListener("click", (event) => {
  const box = event.target.getBoundingClientRect();
  seekTo(((event.clientX - box.left) / box.width) * (DATA.asset.duration_ms || 0));
});

// -- list events: typing, timing fields, seeking ---------------------------------------------------------

list.addEventListener("focusin", (event) => {
  const item = event.target.closest(".cue");
  if (!item) return;
  const index = Number(item.dataset.index);
  if (index !== state.selected) { state.selected = index; drawWaveform(); }
  if (event.target.classList.contains("text") && video && video.paused) seekTo(state.cues[index].start_ms);
});
list.addEventListener("click", (event) => {
  if (!event.target.classList.contains("seek")) return;
  const index = Number(event.target.closest(".cue").dataset.index);
  state.selected = index;
  seekTo(state.cues[index].start_ms);
  video?.play();
});
list.addEventListener("input", (event) => {
  if (!event.target.classList.contains("text")) return;
  const item = event.target.closest(".cue");
  const index = Number(item.dataset.index);
  if (Date.now() - state.typingSnapshot > 1000) snapshot();
  state.typingSnapshot = Date.now();
  state.cues[index].text = event.target.value;
  if ($("pause-typing").checked && video && !video.paused) video.pause();
  renderBadges(item, index);
  changed();
});
list.addEventListener("change", (event) => {
  const field = event.target.classList.contains("start") ? "start_ms"
    : event.target.classList.contains("end") ? "end_ms" : null;
  if (!field) return;
  const index = Number(event.target.closest(".cue").dataset.index);
  const ms = parseTime(event.target.value);
  if (ms === null) {
    event.target.setAttribute("aria-invalid", "true");
    announce(`"${event.target.value}" is not a time; write minutes:seconds, like 1:04.250`);
    return;
  }
  event.target.removeAttribute("aria-invalid");
  state.selected = index;
  setTime(index, field, ms);
});

// -- keyboard ------------------------------------------------------------------------------------------

const SHORTCUTS = {
  "Alt+p": "play", "Alt+[": "start-now", "Alt+]": "end-now", "Alt+ArrowLeft": "start-earlier",
  "Alt+ArrowRight": "start-later", "Alt+Shift+ArrowLeft": "end-earlier", "Alt+Shift+ArrowRight": "end-later",
  "Alt+s": "split", "Alt+m": "merge", "Alt+i": "insert", "Alt+d": "delete", "Ctrl+z": "undo",
  "Ctrl+Shift+z": "redo", "Ctrl+y": "redo", "Alt+n": "next-flag", "Alt+f": "find", "Ctrl+s": "save",
  "Alt+h": "help", "F1": "help",
};

document.addEventListener("keydown", (event) => {
  // With Alt, some layouts (macOS) type another character: take the physical key for letters and brackets.
  const physical = {BracketLeft: "[", BracketRight: "]"}[event.code]
    || (event.altKey && event.code.startsWith("Key") ? event.code.slice(3).toLowerCase() : null);
  const key = physical || (event.key.length === 1 ? event.key.toLowerCase() : event.key);
  const combo = [event.ctrlKey || event.metaKey ? "Ctrl" : "", event.altKey ? "Alt" : "",
                 event.shiftKey && key.length > 1 || event.shiftKey && event.ctrlKey ? "Shift" : "", key]
    .filter(Boolean).join("+");
  if (event.altKey && (key === "ArrowDown" || key === "ArrowUp")) {
    event.preventDefault();
    focusCue(Math.max(0, Math.min(state.cues.length - 1, state.selected + (key === "ArrowDown" ? 1 : -1))));
    return;
  }
  const action = SHORTCUTS[combo];
  if (!action || (action === "undo" || action === "redo") && $("find-panel").contains(event.target)) return;
  event.preventDefault();
  actions[action]();
});

const toolbar = document.querySelector(".toolbar");
toolbar.addEventListener("click", (event) => {
  const action = event.target.closest("button")?.dataset.action;
  if (action) actions[action]();
});
// The ARIA toolbar pattern: one Tab stop; the arrow keys, Home and End move between its buttons.
const tools = [...toolbar.querySelectorAll("button")];
tools.forEach((button, i) => { button.tabIndex = i === 0 ? 0 : -1; });
toolbar.addEventListener("keydown", (event) => {
  if (event.altKey || event.ctrlKey) return;
  const at = tools.indexOf(document.activeElement);
  const to = {ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tools.length - 1}[event.key];
  if (at === -1 || to === undefined) return;
  event.preventDefault();
  const next = tools[(to + tools.length) % tools.length];
  tools.forEach((button) => { button.tabIndex = button === next ? 0 : -1; });
  next.focus();
});

// -- saving ----------------------------------------------------------------------------------------------

function announce(message) { status.textContent = message; }

function reviewer() {
  const name = $("reviewer-name").value.trim();
  if (!name) {
    announce("Type your name at the top before your changes can be saved");
    $("reviewer-name").setAttribute("aria-invalid", "true");
  }
  return name;
}

async function call(method, url, body) {
  const response = await fetch(url, {
    method, headers: {"Content-Type": "application/json", "X-CSRF-Token": CSRF},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let answer = {};
  try { answer = await response.json(); } catch { /* an empty or non-JSON body */ }
  return {ok: response.ok, status: response.status, body: answer};
}

function detail(answer) {
  const d = answer.body.detail;
  if (Array.isArray(d)) return d.map((e) => `${e.loc.slice(1).join(" ")}: ${e.msg}`).join("; ");
  return d || `the server answered ${answer.status}`;
}

function loaded(captions, message) {
  state.cues = captions.cues.map((c) => ({start_ms: c.start_ms, end_ms: c.end_ms, text: c.text}));
  state.base = captions.revision.number;
  state.problems = captions.problems;
  state.dirty = false;
  const note = $("changes-note");
  const notes = [];
  if (captions.changes_note) notes.push(`Changes requested by ${captions.changes_by}: ${captions.changes_note}`);
  if (captions.detected_language) {
    notes.push(`The speech recogniser heard "${captions.detected_language}", not the declared "${captions.language}": `
               + "check the language.");
  }
  note.hidden = notes.length === 0;
  note.textContent = notes.join(" ");
  if (message) announce(message);
  loadHistory();
}

async function save(overwrite = false) {
  clearTimeout(state.timer);
  if (!state.dirty || state.saving || (state.conflict && !overwrite) || state.blocked) return;
  const author = reviewer();
  if (!author) return;
  state.saving = true;
  const sent = JSON.stringify(state.cues);
  announce("Saving…");
  const base = overwrite ? state.conflict.current_revision : state.base;
  const answer = await call("PUT", API, {base_revision: base, author, cues: state.cues});
  state.saving = false;
  if (answer.ok) {
    state.conflict = null;
    $("conflict").hidden = true;
    state.base = answer.body.revision.number;
    state.problems = answer.body.problems;
    state.dirty = JSON.stringify(state.cues) !== sent;
    announce(`Saved revision ${state.base} at ${new Date().toLocaleTimeString()}`);
    updateSummary();
    loadHistory();
    if (state.dirty) state.timer = setTimeout(save, DATA.autosave_ms);
  } else if (answer.status === 409) {
    state.conflict = answer.body;
    $("conflict-text").textContent = `Not saved: ${answer.body.detail}. Your changes are still here.`;
    $("conflict").hidden = false;
    announce("Conflict: someone else saved these captions first");
  } else {
    state.blocked = detail(answer);
    announce(`Not saved: ${state.blocked}`);
  }
}

$("conflict-load").addEventListener("click", async () => {
  const answer = await call("GET", API);
  if (!answer.ok) { announce(detail(answer)); return; }
  state.conflict = null;
  $("conflict").hidden = true;
  snapshot();
  loaded(answer.body, `Loaded revision ${answer.body.revision.number}; Ctrl+Z gets your version back`);
  render({index: Math.min(state.selected, state.cues.length - 1)});
});
$("conflict-overwrite").addEventListener("click", () => save(true));

window.addEventListener("beforeunload", (event) => {
  if (state.dirty) event.preventDefault();
});

// -- decisions, files, history ---------------------------------------------------------------------------

async function flush() {
  if (state.dirty) await save();
  return !state.dirty && !state.conflict;
}

$("approve").addEventListener("click", async () => {
  const name = reviewer();
  if (!name || !(await flush())) return;
  const answer = await call("POST", `/api/assets/${DATA.asset.id}/approve`, {
    reviewer: name, revisions: {[DATA.language]: state.base}, override_reason: $("override-reason").value || null,
  });
  if (answer.ok) {
    $("review-status").textContent = "approved";
    announce(`Approved by ${name}. Publish with: pipeline publish ${DATA.asset.id}`);
  } else {
    announce(`Not approved: ${detail(answer)}`);
    if (answer.status === 422) { $("override").hidden = false; $("override-reason").focus(); }
  }
});

$("request-changes").addEventListener("click", async () => {
  const name = reviewer();
  if (!name || !(await flush())) return;
  const answer = await call("POST", `/api/assets/${DATA.asset.id}/request-changes`,
                            {reviewer: name, note: $("changes-text").value});
  if (answer.ok) {
    $("review-status").textContent = "changes requested";
    announce("Changes requested; the queue shows your note");
  } else announce(`Not sent: ${detail(answer)}`);
});

$("import").addEventListener("click", async () => {
  const file = $("import-file").files[0];
  const name = reviewer();
  if (!file) { announce("Choose a .vtt or .srt file first"); return; }
  if (!name || !(await flush())) return;
  const answer = await call("POST", `${API}/import`, {name: file.name, content: await file.text(),
                                                     base_revision: state.base, author: name});
  if (!answer.ok) { announce(`Not imported: ${detail(answer)}`); return; }
  snapshot();
  loaded(answer.body, `Imported ${file.name} as revision ${answer.body.revision.number}`);
  render({index: 0});
});

async function loadHistory() {
  const answer = await call("GET", `${API}/revisions`);
  if (!answer.ok) return;
  $("history-list").replaceChildren(...answer.body.map((r) => {
    const when = new Date(r.created_at).toLocaleString();
    const item = el("li", {}, [`${r.author}, ${when}: ${r.summary} `]);
    item.value = r.number;
    if (r.number !== state.base) {
      const restore = el("button", {type: "button", textContent: `Restore revision ${r.number}`});
      restore.addEventListener("click", async () => {
        const name = reviewer();
        if (!name || !(await flush())) return;
        const done = await call("POST", `${API}/revisions/${r.number}/restore`, {base_revision: state.base,
                                                                                 author: name});
        if (!done.ok) { announce(`Not restored: ${detail(done)}`); return; }
        snapshot();
        loaded(done.body, `Revision ${r.number} restored as revision ${done.body.revision.number}`);
        render({index: 0});
      });
      item.append(restore);
    }
    return item;
  }));
}

// -- start -----------------------------------------------------------------------------------------------

$("reviewer-name").value = localStorage.getItem("reviewer") || "";
$("reviewer-name").addEventListener("change", (event) => {
  localStorage.setItem("reviewer", event.target.value.trim());
  event.target.removeAttribute("aria-invalid");
  if (state.dirty) save();
});
$("pause-typing").checked = localStorage.getItem("pause-typing") === "1";
$("pause-typing").addEventListener("change", (event) => {
  localStorage.setItem("pause-typing", event.target.checked ? "1" : "0");
});

(async () => {
  const answer = await call("GET", API);
  if (!answer.ok) { announce(`Cannot load the captions: ${detail(answer)}`); return; }
  loaded(answer.body, "");
  render();
  const wave = await call("GET", `/api/assets/${DATA.asset.id}/waveform`);
  if (wave.ok) { peaks = wave.body; drawWaveform(); }
  document.body.dataset.ready = "true";
})();
