// Saving and deciding: the autosave, which sends only the captions changed since the base revision (by cue id,
// changes.js); a save the server merged with someone else's (200 with merged_with: their captions come in, the
// caption being typed in stays); a save refused because both changed a caption (409: the editor rebases on the
// latest revision and shows each conflict at its caption, conflicts.js; no autosave until each is decided); a
// save refused as invalid (422: no retry until the next change); approve and request changes. It changes the
// editor only through `editor.update` (main.js); the server calls are api.js.

import {detail} from "./api.js";
import * as Changes from "./changes.js";
import {installConflicts} from "./conflicts.js";
import * as Cues from "./cues.js";
import * as History from "./history.js";
import * as Quality from "./quality.js";

// "Ann's revision 4 and Bo's revision 5", from [{number, author}].
export function revisionsText(revisions) {
  const named = revisions.map((r) => `${r.author}'s revision ${r.number}`);
  return named.length > 1 ? `${named.slice(0, -1).join(", ")} and ${named.at(-1)}` : named.join("");
}

// "caption 9", "captions 3 and 9", "a caption they deleted": where the ids of a patch are in `cues`.
export function captionsText(ids, cues) {
  const numbers = ids.map((id) => cues.findIndex((c) => c.id === id) + 1).filter((n) => n > 0).sort((a, b) => a - b);
  const gone = ids.length - numbers.length;
  const parts = [];
  if (numbers.length === 1) parts.push(`caption ${numbers[0]}`);
  if (numbers.length > 1) parts.push(`captions ${numbers.slice(0, -1).join(", ")} and ${numbers.at(-1)}`);
  if (gone) parts.push(gone === 1 ? "a caption they deleted" : `${gone} captions they deleted`);
  return parts.join(", ");
}

// `rules`: the server's quality.Rules, for the report of a revision saved per cue.
export function installSaving(editor, api, {assetId, autosaveMs, rules}) {
  const $ = (id) => document.getElementById(id);
  const {view} = editor;
  const announce = (message) => view.announce(message);
  let autosave = 0; // the timer of the next automatic save: a handle, not editor state
  const listeners = []; // called after each revision saved or loaded (the history panel, the comments)
  const changed = () => listeners.forEach((listener) => listener());

  function reviewer() {
    const name = $("reviewer-name").value.trim();
    if (!name) {
      announce("Type your name at the top before your changes can be saved");
      $("reviewer-name").setAttribute("aria-invalid", "true");
    }
    return name;
  }

  // After an edit: "Unsaved changes", and the autosave timer (re)started; while conflicts wait for a
  // decision, say that instead.
  function unsaved() {
    clearTimeout(autosave);
    const waiting = editor.state.conflicts.length;
    if (waiting) {
      announce(`Unsaved: decide the ${waiting} caption${waiting === 1 ? "" : "s"} you both changed`);
      return;
    }
    announce("Unsaved changes");
    autosave = setTimeout(save, autosaveMs);
  }

  // The caption the text cursor is in and where, so that it can be put back after the list changed under it.
  function caretNow() {
    const box = document.activeElement;
    const row = box?.closest?.("#cue-list .cue");
    if (!row || !box.classList.contains("text")) return null;
    const cue = editor.state.cues[Number(row.dataset.index)];
    return cue ? {id: cue.id, start: box.selectionStart, end: box.selectionEnd} : null;
  }

  function caretBack(caret) {
    if (!caret) return;
    const index = editor.state.cues.findIndex((c) => c.id === caret.id);
    const box = view.textBox(index);
    if (index === -1 || (box === document.activeElement && box.selectionStart === caret.start)) return;
    view.focusCue(index, caret.start, caret.end);
  }

  const indexOfId = (cues, id, fallback) => {
    const at = cues.findIndex((c) => c.id === id);
    return at === -1 ? Cues.clampIndex(cues, fallback) : at;
  };

  // A revision from the server in the editor, as the base of the next save. With `record`, the change from
  // what was shown is one Ctrl+Z away (a restore, an import). `focus`: the caption to put the text cursor in.
  function loaded(captions, message, {record = false, focus} = {}) {
    const {state} = editor;
    const cues = Changes.reconcile(state.cues, Cues.fromServer(captions.cues));
    const selectedId = state.cues[state.selected]?.id;
    const history = record ? History.record(state.history, state.cues, cues, {before: selectedId, after: selectedId})
      : state.history;
    const selected = focus === undefined ? indexOfId(cues, selectedId, state.selected) : Cues.clampIndex(cues, focus);
    editor.update({cues, baseCues: cues, selected, history, base: captions.revision.number,
                   problems: captions.problems, dirty: false, conflicts: Object.freeze([]), blocked: "",
                   flags: captions.flags ?? state.flags, assetState: captions.asset_state ?? state.assetState});
    view.renderNotes(captions);
    if (message) announce(message);
    changed();
    if (focus !== undefined) view.focusCue(selected);
  }

  // A 200. Without merged_with the server now holds exactly what was sent; with it, others' captions come in
  // and the edits made while saving stay on top of them.
  function saved(answer, sent) {
    const {state} = editor;
    const number = answer.revision.number;
    const others = answer.merged_with?.length ? answer.merged_with : null;
    const base = others ? Cues.fromServer(answer.cues) : sent;
    const theirs = others ? Changes.patchOf(sent, base).map((p) => p.id) : [];
    const local = Changes.patchOf(sent, state.cues); // typed while the save was on its way
    const cues = others ? Changes.reconcile(state.cues, Changes.replay(base, local)) : state.cues;
    const by = others && {author: others.map((r) => r.author).join(" and "), revision: others.at(-1).number};
    const caret = caretNow();
    const selectedId = state.cues[state.selected]?.id;
    // Without the track the server holds exactly what was sent: its report is quality.js's check of it.
    const problems = answer.problems ?? (others ? state.problems : Quality.check(sent, rules));
    editor.update({saving: false, base: number, baseCues: base, cues, problems,
                   selected: indexOfId(cues, selectedId, state.selected), dirty: local.length > 0,
                   history: others ? History.supersede(state.history, theirs, by) : state.history,
                   flags: answer.flags ?? state.flags, assetState: answer.asset_state ?? state.assetState});
    caretBack(caret);
    const when = new Date().toLocaleTimeString();
    announce(others ? `Merged with ${revisionsText(others)}${theirs.length ? ` (${captionsText(theirs, cues)})` : ""}; `
      + `saved as revision ${number} at ${when}` : `Saved revision ${number} at ${when}`);
    changed();
    if (local.length) autosave = setTimeout(save, autosaveMs);
  }

  // A 409: rebase on the latest revision (its cues the new base; shown: it with my other changes, each caption
  // both changed as theirs for now) and show each conflict where its caption is.
  function conflicted(answer, sent) {
    const {state} = editor;
    if (!Array.isArray(answer.latest_cues) || !Array.isArray(answer.merged) || !answer.conflicts?.length) {
      editor.update({saving: false, blocked: answer.detail || "someone else saved first"}); // no per-cue answer
      announce(`Not saved: ${answer.detail}`);
      return;
    }
    const latest = Cues.fromServer(answer.latest_cues);
    const merged = Cues.fromServer(answer.merged);
    const contested = new Set(answer.conflicts.map((c) => c.id));
    const local = Changes.patchOf(sent, state.cues).filter((p) => !contested.has(p.id));
    const cues = Changes.reconcile(state.cues, Changes.replay(merged, local));
    const theirs = Changes.changedIds(state.baseCues, latest);
    let history = History.supersede(state.history, theirs, {author: answer.author, revision: answer.current_revision});
    for (const c of answer.conflicts) {
      history = History.supersede(history, [c.id], {author: c.theirs_author, revision: c.theirs_revision});
    }
    editor.update({saving: false, base: answer.current_revision, baseCues: latest, cues, history, dirty: true,
                   selected: Cues.clampIndex(cues, state.selected), conflicts: Object.freeze(answer.conflicts)});
    conflicts.show(`Not saved yet: ${answer.detail}. Your other changes are kept.`);
  }

  async function save() {
    clearTimeout(autosave);
    const {state} = editor;
    if (!state.dirty || state.saving || state.conflicts.length || state.blocked) return;
    const author = reviewer();
    if (!author) return;
    const sent = state.cues;
    const changes = Changes.changesFrom(state.baseCues, sent);
    if (!changes.length) { editor.update({dirty: false}); announce("No unsaved changes"); return; }
    editor.update({saving: true});
    announce("Saving…");
    const result = await api.save(state.base, author, changes);
    if (result.outcome === "saved") saved(result.answer, sent);
    else if (result.outcome === "conflict") conflicted(result.conflict, sent);
    else {
      editor.update({saving: false, blocked: result.reason});
      announce(`Not saved: ${result.reason}`);
    }
  }

  // Save what is unsaved; true when the server has all of it.
  async function flush() {
    if (editor.state.dirty) await save();
    return !editor.state.dirty && !editor.state.conflicts.length;
  }

  // Before a restore or an import: unsaved work saved, then the editor on the latest revision (others' captions
  // come in, as in a merge), so that what they would change is shown against what is saved now. False when
  // something is still unsaved or undecided.
  async function sync() {
    if (!(await flush())) return false;
    const answer = await api.captions();
    if (!answer.ok) { announce(detail(answer)); return false; }
    const {state} = editor;
    if (state.dirty || state.saving) return false;
    if (answer.body.revision.number === state.base) return true;
    const theirs = Changes.changedIds(state.baseCues, Cues.fromServer(answer.body.cues));
    const by = {author: answer.body.revision.author, revision: answer.body.revision.number};
    editor.update({history: History.supersede(state.history, theirs, by)});
    loaded(answer.body, "");
    return true;
  }

  const conflicts = installConflicts(editor, {
    decided(remaining) {
      if (remaining) { unsaved(); return; }
      const dirty = Changes.changesFrom(editor.state.baseCues, editor.state.cues).length > 0;
      editor.update({dirty});
      announce(dirty ? "Every caption decided; saving" : "Every caption decided; nothing left to save");
      if (dirty) save();
    },
  });

  window.addEventListener("beforeunload", (event) => { if (editor.state.dirty) event.preventDefault(); });

  // Approve and the no-speech decision: decide.js (issue #15, the gate).

  $("request-changes").addEventListener("click", async () => {
    const name = reviewer();
    if (!name || !(await flush())) return;
    const answer = await api.requestChanges(name, $("changes-text").value);
    if (answer.ok) {
      $("review-status").textContent = "changes requested";
      announce("Changes requested; the queue shows your note");
    } else announce(`Not sent: ${detail(answer)}`);
  });

  $("reviewer-name").value = localStorage.getItem("reviewer") || "";
  $("reviewer-name").addEventListener("change", (event) => {
    localStorage.setItem("reviewer", event.target.value.trim());
    event.target.removeAttribute("aria-invalid");
    if (editor.state.dirty) save();
  });

  return {save, unsaved, loaded, flush, sync, reviewer, render: conflicts.render,
          onChange: (listener) => listeners.push(listener)};
}
