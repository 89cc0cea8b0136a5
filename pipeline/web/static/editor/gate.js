// The gate in the editor (issue #15): the flagged words' states from the server, Alt+N / Alt+Shift+N through
// every open flag in caption order, Alt+K (or a flag's button) to mark one checked, the decision section
// (decide.js), and the server's line breaks (its segmenter, through the layout endpoint) after a split, a merge
// and typing. It changes the editor only through `editor.update` and `editor.edit` (main.js).

import {detail, gateApi} from "./api.js";
import * as Cues from "./cues.js";
import {installDecisions} from "./decide.js";
import * as Flags from "./flags.js";

// `fetch` that also hands every JSON answer's body to `onBody`: any answer that carries the asset's state or the
// flags (the captions, a save, a restore, an import) updates the header and the flags, whichever call got it.
export function observing(send, onBody) {
  return async (url, init) => {
    const response = await send(url, init);
    response.clone().json().then(onBody, () => {});
    return response;
  };
}

// The editor state an answer's body carries: {flags, decision, assetState}, those it has.
export function gateFields(body) {
  if (!body || typeof body !== "object" || Array.isArray(body)) return {};
  const change = {};
  if (Array.isArray(body.flags)) change.flags = Object.freeze(body.flags.map((f) => Object.freeze(f)));
  if (body.decision === null || typeof body.decision === "object") change.decision = body.decision ?? null;
  if (typeof body.asset_state === "string") change.assetState = body.asset_state;
  return change;
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

// `select(index, caret, end)` and `seekTo(ms)` are main.js's.
export function installGate(editor, api, {assetId, language, saving, select, seekTo}) {
  const gate = gateApi(api, {assetId, language});
  const announce = (message) => editor.view.announce(message);
  const openLeft = () => plural(Flags.openCount(editor.state.cues, editor.state.flags), "flagged word",
                                "flagged words");

  function goTo(p) {
    const {cues, flags} = editor.state;
    editor.update({flagKey: p.flag.key});
    const range = Flags.wordRange(cues, flags, p);
    seekTo(cues[p.index].start_ms);
    if (range) select(p.index, range.start, range.end); else select(p.index);
  }

  function step(direction) {
    const {cues, flags, selected, flagKey} = editor.state;
    const p = Flags.nextFlag(cues, flags, {index: selected, key: flagKey}, direction);
    if (!p) { announce("No flagged words in these captions"); return; }
    goTo(p);
    const left = Flags.openCount(cues, flags) ? `${openLeft()} open; Alt+K marks it checked`
      : "Every flagged word is checked or corrected";
    announce(`Caption ${p.index + 1}: ${Flags.describe(p, {lower: true})}. ${left}`);
  }

  function replaceFlag(flag) {
    const flags = editor.state.flags.map((f) => (f.key === flag.key ? Object.freeze(flag) : f));
    editor.update({flags: Object.freeze(flags)});
  }

  async function setState(p, act) {
    const name = saving.reviewer();
    // Saved first: a check is recorded with the caption text the server has (pipeline/review/flags.py).
    if (!name || !(await saving.flush())) return;
    const answer = await (act === "check" ? gate.checkFlag : gate.reopenFlag)(p.flag.key, name);
    const word = `“${Flags.bareWord(p.flag.word)}” in caption ${p.index + 1}`;
    if (!answer.ok) { announce(`Not ${act === "check" ? "marked checked" : "reopened"}: ${detail(answer)}`); return; }
    replaceFlag(answer.body);
    announce(act === "check" ? `${word} marked checked by ${name}; ${openLeft()} open (Alt+N for the next)`
      : `${word} open again; ${openLeft()} open`);
  }

  function checkHere() {
    const {cues, flags, selected, flagKey} = editor.state;
    const p = Flags.flagToCheck(cues, flags, {index: selected, key: flagKey});
    if (!p) { announce(`Caption ${selected + 1} has no flagged words; Alt+N goes to the next one`); return; }
    if (p.state !== "open") {
      announce(`${Flags.describe(p)}: nothing left to check in caption ${selected + 1}`);
      return;
    }
    setState(p, "check");
  }

  document.getElementById("cue-list").addEventListener("click", (event) => {
    const button = event.target.closest(".flag-state");
    if (!button) return;
    const p = Flags.placed(editor.state.cues, editor.state.flags).find((q) => q.flag.key === button.dataset.flag);
    if (p) setState(p, button.dataset.act);
  });

  // `cues` (made from `before`, the state's list) with the server's line breaks in the captions at `positions`;
  // null when the captions changed while the server answered. Without an answer the text stays as it is.
  async function laidOut(before, cues, positions) {
    const answer = await gate.layout(positions.map((i) => cues[i].text));
    if (editor.state.cues !== before) return null;
    if (!answer.ok || !Array.isArray(answer.body.texts)) return cues;
    return positions.reduce((now, i, n) => Cues.editText(now, i, answer.body.texts[n]), cues);
  }

  // After typing, when the caption loses its focus: its text with the server's line breaks, as its own undo step.
  document.getElementById("cue-list").addEventListener("change", async (event) => {
    if (!event.target.classList.contains("text")) return;
    const before = editor.state.cues;
    const index = Number(event.target.closest(".cue").dataset.index);
    const cue = before[index];
    if (!cue || !cue.text.trim()) return;
    const cues = await laidOut(before, before, [index]);
    if (cues && cues[index].text !== cue.text) editor.edit(cues, editor.state.selected, {focus: false});
  });

  const decisions = installDecisions(editor, gate, {
    assetId, saving,
    goToCue(index, key) {
      const p = Flags.placed(editor.state.cues, editor.state.flags).find((q) => q.flag.key === key);
      if (p) goTo(p); else select(Cues.clampIndex(editor.state.cues, index));
    },
  });

  async function refresh() {
    const answer = await gate.flags();
    if (answer.ok) received(answer.body);
  }

  // The flags, decision and asset state an answer brought (`observing`); a revision that came without its flags
  // has them asked for.
  function received(body) {
    if (body && body.revision && !Array.isArray(body.flags)) refresh();
    const change = gateFields(body);
    if (Object.keys(change).length) editor.update(change);
  }

  return {
    laidOut, decisions, received,
    actions: {
      "next-flag": () => step(1),
      "previous-flag": () => step(-1),
      "check-flag": checkHere,
      decide: () => decisions.goTo(),
    },
  };
}
