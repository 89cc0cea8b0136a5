// The flagged words as the server reports them (GET captions `flags`: key, word, start_ms, end_ms, labels in plain
// words, cue_id, state "open" | "checked" | "corrected", by, at), placed on the cues being edited: which cue each
// belongs to, the order Alt+N and Alt+Shift+N walk them in, where the word is in its caption's text, and what a
// caption's flag line says. Pure functions over plain values, no DOM (issue #15: every flag reachable).

const WINDOW_MS = 500; // a word belongs to the cue it starts in, or one that ends up to 0.5 s before it

// The word as it is written, without the punctuation around it: "childline," -> "childline". Case is kept, so
// that "childline" corrected to "Childline" counts as changed.
export const bareWord = (text) => text.trim().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "");

// The list position of the cue flag `flag` belongs to: the cue with its id, else the first whose time window
// holds the word; -1 for none.
export function cueIndexOf(cues, flag) {
  const byId = flag.cue_id ? cues.findIndex((c) => c.id === flag.cue_id) : -1;
  if (byId !== -1) return byId;
  return cues.findIndex((c) => c.start_ms <= flag.start_ms && flag.start_ms < c.end_ms + WINDOW_MS);
}

// Whether the flagged word is still in its caption's text, spelled as it was (case included).
export function stillThere(cue, flag) {
  const word = bareWord(flag.word);
  return Boolean(cue) && cue.text.split(/\s+/).some((w) => bareWord(w) === word);
}

// The flag's state as the editor shows it: the server's, except that an open flag whose word the reviewer has
// changed since (not saved yet) shows as corrected. The server re-evaluates it on the next save.
export function shownState(cue, flag) {
  return flag.state === "open" && !stillThere(cue, flag) ? "corrected" : flag.state;
}

// Where the cues of a list are, for placing many flags at once (#20: a film has 1,500 cues and hundreds of
// flags): the first position of each id, and, while the list is in time order, the latest end up to each
// position, so that the first cue whose window holds a time is found by halving, not by walking the list.
const layouts = new WeakMap(); // cue list (frozen) -> its layout
function layoutOf(cues) {
  let layout = layouts.get(cues);
  if (layout) return layout;
  const byId = new Map();
  const latestEnd = new Array(cues.length);
  let sorted = true;
  let latest = -Infinity;
  cues.forEach((c, i) => {
    if (!byId.has(c.id)) byId.set(c.id, i);
    latest = Math.max(latest, c.end_ms);
    latestEnd[i] = latest;
    if (i && c.start_ms < cues[i - 1].start_ms) sorted = false;
  });
  layout = {byId, latestEnd, sorted};
  layouts.set(cues, layout);
  return layout;
}

// cueIndexOf, with the list's layout.
function placeOne(cues, layout, flag) {
  const at = flag.cue_id ? layout.byId.get(flag.cue_id) : undefined;
  if (at !== undefined) return at;
  if (!layout.sorted) return cueIndexOf(cues, {...flag, cue_id: null});
  // The first cue whose end (+ the window) is past the word; before it none is, and after it none starts in time.
  const time = flag.start_ms;
  let [low, high] = [0, cues.length];
  while (low < high) {
    const middle = (low + high) >> 1;
    if (layout.latestEnd[middle] + WINDOW_MS > time) high = middle; else low = middle + 1;
  }
  return low < cues.length && cues[low].start_ms <= time ? low : -1;
}

// Same ids and times at every position: only texts differ, so every flag stays on the cue it was on.
function sameLayout(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i], b[i]];
    if (x !== y && (x.id !== y.id || x.start_ms !== y.start_ms || x.end_ms !== y.end_ms)) return false;
  }
  return true;
}

let lastPlaced = null; // {cues, flags, all}: after a keystroke only the flags of the caption typed in change

// Every flag with its cue's position and its shown state, in caption order and, within a caption, in time order:
// [{flag, index, state}] (frozen). Flags on no cue are left out.
export function placed(cues, flags) {
  const last = lastPlaced;
  if (last && last.cues === cues && last.flags === flags) return last.all;
  let all;
  if (last && last.flags === flags && sameLayout(last.cues, cues)) {
    all = Object.freeze(last.all.map((p) => (cues[p.index] === last.cues[p.index] ? p
      : Object.freeze({flag: p.flag, index: p.index, state: shownState(cues[p.index], p.flag)}))));
  } else {
    const layout = layoutOf(cues);
    all = Object.freeze(flags.map((flag) => {
      const index = placeOne(cues, layout, flag);
      return {flag, index, state: index === -1 ? flag.state : shownState(cues[index], flag)};
    }).filter((p) => p.index !== -1)
      .sort((a, b) => a.index - b.index || a.flag.start_ms - b.flag.start_ms || a.flag.key.localeCompare(b.flag.key))
      .map((p) => Object.freeze(p)));
  }
  lastPlaced = {cues, flags, all};
  return all;
}

// The flags of each cue: an array as long as `cues` of arrays of {flag, index, state}.
export function byCue(cues, flags) {
  const rows = cues.map(() => []);
  for (const p of placed(cues, flags)) rows[p.index].push(p);
  return rows;
}

// The flag Alt+N (step 1) or Alt+Shift+N (step -1) goes to from caption `index`, where the last flag visited was
// `key` (null: none yet, or not in this caption any more). Open flags only while any are open; then every flag, so
// that the keys still walk them. Wraps round. {flag, index, state} or null when there are no flags.
export function nextFlag(cues, flags, {index, key = null}, step = 1) {
  const all = placed(cues, flags);
  const open = all.filter((p) => p.state === "open");
  const walk = open.length ? open : all;
  if (!walk.length) return null;
  const order = all.findIndex((p) => p.flag.key === key && p.index === index);
  if (order !== -1) {
    // From the flag last visited: the next one after it in the whole order that is in the walk.
    for (let i = 1; i <= all.length; i++) {
      const p = all[(((order + step * i) % all.length) + all.length) % all.length];
      if (walk.includes(p)) return p;
    }
  }
  const ahead = step > 0 ? walk.find((p) => p.index >= index) : walk.findLast((p) => p.index <= index);
  return ahead || (step > 0 ? walk[0] : walk[walk.length - 1]);
}

// Where flag `p` ({flag, index}) is in its caption's text: {start, end}, or null when the word is not there. A
// word flagged twice in one caption ("the the") is found at its own occurrence, counted in time order.
export function wordRange(cues, flags, p) {
  const cue = cues[p.index];
  const word = bareWord(p.flag.word);
  if (!cue || !word) return null;
  const same = byCue(cues, flags)[p.index].filter((q) => bareWord(q.flag.word) === word);
  const nth = Math.max(0, same.findIndex((q) => q.flag.key === p.flag.key));
  const found = [];
  const pattern = /\S+/g;
  for (let match = pattern.exec(cue.text); match; match = pattern.exec(cue.text)) {
    if (bareWord(match[0]) !== word) continue;
    const start = match.index + match[0].indexOf(word);
    found.push({start, end: start + word.length});
  }
  return found[Math.min(nth, found.length - 1)] || null;
}

// The flag that "mark checked" acts on in caption `index`: the one last visited (`key`) when it is there, else
// the caption's first open flag; null when it has none.
export function flagToCheck(cues, flags, {index, key = null}) {
  const mine = byCue(cues, flags)[index] || [];
  const open = mine.filter((p) => p.state === "open");
  return open.find((p) => p.flag.key === key) || open[0] || mine.find((p) => p.flag.key === key) || null;
}

export const openCount = (cues, flags) => placed(cues, flags).filter((p) => p.state === "open").length;

// What one flag says on its caption and in announcements, in plain words; after "Caption 4: ", `lower` starts
// it with a small letter.
export function describe(p, {lower = false} = {}) {
  const {flag, state} = p;
  const what = `“${bareWord(flag.word) || flag.word.trim()}” (${(flag.labels || []).join(", ")})`;
  if (state === "open") return `${lower ? "check" : "Check"} ${what}`;
  if (state === "checked") return `${what} checked${flag.by ? ` by ${flag.by}` : ""}`;
  return `${what} corrected`;
}

// Flags as the server gives them, from the words of the editor-data, for an answer that carries none: each flagged
// word one open flag. Its labels are the flag names in plain words.
export function fromWords(words) {
  return words.filter((w) => w.flags.length).map((w, i) => ({
    key: `w${i}-${w.start_ms}`, word: w.text, start_ms: w.start_ms, end_ms: w.end_ms, kinds: w.flags,
    labels: w.flags.map((f) => f.replaceAll("_", " ")), cue_id: null, state: "open", by: null, at: null,
  }));
}
