// Per-cue changes between two cue lists, by cue id (cues.js): what a save sends (the changes since the base
// revision), what undo keeps (a patch {id, before, after} per cue, never a copy of the track), and applying
// either to a list. Pure functions over frozen lists; no DOM.
//
// Why per cue: the server merges saves by cue id (issue #15), so a save must say which captions it changed and
// nothing else, and an undo must only touch the captions the reviewer changed, never one another reviewer saved.

import {sameCue} from "./cues.js";

const byId = (cues) => new Map(cues.map((c) => [c.id, c]));
const body = (c) => ({start_ms: c.start_ms, end_ms: c.end_ms, text: c.text});
const byTime = (a, b) => a.start_ms - b.start_ms || a.end_ms - b.end_ms;

// patchOf when both lists have the same ids in the same places (a keystroke, a retime that kept the order): a
// walk comparing the cues by identity, which an edit shares (cues.js), not two maps of the whole track. Null
// otherwise.
function alignedPatch(before, after) {
  if (before.length !== after.length) return null;
  const patch = [];
  for (let i = 0; i < after.length; i++) {
    const [was, now] = [before[i], after[i]];
    if (was === now) continue;
    if (was.id === undefined || was.id !== now.id) return null;
    if (!sameCue(was, now)) patch.push(Object.freeze({id: now.id, before: was, after: now}));
  }
  return Object.freeze(patch);
}

// [{id, before, after}] for every cue that differs between `before` and `after` (null where it is absent):
// in the order of `after`, then the cues `after` no longer has.
export function patchOf(before, after) {
  const aligned = alignedPatch(before, after);
  if (aligned) return aligned;
  const old = byId(before);
  const now = byId(after);
  const patch = [];
  for (const c of after) {
    const was = old.get(c.id) ?? null;
    if (!sameCue(was, c)) patch.push(Object.freeze({id: c.id, before: was, after: c}));
  }
  for (const c of before) {
    if (!now.has(c.id)) patch.push(Object.freeze({id: c.id, before: c, after: null}));
  }
  return Object.freeze(patch);
}

// What a save sends: [{id, cue: {start_ms, end_ms, text} | null}] from the base revision's cues to `cues`.
export function changesFrom(base, cues) {
  return patchOf(base, cues).map((p) => ({id: p.id, cue: p.after ? body(p.after) : null}));
}

// The ids whose cue differs between the two lists.
export function changedIds(before, after) {
  return patchOf(before, after).map((p) => p.id);
}

// `cue` put into `cues` where its start time goes (after any that start at the same time).
function placed(cues, cue) {
  const at = cues.findIndex((c) => byTime(c, cue) > 0);
  const result = cues.slice();
  result.splice(at === -1 ? cues.length : at, 0, cue);
  return result;
}

// `cues` with the cue of `id` replaced by `cue` (null: removed; not there yet: added at its time). A cue whose
// times did not change keeps its place in the list; one whose times did moves to where they go.
export function put(cues, id, cue) {
  const at = cues.findIndex((c) => c.id === id);
  if (at === -1) return Object.freeze(cue ? placed(cues, cue) : cues.slice());
  const old = cues[at];
  const rest = cues.slice();
  if (cue && old.start_ms === cue.start_ms && old.end_ms === cue.end_ms) {
    rest[at] = cue;
    return Object.freeze(rest);
  }
  rest.splice(at, 1);
  return Object.freeze(cue ? placed(rest, cue) : rest);
}

// A patch applied in one direction: to undo, each cue that is still its `after` goes back to its `before`
// (redo: the other way). A cue that is something else now (someone else's change merged in since) is left as
// it is and its id comes back in `skipped`. Returns {cues, applied: [item], skipped: [item]}.
export function applyPatch(cues, patch, direction) {
  const [from, to] = direction === "undo" ? ["after", "before"] : ["before", "after"];
  const now = byId(cues);
  const applied = [];
  const skipped = [];
  let result = cues;
  for (const item of patch) {
    if (!sameCue(now.get(item.id) ?? null, item[from])) { skipped.push(item); continue; }
    result = put(result, item.id, item[to]);
    applied.push(item);
  }
  return {cues: Object.freeze(result), applied, skipped};
}

// `next` with the cue objects of `old` wherever a cue is the same, so that the view redraws only what changed
// (and leaves the text cursor alone in a caption whose text came back the same).
export function reconcile(old, next) {
  const kept = byId(old);
  return Object.freeze(next.map((c) => (sameCue(kept.get(c.id), c) ? kept.get(c.id) : c)));
}

// `changes` (patchOf's items) replayed on `cues`: each cue set to its `after`.
export function replay(cues, patch) {
  return patch.reduce((result, item) => put(result, item.id, item.after), cues);
}
