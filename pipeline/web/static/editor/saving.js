// Saving and deciding: the autosave, a save refused as stale (409: the conflict panel) or as invalid (422: no
// retry until the next change), approve, request changes, import, the revision history and restore. It changes
// the editor only through `editor.update` (main.js); the server calls are api.js.

import {detail} from "./api.js";
import * as Cues from "./cues.js";
import * as History from "./history.js";

export function installSaving(editor, api, {assetId, autosaveMs}) {
  const $ = (id) => document.getElementById(id);
  const {view} = editor;
  const announce = (message) => view.announce(message);
  let autosave = 0; // the timer of the next automatic save: a handle, not editor state

  function reviewer() {
    const name = $("reviewer-name").value.trim();
    if (!name) {
      announce("Type your name at the top before your changes can be saved");
      $("reviewer-name").setAttribute("aria-invalid", "true");
    }
    return name;
  }

  // After an edit: "Unsaved changes", and the autosave timer (re)started.
  function unsaved() {
    announce("Unsaved changes");
    clearTimeout(autosave);
    autosave = setTimeout(save, autosaveMs);
  }

  // A revision from the server in the editor; with `record`, what was there before stays one Ctrl+Z away.
  // `focus`: the caption to put the text cursor in.
  function loaded(captions, message, {record = false, focus} = {}) {
    const {state} = editor;
    const history = record ? History.record(state.history, {cues: state.cues, selected: state.selected})
      : state.history;
    const cues = Cues.fromServer(captions.cues);
    const selected = focus === undefined ? state.selected : Cues.clampIndex(cues, focus);
    editor.update({cues, selected, history, base: captions.revision.number, problems: captions.problems,
                   dirty: false, conflict: null});
    view.renderNotes(captions);
    if (message) announce(message);
    loadHistory();
    if (focus !== undefined) view.focusCue(selected);
  }

  async function save(overwrite = false) {
    clearTimeout(autosave);
    const {state} = editor;
    if (!state.dirty || state.saving || (state.conflict && !overwrite) || state.blocked) return;
    const author = reviewer();
    if (!author) return;
    const sent = state.cues;
    const base = overwrite && state.conflict ? state.conflict.current_revision : state.base;
    editor.update({saving: true});
    announce("Saving…");
    const result = await api.save(base, author, sent);
    if (result.outcome === "saved") {
      const dirty = !Cues.sameCues(editor.state.cues, sent); // edits made while it was saving
      editor.update({saving: false, conflict: null, base: result.revision, problems: result.problems, dirty});
      announce(`Saved revision ${result.revision} at ${new Date().toLocaleTimeString()}`);
      loadHistory();
      if (dirty) autosave = setTimeout(save, autosaveMs);
    } else if (result.outcome === "conflict") {
      editor.update({saving: false, conflict: result.conflict});
      announce("Conflict: someone else saved these captions first");
    } else {
      editor.update({saving: false, blocked: result.reason});
      announce(`Not saved: ${result.reason}`);
    }
  }

  // Save what is unsaved; true when the server has all of it.
  async function flush() {
    if (editor.state.dirty) await save();
    return !editor.state.dirty && !editor.state.conflict;
  }

  async function restore(number) {
    const name = reviewer();
    if (!name || !(await flush())) return;
    const done = await api.restore(number, editor.state.base, name);
    if (!done.ok) { announce(`Not restored: ${detail(done)}`); return; }
    loaded(done.body, `Revision ${number} restored as revision ${done.body.revision.number}`, {record: true, focus: 0});
  }

  async function loadHistory() {
    const answer = await api.revisions();
    if (answer.ok) view.renderHistory(answer.body, editor.state.base, restore);
  }

  $("conflict-load").addEventListener("click", async () => {
    const answer = await api.captions();
    if (!answer.ok) { announce(detail(answer)); return; }
    loaded(answer.body, `Loaded revision ${answer.body.revision.number}; Ctrl+Z gets your version back`,
           {record: true, focus: editor.state.selected});
  });
  $("conflict-overwrite").addEventListener("click", () => save(true));
  window.addEventListener("beforeunload", (event) => { if (editor.state.dirty) event.preventDefault(); });

  $("approve").addEventListener("click", async () => {
    const name = reviewer();
    if (!name || !(await flush())) return;
    const answer = await api.approve(name, editor.state.base, $("override-reason").value);
    if (answer.ok) {
      $("review-status").textContent = "approved";
      announce(`Approved by ${name}. Publish with: pipeline publish ${assetId}`);
    } else {
      announce(`Not approved: ${detail(answer)}`);
      if (answer.status === 422) { $("override").hidden = false; $("override-reason").focus(); }
    }
  });

  $("request-changes").addEventListener("click", async () => {
    const name = reviewer();
    if (!name || !(await flush())) return;
    const answer = await api.requestChanges(name, $("changes-text").value);
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
    const answer = await api.importFile(file.name, await file.text(), editor.state.base, name);
    if (!answer.ok) { announce(`Not imported: ${detail(answer)}`); return; }
    loaded(answer.body, `Imported ${file.name} as revision ${answer.body.revision.number}`, {record: true, focus: 0});
  });

  $("reviewer-name").value = localStorage.getItem("reviewer") || "";
  $("reviewer-name").addEventListener("change", (event) => {
    localStorage.setItem("reviewer", event.target.value.trim());
    event.target.removeAttribute("aria-invalid");
    if (editor.state.dirty) save();
  });

  return {save, unsaved, loaded};
}
