// The caption editor's entry point and wiring: the page's data, the editor state (one frozen value) and the
// single function that replaces it, update(); the actions behind the toolbar and the shortcuts; playback and
// the caption list's events. The edits themselves are the pure functions of cues.js, undo is history.js,
// drawing is view.js; find.js and saving.js change the state only through update() and edit() below.

import {createApi, detail} from "./api.js";
import {installComments} from "./comments.js";
import * as Cues from "./cues.js";
import {installDescriptions} from "./descriptions.js";
import {installFind} from "./find.js";
import * as Flags from "./flags.js";
import {installGate, observing} from "./gate.js";
import * as History from "./history.js";
import {installShortcuts, installToolbar} from "./keys.js";
import {installPlayer} from "./player.js";
import {installRevisions} from "./revisions.js";
import {installSaving} from "./saving.js";
import {formatTime, parseTime} from "./times.js";
import {createView} from "./view.js";

const DATA = JSON.parse(document.getElementById("editor-data").textContent);
const RULES = Object.freeze({...DATA.rules}); // the server's quality.Rules
const $ = (id) => document.getElementById(id);
const video = $("video");
const list = $("cue-list");
// Every answer that carries the flags or the asset's state updates them (gate.js).
const api = createApi({assetId: DATA.asset.id, language: DATA.language,
                       csrf: document.querySelector('meta[name="csrf-token"]').content,
                       fetch: observing(window.fetch.bind(window), (body) => gate?.received(body))});
const view = createView(document, {rules: RULES, durationMs: DATA.asset.duration_ms});

let state = Object.freeze({
  cues: Object.freeze([]), // [{id, start_ms, end_ms, text}], frozen (cues.js)
  base: 0, // the revision the cues were loaded from or last saved as
  baseCues: Object.freeze([]), // that revision's cues: a save sends what differs from them (changes.js)
  problems: [], // the server's quality report of the last saved revision
  selected: 0, // index of the cue the tools act on
  dirty: false,
  saving: false,
  conflicts: Object.freeze([]), // the captions both I and someone else changed, until each is decided (409)
  blocked: "", // why the last save was refused (422): no retry until the next change
  history: History.empty(),
  peaks: {peaks_per_second: 50, peaks: []}, // the waveform
  zoom: 1, // the waveform's zoom (waveform-keys.js)
  flags: Object.freeze(Flags.fromWords(DATA.words)), // the server's flags and their states (flags.js)
  flagKey: null, // the flag Alt+N last went to: Alt+K marks it checked
  decision: null, // the no-speech decision, {no_speech, no_speech_decided_by, no_speech_reason} | null
  assetState: DATA.asset.state, // the asset's state now, for the header
});

const STATUS_FIELDS = ["cues", "problems", "base", "dirty", "conflicts", "flags", "decision", "assetState"];
let gate = null; // gate.js: flags, the decision, line breaks (installed below, once the saving is)
const rowExtras = []; // what each caption's row shows besides the caption: conflicts, comments (state, touched)
const nowMs = () => (video ? Math.round(video.currentTime * 1000) : 0);
const seekTo = (ms) => { if (video) video.currentTime = ms / 1000 + 0.001; };
const announce = (message) => view.announce(message);

// The only place the state changes; the view then redraws what depends on what changed.
function update(change) {
  const before = state;
  state = Object.freeze({...before, ...change});
  // The rows drawn or renumbered: the comments and conflicts of the others are as they were.
  const touched = state.cues !== before.cues || state.flags !== before.flags
    ? view.renderCues(state.cues, state.flags) : [];
  view.markSelected(state.selected);
  if (STATUS_FIELDS.some((field) => state[field] !== before[field])) {
    view.renderStatus(state);
    gate?.decisions.changed(state, before);
  }
  if (state.cues !== before.cues || state.conflicts !== before.conflicts) {
    rowExtras.forEach((render) => render(state, touched));
  }
  redraw();
}

function redraw() {
  const typing = document.activeElement?.classList?.contains("text") && list.contains(document.activeElement);
  view.highlight(state.cues, nowMs(), typing ? state.selected : -1);
  view.drawWaveform(state.cues, state.selected, nowMs(), state.peaks, state.zoom);
}


function select(index, caret, end) {
  if (index !== state.selected) update({selected: index});
  view.focusCue(index, caret, end);
}

// An edit: recorded for undo, per caption (a keystroke, `typing`, may join the one before), then unsaved until
// the autosave.
function edit(cues, selected, {caret, focus = true, typing = null} = {}) {
  const ids = {before: state.cues[state.selected]?.id, after: cues[selected]?.id};
  const history = History.record(state.history, state.cues, cues, ids, typing);
  update({cues, selected, history, dirty: true, blocked: ""});
  if (focus) view.focusCue(selected, caret);
  saving.unsaved();
}

// Undo or redo, caption by caption: a caption someone else changed since (their save merged in) is left as it
// is, and the message says whose change kept it.
function travel(step, name) {
  const done = step(state.history, state.cues);
  if (!done) { announce(`Nothing to ${name}`); return; }
  const at = done.cues.findIndex((c) => c.id === done.selected);
  const selected = Cues.clampIndex(done.cues, at === -1 ? state.selected : at);
  update({cues: done.cues, selected, history: done.history, dirty: true, blocked: ""});
  view.focusCue(selected);
  saving.unsaved();
  if (done.skipped.length) announce(History.skippedText(name, done, state.cues));
}

// `focus` false (a time typed in the field of caption `from`): the focus is left alone, so that Tab goes on to
// the next field; when the new time moved the caption, to its field in the row it moved to.
function retime(result, field, focus = true, from = -1) {
  if (!result) return;
  edit(result.cues, result.index, {focus});
  if (!focus && result.index !== from && list.children[result.index]) {
    list.children[result.index].querySelector(field === "start_ms" ? ".start" : ".end").focus();
  }
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
  // Split and merge take their line breaks from the server's segmenter (gate.js laidOut), not a rule of their own.
  async split() {
    const index = state.selected;
    const box = view.textBox(index);
    if (!state.cues[index] || !box) return;
    const before = state.cues;
    const flat = Cues.splitAt(before, index, box.selectionStart, {words: DATA.words});
    if (!flat) { announce("Put the text cursor between two words of a caption to split it there"); return; }
    const cues = await gate.laidOut(before, flat, [index, index + 1]);
    if (!cues) { announce("The caption changed while it was being split; split it again"); return; }
    edit(cues, index + 1, {caret: 0});
    announce(`Caption ${index + 1} split in two at ${formatTime(cues[index].end_ms)}`);
  },
  async merge() {
    const index = state.selected;
    const before = state.cues;
    const flat = Cues.mergeWithNext(before, index);
    if (!flat) { announce("There is no next caption to merge with"); return; }
    const cues = await gate.laidOut(before, flat, [index]);
    if (!cues) { announce("The captions changed while they were being merged; merge them again"); return; }
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
  waveform() { player.focus(); },
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
list.addEventListener("focusout", () => requestAnimationFrame(redraw)); // the live caption: back to the playhead

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
       {focus: false, typing: {cue: state.cues[index]?.id, at: Date.now()}});
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
  retime(Cues.setTime(state.cues, indexOf(event), field, ms), field, false, indexOf(event));
});

installShortcuts(document, {
  run: (action) => actions[action](),
  move: (step) => select(Cues.clampIndex(state.cues, state.selected + step)),
  skip: (action, event) => (action === "undo" || action === "redo") && $("find-panel").contains(event.target),
});
installToolbar(document.querySelector(".toolbar"), (action) => actions[action]());

// -- start -----------------------------------------------------------------------------------------------

const editor = {get state() { return state; }, update, edit, view};
const saving = installSaving(editor, api, {assetId: DATA.asset.id, autosaveMs: DATA.autosave_ms, rules: RULES});
const comments = installComments(editor, api, saving);
rowExtras.push(saving.render, comments.render);
installRevisions(editor, api, saving);
installFind(editor);
const player = installPlayer(editor, {video, durationMs: DATA.asset.duration_ms || 0, nowMs, setNow});
gate = installGate(editor, api, {assetId: DATA.asset.id, language: DATA.language, saving, select, seekTo});
Object.assign(actions, gate.actions);
gate.decisions.changed(state);

// Autosave resumes as soon as a name is typed, not only when the name field is left.
$("reviewer-name").addEventListener("input", (event) => {
  if (!event.target.value.trim()) return;
  event.target.removeAttribute("aria-invalid");
  if (state.dirty) saving.unsaved();
});

// Audio description (issue #21): its own panel, state and saves, on an api without the captions' observer.
installDescriptions(document, {api: createApi({assetId: DATA.asset.id, language: DATA.language,
                                               csrf: document.querySelector('meta[name="csrf-token"]').content}),
                               assetId: DATA.asset.id, language: DATA.language, video,
                               durationMs: DATA.asset.duration_ms || 0, autosaveMs: DATA.autosave_ms});

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
