// Undo and redo as a value, per cue (issue #15). An entry is one edit's patch, [{id, before, after}] for each
// caption it changed (changes.js), never a copy of the whole track, and the caption selected before and after
// it. Undoing puts back `before` only in the captions that are still `after`: a caption someone else changed
// since (their save merged in) is not touched, and comes back in `skipped` so that the editor can say so. Every
// function returns a new history and leaves the one given as it was.
//
// Typing coalesces: keystrokes in the same caption less than TYPING_MS apart are one step to undo, as in a
// text field. Any other edit, an undo or a redo ends the run of typing.

import {applyPatch, patchOf} from "./changes.js";

export const LIMIT = 200; // the oldest entries go first
export const TYPING_MS = 1000;

const frozen = (items) => Object.freeze(items);

export function empty() {
  return Object.freeze({done: frozen([]), undone: frozen([]), typing: null});
}

export const canUndo = (history) => history.done.length > 0;
export const canRedo = (history) => history.undone.length > 0;

// Two steps' patches as one: each caption's first `before` and last `after`.
function joined(first, second) {
  const items = first.map((item) => {
    const later = second.find((s) => s.id === item.id);
    return later ? Object.freeze({id: item.id, before: item.before, after: later.after}) : item;
  });
  return frozen([...items, ...second.filter((s) => !first.some((f) => f.id === s.id))]);
}

// The history after an edit from the cue list `before` to `after`; `selected` is {before, after}: the ids of
// the caption selected before and after it. `typing` ({cue: id, at: ms}) marks a keystroke; one that continues
// a run of typing joins the step before. An edit that changed nothing records nothing.
export function record(history, before, after, selected = {}, typing = null) {
  const patch = patchOf(before, after);
  if (!patch.length) return history;
  const last = history.typing;
  const step = history.done[history.done.length - 1];
  if (typing && last && step && last.cue === typing.cue && typing.at - last.at <= TYPING_MS) {
    const merged = Object.freeze({...step, patch: joined(step.patch, patch), selected: {...step.selected,
                                  after: selected.after ?? null}});
    return Object.freeze({...history, done: frozen([...history.done.slice(0, -1), merged]),
                          typing: Object.freeze({...typing})});
  }
  const entry = Object.freeze({patch, selected: Object.freeze({before: selected.before ?? null,
                                                               after: selected.after ?? null})});
  return Object.freeze({
    done: frozen([...history.done, entry].slice(-LIMIT)),
    undone: frozen([]),
    typing: typing ? Object.freeze({...typing}) : null,
  });
}

// One step back (`direction` "undo") or forward ("redo") from the cue list `cues`:
// {history, cues, selected (an id), applied, skipped}, or null when there is nothing to take. `skipped` are the
// items left alone: taken over (they carry `by`, see supersede) or changed since. The step moves to the other
// stack with only what it applied; a step of which nothing applied is dropped.
function travel(history, cues, direction) {
  const [from, to] = direction === "undo" ? ["done", "undone"] : ["undone", "done"];
  const stack = history[from];
  if (!stack.length) return null;
  const entry = stack[stack.length - 1];
  const done = applyPatch(cues, entry.patch.filter((item) => !item.by), direction);
  const skipped = [...entry.patch.filter((item) => item.by), ...done.skipped];
  const moved = done.applied.length ? [Object.freeze({...entry, patch: frozen(done.applied)})] : [];
  const selected = direction === "undo" ? entry.selected.before : entry.selected.after;
  return {
    history: Object.freeze({[from]: frozen(stack.slice(0, -1)), [to]: frozen([...history[to], ...moved].slice(-LIMIT)),
                            typing: null}),
    cues: done.cues, selected: selected ?? done.applied[0]?.id ?? null,
    applied: done.applied, skipped,
  };
}

export const undo = (history, cues) => travel(history, cues, "undo");
export const redo = (history, cues) => travel(history, cues, "redo");

// The history with every step on the captions `ids` marked as taken over by `by` ({author, revision}):
// another reviewer's change to them was taken in (a merge, or a conflict decided), so going back over them
// would overwrite it. Undo and redo then leave those captions alone and say whose change kept them.
export function supersede(history, ids, by) {
  const gone = new Set(ids);
  if (!gone.size) return history;
  const mark = (stack) => frozen(stack.map((entry) => (entry.patch.some((item) => gone.has(item.id))
    ? Object.freeze({...entry, patch: frozen(entry.patch.map((item) => (gone.has(item.id)
      ? Object.freeze({...item, by: Object.freeze({...by})}) : item)))})
    : entry)));
  return Object.freeze({done: mark(history.done), undone: mark(history.undone), typing: null});
}

// What an undo or redo (`direction`) that left captions alone says: "Not undone: caption 9 (Ann changed it in
// revision 4): their change stays", or "Undone, except ..." when it did the rest. `cues`: the list now.
export function skippedText(direction, result, cues) {
  const kept = result.skipped.map((item) => {
    const n = cues.findIndex((c) => c.id === item.id) + 1;
    const where = n ? `caption ${n}` : "a deleted caption";
    return item.by ? `${where} (${item.by.author} changed it in revision ${item.by.revision})`
      : `${where} (changed since by someone else)`;
  });
  const what = result.applied.length ? `${direction === "undo" ? "Undone" : "Redone"}, except `
    : `Not ${direction}ne: `;
  return `${what}${kept.join(", ")}: their change stays`;
}
