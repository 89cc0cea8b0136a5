// Pure caption edits. A cue is {id, start_ms, end_ms, text} with integer milliseconds, as the server stores it.
// Every function takes a cue list and returns a new list (or a small value), never changing its input: the
// cues it did not touch are shared with the old list, so the view can tell which cues changed by identity.
// No DOM, no globals.
//
// The id is the cue's identity across revisions, what the server merges by (issue #15, "Cue identity"): an edit
// of text or times keeps it; a split keeps it on the first part and gives the second a new one; a merge keeps
// the first cue's; an insert makes a new one.

export const NUDGE_MS = 100;
export const MIN_SPLIT_MS = 200; // each part of a split keeps at least this long
const INSERT_MS = 2000; // a new caption's length, when there is room for it
const INSERT_ROOM_MS = 500; // less room than this before the next caption: the new one may overlap it

// (A cue of a list that has no ids, as some pure tests use, stays without one.)
const cue = (start_ms, end_ms, text, id) => Object.freeze(id === undefined ? {start_ms, end_ms, text}
  : {id, start_ms, end_ms, text});
const HEX = "0123456789abcdef";

// A new cue id, "e" and 12 hex digits: the contract's `"e" + crypto.randomUUID()...slice(0, 12)`, from
// getRandomValues, which (unlike randomUUID) also works on a page served over plain http from another host.
export function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `e${[...bytes].map((b) => HEX[b >> 4] + HEX[b & 15]).join("")}`;
}
const words = (text) => text.split(/\s+/).filter(Boolean);

function replaced(cues, index, count, ...items) {
  const result = cues.slice();
  result.splice(index, count, ...items);
  return Object.freeze(result);
}

// A server's cue list (with any extra fields) as the editor's frozen list; a row without an id gets the one the
// server gives such cues, "n" + its 1-based position.
export function fromServer(rows) {
  return Object.freeze(rows.map((c, i) => cue(c.start_ms, c.end_ms, c.text, c.id || `n${i + 1}`)));
}

// The same caption: same id, times and text (two nulls are the same too).
export function sameCue(a, b) {
  if (!a || !b) return a === b;
  return a === b || (a.id === b.id && a.start_ms === b.start_ms && a.end_ms === b.end_ms && a.text === b.text);
}

export function sameCues(a, b) {
  return a.length === b.length && a.every((c, i) => sameCue(c, b[i]));
}

// `index` moved into the list (0 for an empty one).
export function clampIndex(cues, index) {
  return Math.max(0, Math.min(index, cues.length - 1));
}

// The index of the cue on screen at `ms`, or -1.
export function cueAt(cues, ms) {
  return cues.findIndex((c) => c.start_ms <= ms && ms < c.end_ms);
}

export function editText(cues, index, text) {
  const old = cues[index];
  if (!old) return cues;
  return replaced(cues, index, 1, cue(old.start_ms, old.end_ms, text, old.id));
}

// Sets a cue's start_ms or end_ms (`field`) and keeps the list in time order. Returns {cues, index}: where the
// changed cue is now; null when there is no cue at `index`.
export function setTime(cues, index, field, ms) {
  const old = cues[index];
  if (!old) return null;
  const value = Math.max(0, Math.round(ms));
  const changed = field === "start_ms" ? cue(value, old.end_ms, old.text, old.id)
    : cue(old.start_ms, value, old.text, old.id);
  const sorted = replaced(cues, index, 1, changed).slice()
    .sort((a, b) => a.start_ms - b.start_ms || a.end_ms - b.end_ms); // stable: equal cues keep their order
  return {cues: Object.freeze(sorted), index: sorted.indexOf(changed)};
}

export function nudge(cues, index, field, deltaMs) {
  return cues[index] ? setTime(cues, index, field, cues[index][field] + deltaMs) : null;
}

// One line, or two of about equal length when it is longer than `charsPerLine`.
export function rebalance(text, charsPerLine) {
  const flat = words(text).join(" ");
  if (flat.length <= charsPerLine) return flat;
  let best = -1;
  for (let i = flat.indexOf(" "); i !== -1; i = flat.indexOf(" ", i + 1)) {
    if (best === -1 || Math.abs(i - flat.length / 2) < Math.abs(best - flat.length / 2)) best = i;
  }
  return best === -1 ? flat : `${flat.slice(0, best)}\n${flat.slice(best + 1)}`;
}

// Where the first part of a split ends and the second starts. From Whisper's word timings when the words still
// match: the first part ends with the last word before the cursor, the second starts with the next word.
// Otherwise in proportion to the characters.
export function splitTimes(old, before, after, timedWords = []) {
  const inside = timedWords.filter((w) => w.start_ms >= old.start_ms && w.start_ms < old.end_ms);
  const count = words(before).length;
  const total = count + words(after).length;
  if (inside.length === total && count > 0 && count < total) {
    return [inside[count - 1].end_ms, Math.max(inside[count].start_ms, inside[count - 1].end_ms)];
  }
  const at = old.start_ms + Math.round((old.end_ms - old.start_ms) * before.length / (before.length + after.length));
  return [at, at];
}

// Splits the cue at `index` at text position `caret` into two cues: the first keeps the id, the second gets
// `id` (a new one unless given). The times come from `words` (see splitTimes), or both are `atMs` when given.
// Null when the caret is not between two words or the cue is too short to split.
export function splitAt(cues, index, caret,
                        {words: timedWords = [], charsPerLine = Infinity, atMs, id = newId()} = {}) {
  const old = cues[index];
  if (!old) return null;
  const before = old.text.slice(0, caret).trim();
  const after = old.text.slice(caret).trim();
  if (!before || !after || old.end_ms - old.start_ms < 2 * MIN_SPLIT_MS) return null;
  const [endFirst, startSecond] = atMs === undefined ? splitTimes(old, before, after, timedWords) : [atMs, atMs];
  return replaced(cues, index, 1, cue(old.start_ms, endFirst, rebalance(before, charsPerLine), old.id),
                  cue(startSecond, old.end_ms, rebalance(after, charsPerLine), id));
}

// The cue at `index` and the next as one, with the first one's id; null when there is no next cue.
export function mergeWithNext(cues, index, charsPerLine = Infinity) {
  const [first, second] = [cues[index], cues[index + 1]];
  if (!first || !second) return null;
  return replaced(cues, index, 2, cue(first.start_ms, Math.max(first.end_ms, second.end_ms),
                                      rebalance(`${first.text} ${second.text}`, charsPerLine), first.id));
}

// An empty cue with a new id (or `id`) after the one at `index` (at the start of an empty list: at `nowMs`).
// Returns {cues, index}.
export function insertAfter(cues, index, nowMs = 0, id = newId()) {
  const old = cues[index];
  const next = cues[index + 1];
  const start = old ? old.end_ms : Math.max(0, Math.round(nowMs));
  const end = next && next.start_ms - start >= INSERT_ROOM_MS ? Math.min(start + INSERT_MS, next.start_ms)
    : start + INSERT_MS;
  const at = old ? index + 1 : 0;
  return {cues: replaced(cues, at, 0, cue(start, end, "", id)), index: at};
}

export function deleteAt(cues, index) {
  return cues[index] ? replaced(cues, index, 1) : cues;
}

// The next occurrence of `needle` from text position `offset` of cue `index` on, wrapping round to the cue
// itself: {index, at, length}, or null.
export function findNext(cues, needle, {index = 0, offset = 0, matchCase = false} = {}) {
  if (!needle || !cues.length) return null;
  const norm = (s) => (matchCase ? s : s.toLowerCase());
  for (let step = 0; step <= cues.length; step++) {
    const i = (index + step) % cues.length;
    const at = norm(cues[i].text).indexOf(norm(needle), step === 0 ? offset : 0);
    if (at !== -1) return {index: i, at, length: needle.length};
  }
  return null;
}

// The text from `start` to `end` of cue `index` replaced by `replacement`.
export function replaceAt(cues, index, start, end, replacement) {
  const old = cues[index];
  if (!old) return cues;
  return editText(cues, index, old.text.slice(0, start) + replacement + old.text.slice(end));
}

// Every occurrence of `needle` replaced, as it is written (no pattern, no "$&"). Returns {cues, count}; with
// nothing found, `cues` is the list given.
export function replaceAll(cues, needle, replacement, matchCase = false) {
  if (!needle) return {cues, count: 0};
  const pattern = new RegExp(needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), matchCase ? "g" : "gi");
  let count = 0;
  const result = cues.map((c) => {
    const found = (c.text.match(pattern) || []).length;
    count += found;
    return found ? cue(c.start_ms, c.end_ms, c.text.replace(pattern, () => replacement), c.id) : c;
  });
  return {cues: count ? Object.freeze(result) : cues, count};
}
