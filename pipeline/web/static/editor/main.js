// The caption editor's entry point and wiring: the page's data, the editor state (one frozen value) and the
// single function that replaces it, update(); the actions behind the toolbar and the shortcuts; playback and
// the caption list's events. The edits themselves are the pure functions of cues.js, undo is history.js,
// drawing is view.js; find.js and saving.js change the state only through update() and edit() below.

import {createApi, detail} from "./api.js";
import * as Cues from "./cues.js";
import {installFind} from "./find.js";
import * as History from "./history.js";
import {installShortcuts, installToolbar} from "./keys.js";
import {flaggedWords} from "./quality.js";
import {installSaving} from "./saving.js";
import {formatTime, parseTime} from "./times.js";
import {createView} from "./view.js";

const DATA = JSON.parse(document.getElementById("editor-data").textContent);
const RULES = Object.freeze({...DATA.rules}); // the server's quality.Rules
const $ = (id) => document.getElementById(id);
const video = $("video");
const list = $("cue-list");
const api = createApi({assetId: DATA.asset.id, language: DATA.language,
                       csrf: document.querySelector('meta[name="csrf-token"]').content});
const view = createView(document, {rules: RULES, words: DATA.words, durationMs: DATA.asset.duration_ms});

let state = Object.freeze({
  cues: Object.freeze([]), // [{start_ms, end_ms, text}], frozen (cues.js)
  base: 0, // the revision the cues were loaded from or last saved as
  problems: [], // the server's quality report of the last saved revision
  selected: 0, // index of the cue the tools act on
  dirty: false,
  saving: false,
  conflict: null, // the server's 409 answer while a conflict is shown
  blocked: "", // why the last save was refused (422): no retry until the next change
  history: History.empty(),
  peaks: {peaks_per_second: 50, peaks: []}, // the waveform
});

const STATUS_FIELDS = ["cues", "problems", "base", "dirty", "conflict"];
const nowMs = () => (video ? Math.round(video.currentTime * 1000) : 0);
const seekTo = (ms) => { if (video) video.currentTime = ms / 1000 + 0.001; };
const announce = (message) => view.announce(message);

// The only place the state changes; the view then redraws what depends on what changed.
function update(change) {
  const before = state;
  state = Object.freeze({...before, ...change});
  if (state.cues !== before.cues) view.renderCues(state.cues);
  if (STATUS_FIELDS.some((field) => state[field] !== before[field])) view.renderStatus(state);
  redraw();
}

function redraw() {
  view.highlight(state.cues, nowMs());
  view.drawWaveform(state.cues, state.selected, nowMs(), state.peaks);
}

function select(index, caret, end) {
  if (index !== state.selected) update({selected: index});
  view.focusCue(index, caret, end);
}

// An edit: recorded for undo (a keystroke, `typing`, may join the one before), then unsaved until the autosave.
function edit(cues, selected, {caret, focus = true, typing = null} = {}) {
  const history = History.record(state.history, {cues: state.cues, selected: state.selected}, typing);
  update({cues, selected, history, dirty: true, blocked: ""});
  if (focus) view.focusCue(selected, caret);
  saving.unsaved();
}

function travel(step, name) {
  const done = step(state.history, {cues: state.cues, selected: state.selected});
  if (!done) { announce(`Nothing to ${name}`); return; }
  const selected = Cues.clampIndex(done.entry.cues, done.entry.selected);
  update({cues: done.entry.cues, selected, history: done.history, dirty: true, blocked: ""});
  view.focusCue(selected);
  saving.unsaved();
}

function retime(result, field) {
  if (!result) return;
  edit(result.cues, result.index);
  const at = formatTime(result.cues[result.index][field]);
  announce(`Caption ${result.index + 1} ${field === "start_ms" ? "starts" : "ends"} at ${at}`);
}

const nudge = (field, delta) => retime(Cues.nudge(state.cues, state.selected, field, delta), field);
const setNow = (field) => retime(Cues.setTime(state.cues, state.selected, field, nowMs()), field);

const actions = {
  play() { if (video) (video.paused ? video.play() : video.pause()); },
  "start-now"() { setNow("start_ms"); },
  "end-now"() { setNow("end_ms"); },
  "start-earlier"() { nudge("start_ms", -Cues.NUDGE_MS); },
  "start-later"() { nudge("start_ms", Cues.NUDGE_MS); },
  "end-earlier"() { nudge("end_ms", -Cues.NUDGE_MS); },
  "end-later"() { nudge("end_ms", Cues.NUDGE_MS); },
  split() {
    const index = state.selected;
    const box = view.textBox(index);
    if (!state.cues[index] || !box) return;
    const cues = Cues.splitAt(state.cues, index, box.selectionStart,
                              {words: DATA.words, charsPerLine: RULES.chars_per_line});
    if (!cues) { announce("Put the text cursor between two words of a caption to split it there"); return; }
    edit(cues, index + 1, {caret: 0});
    announce(`Caption ${index + 1} split in two at ${formatTime(cues[index].end_ms)}`);
  },
  merge() {
    const index = state.selected;
    const cues = Cues.mergeWithNext(state.cues, index, RULES.chars_per_line);
    if (!cues) { announce("There is no next caption to merge with"); return; }
    edit(cues, index);
    announce(`Captions ${index + 1} and ${index + 2} merged`);
  },
  insert() {
    const {cues, index} = Cues.insertAfter(state.cues, state.selected, nowMs());
    edit(cues, index);
    announce(`New caption ${index + 1} inserted at ${formatTime(cues[index].start_ms)}; type its text`);
  },
  delete() {
    const index = state.selected;
    if (!state.cues[index]) return;
    const cues = Cues.deleteAt(state.cues, index);
    edit(cues, Cues.clampIndex(cues, index));
    announce(`Caption ${index + 1} deleted; Ctrl+Z brings it back`);
  },
  undo() { travel(History.undo, "undo"); },
  redo() { travel(History.redo, "redo"); },
  "next-flag"() {
    const count = state.cues.length;
    for (let step = 1; step <= count; step++) {
      const index = (state.selected + step) % count;
      const [word] = flaggedWords(state.cues[index], DATA.words);
      if (!word) continue;
      const text = word.text.trim();
      const at = state.cues[index].text.indexOf(text);
      if (at >= 0) select(index, at, at + text.length); else select(index);
      seekTo(state.cues[index].start_ms);
      announce(`Caption ${index + 1}: check "${text}" (${word.flags.join(", ")})`);
      return;
    }
    announce("No flagged words left");
  },
  find() { $("find-panel").hidden = false; $("find-text").focus(); },
  save() { saving.save(); },
  help() { $("help").showModal(); },
};

// -- playback, the list, the keyboard --------------------------------------------------------------------

function frame() {
  redraw();
  if (video && !video.paused) requestAnimationFrame(frame);
}

if (video) {
  video.addEventListener("play", () => requestAnimationFrame(frame));
  video.addEventListener("timeupdate", redraw);
  video.addEventListener("seeked", redraw);
}
$("waveform").addEventListener("click", (event) => {
  const box = event.target.getBoundingClientRect();
  seekTo(((event.clientX - box.left) / box.width) * (DATA.asset.duration_ms || 0));
});

const indexOf = (event) => Number(event.target.closest(".cue")?.dataset.index ?? -1);

list.addEventListener("focusin", (event) => {
  const index = indexOf(event);
  if (index === -1) return;
  if (index !== state.selected) update({selected: index});
  if (event.target.classList.contains("text") && video && video.paused) seekTo(state.cues[index].start_ms);
});
list.addEventListener("click", (event) => {
  if (!event.target.classList.contains("seek")) return;
  const index = indexOf(event);
  update({selected: index});
  seekTo(state.cues[index].start_ms);
  video?.play();
});
list.addEventListener("input", (event) => {
  if (!event.target.classList.contains("text")) return;
  const index = indexOf(event);
  edit(Cues.editText(state.cues, index, event.target.value), index,
       {focus: false, typing: {cue: index, at: Date.now()}});
  if ($("pause-typing").checked && video && !video.paused) video.pause();
});
list.addEventListener("change", (event) => {
  const field = event.target.classList.contains("start") ? "start_ms"
    : event.target.classList.contains("end") ? "end_ms" : null;
  if (!field) return;
  const ms = parseTime(event.target.value);
  if (ms === null) {
    event.target.setAttribute("aria-invalid", "true");
    announce(`"${event.target.value}" is not a time; write minutes:seconds, like 1:04.250`);
    return;
  }
  event.target.removeAttribute("aria-invalid");
  retime(Cues.setTime(state.cues, indexOf(event), field, ms), field);
});

installShortcuts(document, {
  run: (action) => actions[action](),
  move: (step) => select(Cues.clampIndex(state.cues, state.selected + step)),
  skip: (action, event) => (action === "undo" || action === "redo") && $("find-panel").contains(event.target),
});
installToolbar(document.querySelector(".toolbar"), (action) => actions[action]());

// -- start -----------------------------------------------------------------------------------------------

const editor = {get state() { return state; }, update, edit, view};
const saving = installSaving(editor, api, {assetId: DATA.asset.id, autosaveMs: DATA.autosave_ms});
installFind(editor);

$("pause-typing").checked = localStorage.getItem("pause-typing") === "1";
$("pause-typing").addEventListener("change", (event) => {
  localStorage.setItem("pause-typing", event.target.checked ? "1" : "0");
});

(async () => {
  const answer = await api.captions();
  if (!answer.ok) { announce(`Cannot load the captions: ${detail(answer)}`); return; }
  saving.loaded(answer.body, "");
  const wave = await api.waveform();
  if (wave.ok) update({peaks: wave.body});
  document.body.dataset.ready = "true";
})();
