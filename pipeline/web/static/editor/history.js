// Undo and redo as a value. An entry is what the editor looked like before an edit, {cues, selected}; cue lists
// are immutable (cues.js), so an entry holds a list that shares its cue objects with the others instead of a
// copy of it. Every function returns a new history and leaves the one given as it was.
//
// Typing coalesces: keystrokes in the same caption less than TYPING_MS apart are one step to undo, as in a
// text field. Any other edit, an undo or a redo ends the run of typing.

export const LIMIT = 200; // the oldest entries go first
export const TYPING_MS = 1000;

export function empty() {
  return Object.freeze({done: Object.freeze([]), undone: Object.freeze([]), typing: null});
}

export const canUndo = (history) => history.done.length > 0;
export const canRedo = (history) => history.undone.length > 0;

// The history after an edit made from `before` ({cues, selected}). `typing` ({cue, at}: the caption typed in
// and the time in ms) marks a keystroke; one that continues a run of typing records nothing new.
export function record(history, before, typing = null) {
  const last = history.typing;
  if (typing && last && last.cue === typing.cue && typing.at - last.at <= TYPING_MS) {
    return Object.freeze({...history, typing: Object.freeze({...typing})});
  }
  return Object.freeze({
    done: Object.freeze([...history.done, before].slice(-LIMIT)),
    undone: Object.freeze([]),
    typing: typing ? Object.freeze({...typing}) : null,
  });
}

// Undo from `current` ({cues, selected}): {history, entry}, where `entry` is what to show now; null when there
// is nothing to undo.
export function undo(history, current) {
  if (!canUndo(history)) return null;
  const entry = history.done[history.done.length - 1];
  return {
    history: Object.freeze({done: Object.freeze(history.done.slice(0, -1)),
                            undone: Object.freeze([...history.undone, current]), typing: null}),
    entry,
  };
}

// The opposite of undo: {history, entry}, or null when there is nothing to redo.
export function redo(history, current) {
  if (!canRedo(history)) return null;
  const entry = history.undone[history.undone.length - 1];
  return {
    history: Object.freeze({done: Object.freeze([...history.done, current].slice(-LIMIT)),
                            undone: Object.freeze(history.undone.slice(0, -1)), typing: null}),
    entry,
  };
}
