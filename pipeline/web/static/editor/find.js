// The find and replace panel: its buttons, over the pure find and replace of cues.js. It changes the editor
// only through what main.js hands it (`editor.update`, `editor.edit`).

import * as Cues from "./cues.js";

export function installFind(editor) {
  const $ = (id) => document.getElementById(id);
  const {view} = editor;
  const matchCase = () => $("find-case").checked;

  // The selection in the caption the tools act on: where "find next" goes on from, what "replace" replaces.
  function currentMatch() {
    const {selected} = editor.state;
    const box = view.textBox(selected);
    return box ? {index: selected, start: box.selectionStart, end: box.selectionEnd} : null;
  }

  function findNext() {
    const here = currentMatch();
    const found = Cues.findNext(editor.state.cues, $("find-text").value,
                                {index: here ? here.index : 0, offset: here ? here.end : 0, matchCase: matchCase()});
    if (!found) { view.findStatus("Not found"); return; }
    editor.update({selected: found.index});
    view.showMatch(found.index, found.at, found.at + found.length);
    view.findStatus(`Found in caption ${found.index + 1}`);
  }

  $("find-next").addEventListener("click", findNext);
  $("replace-one").addEventListener("click", () => {
    const {cues, selected} = editor.state;
    const here = currentMatch();
    const needle = $("find-text").value;
    const cue = here && cues[here.index];
    const picked = cue ? cue.text.slice(here.start, here.end) : "";
    const same = matchCase() ? picked === needle : picked.toLowerCase() === needle.toLowerCase();
    if (!needle || !same || here.start === here.end) { findNext(); return; }
    editor.edit(Cues.replaceAt(cues, here.index, here.start, here.end, $("replace-text").value), selected,
                {focus: false});
    view.findStatus(`Replaced in caption ${here.index + 1}`);
  });
  $("replace-all").addEventListener("click", () => {
    const needle = $("find-text").value;
    if (!needle) return;
    const {cues, count} = Cues.replaceAll(editor.state.cues, needle, $("replace-text").value, matchCase());
    if (!count) { view.findStatus("Not found"); return; }
    editor.edit(cues, editor.state.selected, {focus: false});
    view.findStatus(`Replaced ${count} time${count === 1 ? "" : "s"}`);
  });
  $("find-close").addEventListener("click", () => {
    $("find-panel").hidden = true;
    view.focusCue(editor.state.selected);
  });
}
