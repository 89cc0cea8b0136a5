// The captions two reviewers both changed (a 409, issue #15), shown next to each caption where the reviewer is
// working, not at the top of the page: both versions, "Keep mine (replaces Ann's change)", "Keep Ann's", or
// text of one's own. Each decision is an edit (main.js `editor.edit`, so Ctrl+Z can take it back); the autosave
// waits until every conflict is decided (saving.js). A conflict is {id, position, base, mine, theirs,
// theirs_author, theirs_revision} as the server sends it; mine or theirs null: that side deleted the caption.

import * as Changes from "./changes.js";
import * as Cues from "./cues.js";
import {formatSpan} from "./times.js";
import {el} from "./dom.js";

function version(label, cue, gone) {
  if (!cue) return el("p", {className: "version", textContent: gone});
  return el("p", {className: "version"}, [`${label} (${formatSpan(cue)}): `, el("q", {textContent: cue.text})]);
}

export function installConflicts(editor, {decided}) {
  const list = document.getElementById("cue-list");
  const boxes = new Map(); // conflict id -> its box, kept while the rows move under it (typed text stays)

  function decide(conflict, cue) {
    const {state} = editor;
    const remaining = Object.freeze(state.conflicts.filter((c) => c.id !== conflict.id));
    editor.update({conflicts: remaining});
    const kept = cue && {...cue, id: conflict.id};
    const cues = Changes.put(state.cues, conflict.id, kept && Cues.fromServer([kept])[0]);
    const index = cues.findIndex((c) => c.id === conflict.id);
    editor.edit(cues, Cues.clampIndex(cues, index === -1 ? conflict.position - 1 : index), {focus: true});
    decided(remaining.length);
  }

  function box(conflict) {
    const who = conflict.theirs_author;
    const title = el("p", {className: "conflict-title", id: `conflict-title-${conflict.id}`});
    const mine = el("button", {type: "button", className: "keep-mine",
                               textContent: `Keep mine (replaces ${who}'s change)`});
    const theirs = el("button", {type: "button", className: "keep-theirs", textContent: `Keep ${who}'s`});
    const own = el("textarea", {className: "own-text", rows: 2, id: `conflict-own-${conflict.id}`,
                                value: (conflict.mine ?? conflict.theirs ?? conflict.base)?.text ?? ""});
    const use = el("button", {type: "button", className: "use-own", textContent: "Use this text"});
    mine.addEventListener("click", () => decide(conflict, conflict.mine));
    theirs.addEventListener("click", () => decide(conflict, conflict.theirs));
    use.addEventListener("click", () => {
      const times = conflict.mine ?? conflict.theirs ?? conflict.base;
      decide(conflict, {start_ms: times.start_ms, end_ms: times.end_ms, text: own.value});
    });
    const node = el("section", {className: "conflict cue-conflict"}, [
      title,
      version(`${who}'s version, revision ${conflict.theirs_revision}`, conflict.theirs,
              `${who} deleted this caption.`),
      version("Your version", conflict.mine, "You deleted this caption."),
      el("p", {}, [mine, " ", theirs]),
      el("label", {htmlFor: own.id, textContent: "Or write the caption yourself"}), own, use,
    ]);
    node.setAttribute("aria-labelledby", title.id);
    node.dataset.conflict = conflict.id;
    return node;
  }

  // Each open conflict's box in the row of its caption (or, for a caption they deleted, where it was).
  function render(state) {
    const open = new Set(state.conflicts.map((c) => c.id));
    for (const [id, node] of boxes) if (!open.has(id)) { node.remove(); boxes.delete(id); }
    for (const conflict of state.conflicts) {
      if (!boxes.has(conflict.id)) boxes.set(conflict.id, box(conflict));
      const node = boxes.get(conflict.id);
      const at = state.cues.findIndex((c) => c.id === conflict.id);
      const row = list.children[at === -1 ? Cues.clampIndex(state.cues, conflict.position - 1) : at];
      const n = at === -1 ? null : at + 1;
      node.querySelector(".conflict-title").textContent = n
        ? `Caption ${n}: you and ${conflict.theirs_author} both changed it. Choose the version to keep.`
        : `A caption ${conflict.theirs_author} deleted and you changed. Choose whether to keep it.`;
      // Right under the caption's text, where the reviewer is working.
      const text = row?.querySelector(".text");
      if (text && node.previousElementSibling !== text) text.after(node);
    }
  }

  // The conflicts just arrived: said as an alert, and the first one gets the focus.
  function show(message) {
    render(editor.state);
    const count = editor.state.conflicts.length;
    editor.view.announce(`Not saved yet: ${count} caption${count === 1 ? "" : "s"} you both changed, each waiting `
                         + "for your choice");
    const first = boxes.get(editor.state.conflicts[0]?.id);
    if (!first) return;
    first.querySelector(".conflict-alert")?.remove();
    first.prepend(el("p", {className: "conflict-alert", role: "alert", textContent: message}));
    first.querySelector(".conflict-alert").setAttribute("role", "alert");
    first.scrollIntoView({block: "center"});
    first.querySelector(".keep-mine").focus();
  }

  return {render, show};
}
