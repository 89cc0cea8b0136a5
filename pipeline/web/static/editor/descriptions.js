// The audio description panel (issue #21): description cues (a start time and the text the voice speaks), the
// gaps in the programme's speech to put them in, how long each takes to speak at the voice's rate, and a warning
// in words when one would run into dialogue. Each change is saved by itself through the descriptions API (per cue,
// by id, as captions are: changes.js), and "Approve descriptions" records the approval.
//
// Why gaps: WCAG 2.x 1.2.5 (audio description, level AA) describes what a blind viewer would miss in the pauses of
// the dialogue; a description that runs into speech is either lost under it or talks over it.
//
// The panel keeps its own state and its own keys: inside it, Alt+I adds a description, Alt+D deletes one, Alt+[
// sets its start to the playhead, Alt+Left/Right move its start and Alt+Down/Up go between descriptions; the
// caption editor's other editing keys (split, undo of a caption...) do nothing here, so that a key pressed in a
// description never changes a caption.

import {detail} from "./api.js";
import * as Changes from "./changes.js";
import {newId} from "./cues.js";
import {el} from "./dom.js";
import {comboOf, SHORTCUTS} from "./keys.js";
import {parseTime} from "./times.js";

export const NUDGE_MS = 100;
export const MIN_GAP_MS = 1000; // a shorter pause in speech has no room for a description worth listing
const DEFAULT_WPM = 160;

// -- pure: no DOM ----------------------------------------------------------------------------------------

// "0:12.4": descriptions are placed to the tenth of a second.
export function shortTime(ms) {
  const tenths = Math.round(Math.max(0, ms) / 100);
  const minutes = Math.floor(tenths / 600);
  const seconds = ((tenths % 600) / 10).toFixed(1).padStart(4, "0");
  return `${minutes}:${seconds}`;
}

export const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

// The time the voice takes to speak `text` at `wpm` words a minute, before the server has measured it.
export function estimateMs(text, wpm) {
  const words = text.split(/\s+/).filter(Boolean).length;
  return Math.round((words / (wpm || DEFAULT_WPM)) * 60000);
}

// How long `cue` takes to speak: the server's measurement while its text is the one measured, else the estimate.
export function spokenMs(cue, wpm) {
  return cue.measured === cue.text && cue.spoken_ms != null ? cue.spoken_ms : estimateMs(cue.text, wpm);
}

// The pauses in `speech` ([[start_ms, end_ms], ...], sorted) of at least `minMs`, up to `durationMs`.
export function speechGaps(speech, durationMs, minMs = MIN_GAP_MS) {
  const gaps = [];
  let from = 0;
  for (const [start, end] of speech) {
    if (start - from >= minMs) gaps.push([from, start]);
    from = Math.max(from, end);
  }
  if (durationMs && durationMs - from >= minMs) gaps.push([from, durationMs]);
  return gaps;
}

// Where a description spoken over [start, start + spoken) first meets speech: the time (ms) or null. Touching
// is not meeting: a description may end exactly where the dialogue starts.
export function runsIntoAt(start, spoken, speech) {
  const end = start + Math.max(spoken, 1);
  const hit = speech.find(([s, e]) => s < end && e > start);
  return hit ? Math.max(start, hit[0]) : null;
}

// The warning line of a description, or "" when it fits its gap.
export function warningText(start, spoken, speech) {
  const at = runsIntoAt(start, spoken, speech);
  if (at === null) return "";
  const advice = at === start ? "start it in a gap" : "shorten it or start it earlier";
  return `Runs into dialogue at ${shortTime(at)}: ${advice}`;
}

// The server's description cues as the panel's frozen list, sorted by start. `measured` remembers which text the
// server's spoken_ms is for, so that typing shows an estimate again.
export function fromServer(rows) {
  return Object.freeze(rows.map((c) => Object.freeze({
    id: c.id, start_ms: c.start_ms, end_ms: c.end_ms, text: c.text, spoken_ms: c.spoken_ms ?? null,
    measured: c.text,
  })).sort((a, b) => a.start_ms - b.start_ms));
}

// `cues` with the cue `id` changed by `change` ({text} or {start_ms}); end_ms follows (the server sets it again
// when saved: start + the measured speaking time).
export function edited(cues, id, change, wpm) {
  const next = cues.map((c) => {
    if (c.id !== id) return c;
    const cue = {...c, ...change};
    return Object.freeze({...cue, end_ms: cue.start_ms + spokenMs(cue, wpm)});
  });
  return Object.freeze(next.sort((a, b) => a.start_ms - b.start_ms));
}

export function added(cues, startMs, id = newId()) {
  const cue = Object.freeze({id, start_ms: Math.max(0, Math.round(startMs)), end_ms: Math.round(startMs),
                             text: "", spoken_ms: null, measured: null});
  return Object.freeze([...cues, cue].sort((a, b) => a.start_ms - b.start_ms));
}

export const removed = (cues, id) => Object.freeze(cues.filter((c) => c.id !== id));

// What a save sends ([{id, cue | null}], changes.js): the changes since the base, less new descriptions that
// have no text yet (they wait, unsaved, until they have some).
export function pending(baseCues, cues) {
  return Changes.changesFrom(baseCues, cues).filter((c) => !c.cue || c.cue.text.trim());
}

// -- the panel -------------------------------------------------------------------------------------------

// The caption editor's keys that edit a caption: inside the panel they would change a caption the reviewer is
// not looking at, so they stop here (the panel's own keys are handled first).
const CAPTION_EDITS = new Set(["split", "merge", "insert", "delete", "start-now", "end-now", "start-earlier",
                               "start-later", "end-earlier", "end-later", "next-flag", "previous-flag",
                               "check-flag"]);
const BROWSER_KEYS = new Set(["undo", "redo"]); // the text box's own undo, not the captions'

// `api`: createApi (api.js), for its `call`; `video`: the editor's <video> or null.
export function installDescriptions(page, {api, assetId, language, video, durationMs, autosaveMs}) {
  const $ = (id) => page.getElementById(id);
  const panel = $("descriptions");
  if (!panel) return null;
  const url = `/api/assets/${assetId}/descriptions/${language}`;
  const list = $("description-list");
  const rows = new Map(); // cue id -> its <li>
  const warned = new Map(); // cue id -> the warning last announced for it
  let state = Object.freeze({cues: Object.freeze([]), baseCues: Object.freeze([]), base: null, speech: [],
                             wpm: DEFAULT_WPM, track: "none", reviewer: null, approvedAt: null, dirty: false,
                             saving: false});
  let autosave = 0;
  let quiet = true; // no warning is read out while the track loads: only those that appear as the reviewer types

  const announce = (message) => { $("descriptions-status").textContent = message; };
  const nowMs = () => (video ? Math.round(video.currentTime * 1000) : 0);
  const numberOf = (id) => state.cues.findIndex((c) => c.id === id) + 1;

  function update(change) {
    state = Object.freeze({...state, ...change});
    render();
  }

  // -- drawing: rows are kept and updated by cue id, so the text cursor stays where the reviewer types

  function emptyRow(id) {
    const heading = el("h4", {className: "description-number"});
    const start = el("input", {className: "description-start", inputMode: "decimal", autocomplete: "off"});
    const text = el("textarea", {className: "description-text", rows: 2, spellcheck: true});
    const spoken = el("p", {className: "description-spoken", id: `spoken-${id}`});
    const warning = el("p", {className: "description-warning", id: `warning-${id}`});
    start.setAttribute("aria-describedby", warning.id);
    text.setAttribute("aria-describedby", `${spoken.id} ${warning.id}`);
    const play = el("button", {type: "button", className: "description-play"});
    const remove = el("button", {type: "button", className: "description-delete"});
    remove.setAttribute("aria-keyshortcuts", "Alt+D");
    const row = el("li", {className: "description"}, [
      el("div", {className: "description-head"}, [heading, el("label", {}, ["Start ", start]), play, remove]),
      text, spoken, warning]);
    row.dataset.id = id;
    return row;
  }

  function fillRow(row, cue, number) {
    const spoken = spokenMs(cue, state.wpm);
    const q = (name) => row.querySelector(`.${name}`);
    q("description-number").textContent = `Description ${number}`;
    const start = q("description-start");
    if (page.activeElement !== start) start.value = shortTime(cue.start_ms);
    start.setAttribute("aria-label", `Start of description ${number}`);
    const text = q("description-text");
    if (text.value !== cue.text) text.value = cue.text;
    text.setAttribute("aria-label", `Text of description ${number}`);
    q("description-play").textContent = "Play from here";
    q("description-play").setAttribute("aria-label", `Play from description ${number}`);
    q("description-delete").textContent = "Delete";
    q("description-delete").setAttribute("aria-label", `Delete description ${number}`);
    const measured = cue.measured === cue.text && cue.spoken_ms != null;
    q("description-spoken").textContent = !cue.text.trim() ? "Type what the voice should say."
      : `${measured ? "Spoken in" : "About"} ${seconds(spoken)}${measured ? "" : " to speak (measured when saved)"}`
        + `, until ${shortTime(cue.start_ms + spoken)}`;
    const warning = cue.text.trim() ? warningText(cue.start_ms, spoken, state.speech) : "";
    q("description-warning").textContent = warning;
    row.classList.toggle("overlaps", Boolean(warning));
    // A new warning is read out once (role=status); it stays on the row, and the fields are described by it.
    if (warning && !quiet && warned.get(cue.id) !== warning) announce(`Description ${number}: ${warning}`);
    warned.set(cue.id, warning);
  }

  function render() {
    const {cues} = state;
    const focused = page.activeElement; // a row moved in the list loses the focus: it is put back
    const seen = new Set(cues.map((c) => c.id));
    for (const [id, row] of rows) if (!seen.has(id)) { row.remove(); rows.delete(id); warned.delete(id); }
    cues.forEach((cue, i) => {
      let row = rows.get(cue.id);
      if (!row) { row = emptyRow(cue.id); rows.set(cue.id, row); }
      if (list.children[i] !== row) list.insertBefore(row, list.children[i] ?? null);
      fillRow(row, cue, i + 1);
    });
    if (focused && focused !== page.activeElement && focused.isConnected) focused.focus();
    $("descriptions-empty").hidden = cues.length > 0;
    renderGaps();
    renderState();
    highlight();
  }

  function renderGaps() {
    const gaps = speechGaps(state.speech, durationMs);
    const items = gaps.map(([from, to]) => {
      const room = Math.floor(((to - from) / 60000) * state.wpm);
      const add = el("button", {type: "button", className: "gap-add", textContent: "Describe here"});
      add.dataset.start = String(from);
      add.setAttribute("aria-label", `Add a description at ${shortTime(from)}, in the gap of ${seconds(to - from)}`);
      return el("li", {}, [`Gap ${shortTime(from)}–${shortTime(to)}, ${seconds(to - from)} `,
        el("span", {className: "hint", textContent: `(room for about ${room} words) `}), add]);
    });
    const key = JSON.stringify([gaps, state.wpm]);
    const gapList = $("gap-list");
    if (gapList.dataset.key === key) return; // unchanged: the focus stays on its button
    gapList.dataset.key = key;
    gapList.replaceChildren(...items);
    $("gaps-empty").hidden = gaps.length > 0;
  }

  function renderState() {
    const {track, reviewer, approvedAt, base, dirty, cues} = state;
    const saved = `${base === null ? "not saved yet" : `revision ${base}`}${dirty ? ", with unsaved changes" : ""}`;
    $("descriptions-state").textContent = track === "approved" && !dirty
      ? `Approved by ${reviewer}${approvedAt ? ` on ${new Date(approvedAt).toLocaleString()}` : ""} (${saved}).`
      : `${cues.length} description${cues.length === 1 ? "" : "s"}, ${saved}; not approved.`;
  }

  // The description under the playhead, marked for the eye (a screen reader hears the video).
  function highlight() {
    const now = nowMs();
    for (const cue of state.cues) {
      const row = rows.get(cue.id);
      const on = now >= cue.start_ms && now < cue.start_ms + spokenMs(cue, state.wpm);
      if (on) row.setAttribute("aria-current", "true"); else row.removeAttribute("aria-current");
    }
  }

  // -- saving: the changes since the base revision, by cue id; others' saves merge in by id on the server

  function reviewer() {
    const name = $("reviewer-name").value.trim();
    if (!name) {
      announce("Type your name at the top before your descriptions can be saved");
      $("reviewer-name").setAttribute("aria-invalid", "true");
    }
    return name;
  }

  // The next autosave, when there is something to send (the status line says "unsaved"; messages stay free for
  // the warnings).
  function unsaved() {
    clearTimeout(autosave);
    if (pending(state.baseCues, state.cues).length) autosave = setTimeout(save, autosaveMs);
  }

  function edit(cues) {
    update({cues, dirty: pending(state.baseCues, cues).length > 0});
    unsaved();
  }

  // A track from the server as the base of the next save. What is still only here stays on top of it: the
  // descriptions changed since `sent` left (typed while saving) and those not sent (no text yet); a description
  // someone else changed comes in as theirs.
  function based(body, sent = null) {
    const base = fromServer(body.cues || []);
    let cues = base;
    if (sent) {
      const sentIds = new Set(pending(state.baseCues, sent).map((c) => c.id));
      const since = new Set(Changes.changedIds(sent, state.cues));
      const mine = new Set(Changes.changedIds(state.baseCues, state.cues).filter((id) => !sentIds.has(id)));
      const local = Changes.patchOf(base, state.cues).filter((p) => since.has(p.id) || mine.has(p.id));
      cues = Changes.replay(base, local);
    }
    cues = Object.freeze(cues.slice().sort((a, b) => a.start_ms - b.start_ms));
    update({base: body.revision?.number ?? null, baseCues: base, speech: body.speech ?? state.speech, cues,
            dirty: pending(base, cues).length > 0, track: body.state ?? state.track,
            reviewer: body.reviewer ?? state.reviewer, approvedAt: body.approved_at ?? state.approvedAt,
            saving: false});
    unsaved();
  }

  async function load() {
    const answer = await api.call("GET", url);
    if (!answer.ok) { announce(`Cannot load the descriptions: ${detail(answer)}`); return false; }
    const voice = answer.body.voice || {};
    update({wpm: voice.rate_wpm || DEFAULT_WPM});
    $("descriptions-voice").textContent = `Spoken by the ${voice.engine || "text-to-speech"} voice`
      + `${voice.voice ? ` “${voice.voice}”` : ""} at ${state.wpm} words a minute.`;
    based(answer.body);
    quiet = false;
    return true;
  }

  async function save() {
    clearTimeout(autosave);
    if (!state.dirty || state.saving) return;
    const author = reviewer();
    if (!author) return;
    const sent = state.cues;
    const changes = pending(state.baseCues, sent);
    if (!changes.length) return;
    update({saving: true});
    announce("Saving the descriptions…");
    const answer = await api.call("PUT", url, {base_revision: state.base, author, changes});
    if (answer.ok) {
      const body = Array.isArray(answer.body.cues) ? answer.body : (await api.call("GET", url)).body;
      based({...body, revision: answer.body.revision, state: answer.body.state ?? "draft"}, sent);
      announce(`Descriptions saved as revision ${answer.body.revision.number} at ${new Date().toLocaleTimeString()}`);
    } else if (answer.status === 409 && Array.isArray(answer.body.merged)) {
      conflicted(answer.body);
    } else {
      update({saving: false});
      announce(`Descriptions not saved: ${detail(answer)}`);
    }
  }

  // A 409: someone else changed the same descriptions. Theirs is kept for those (what was typed is read out, to
  // type again if it should win), the other changes are saved on top of their revision.
  function conflicted(body) {
    const contested = new Set((body.conflicts || []).map((c) => c.id));
    const mine = Changes.patchOf(state.baseCues, state.cues);
    const lost = mine.filter((p) => contested.has(p.id) && p.after).map((p) => `“${p.after.text}”`);
    const latest = fromServer(body.latest_cues || []);
    const cues = Changes.replay(fromServer(body.merged), mine.filter((p) => !contested.has(p.id)));
    const who = [...new Set((body.conflicts || []).map((c) => c.theirs_author).filter(Boolean))].join(" and ");
    const sorted = Object.freeze(cues.slice().sort((a, b) => a.start_ms - b.start_ms));
    update({base: body.current_revision, baseCues: latest, saving: false, cues: sorted,
            dirty: pending(latest, sorted).length > 0});
    announce(`${who || "Someone"} changed the same description${contested.size === 1 ? "" : "s"} at the same time; `
      + `theirs is kept${lost.length ? `. Yours was ${lost.join(", ")}` : ""}`);
    unsaved();
  }

  async function approve() {
    const name = reviewer();
    if (!name) return;
    await save();
    if (state.dirty) { announce("Save the descriptions before approving them"); return; }
    announce("Approving the descriptions; the described soundtrack is being mixed…");
    const answer = await api.call("POST", `${url}/approve`, {reviewer: name});
    if (!answer.ok) { announce(`Descriptions not approved: ${detail(answer)}`); return; }
    update({track: answer.body.state, reviewer: answer.body.reviewer, approvedAt: answer.body.approved_at});
    announce(`Descriptions approved by ${answer.body.reviewer}`);
  }

  // -- actions

  const focusRow = (id) => rows.get(id)?.querySelector(".description-text")?.focus();

  function add(startMs) {
    const cues = added(state.cues, startMs);
    const cue = cues.find((c) => !state.cues.includes(c));
    edit(cues);
    focusRow(cue.id);
    announce(`Description ${numberOf(cue.id)} added at ${shortTime(cue.start_ms)}; type what the voice should say`);
  }

  function remove(id) {
    const number = numberOf(id);
    if (!number) return;
    const next = state.cues[number] ?? state.cues[number - 2];
    edit(removed(state.cues, id));
    if (next) focusRow(next.id); else $("description-add").focus();
    announce(`Description ${number} deleted`);
  }

  function retime(id, ms) {
    const start = Math.max(0, Math.round(ms));
    edit(edited(state.cues, id, {start_ms: start}, state.wpm));
    rows.get(id).querySelector(".description-start").value = shortTime(start); // also while it has the focus
    const warning = warningText(start, spokenMs(cueOf(id), state.wpm), state.speech);
    announce(`Description ${numberOf(id)} starts at ${shortTime(start)}${warning ? `. ${warning}` : ""}`);
  }

  const rowId = (target) => target.closest?.(".description")?.dataset.id ?? null;
  const cueOf = (id) => state.cues.find((c) => c.id === id);

  list.addEventListener("input", (event) => {
    if (!event.target.classList.contains("description-text")) return;
    edit(edited(state.cues, rowId(event.target), {text: event.target.value}, state.wpm));
  });
  list.addEventListener("change", (event) => {
    if (!event.target.classList.contains("description-start")) return;
    const ms = parseTime(event.target.value);
    if (ms === null) {
      event.target.setAttribute("aria-invalid", "true");
      announce(`"${event.target.value}" is not a time; write minutes:seconds, like 0:12.4`);
      return;
    }
    event.target.removeAttribute("aria-invalid");
    retime(rowId(event.target), ms);
  });
  list.addEventListener("click", (event) => {
    const id = rowId(event.target);
    if (event.target.classList.contains("description-delete")) remove(id);
    if (event.target.classList.contains("description-play") && video) {
      video.currentTime = cueOf(id).start_ms / 1000;
      video.play();
    }
  });
  $("gap-list").addEventListener("click", (event) => {
    if (event.target.classList.contains("gap-add")) add(Number(event.target.dataset.start));
  });
  $("description-add").addEventListener("click", () => add(nowMs()));
  $("descriptions-approve").addEventListener("click", approve);

  // The panel's keys, before the caption editor's (which listens on the document).
  panel.addEventListener("keydown", (event) => {
    const combo = comboOf(event);
    const id = rowId(event.target);
    const cue = id && cueOf(id);
    const own = {
      "Alt+i": () => add(nowMs()),
      "Alt+d": () => cue && remove(id),
      "Alt+[": () => cue && retime(id, nowMs()),
      "Alt+ArrowLeft": () => cue && retime(id, cue.start_ms - NUDGE_MS),
      "Alt+ArrowRight": () => cue && retime(id, cue.start_ms + NUDGE_MS),
      "Alt+ArrowDown": () => cue && focusRow(state.cues[Math.min(numberOf(id), state.cues.length - 1)].id),
      "Alt+ArrowUp": () => cue && focusRow(state.cues[Math.max(numberOf(id) - 2, 0)].id),
      "Ctrl+s": () => save(),
    }[combo];
    const action = SHORTCUTS[combo];
    if (own) { event.preventDefault(); event.stopPropagation(); own(); return; }
    if (BROWSER_KEYS.has(action)) event.stopPropagation();
    else if (CAPTION_EDITS.has(action)) { event.preventDefault(); event.stopPropagation(); }
  });

  $("reviewer-name").addEventListener("input", (event) => {
    if (event.target.value.trim() && state.dirty) unsaved();
  });
  if (video) video.addEventListener("timeupdate", highlight);
  window.addEventListener("beforeunload", (event) => { if (state.dirty) event.preventDefault(); });

  load().then((ok) => { panel.dataset.ready = ok ? "true" : "failed"; });
  return {get state() { return state; }, save};
}
