// Comments on captions (issue #15): a note one reviewer leaves on a caption for the next, shown under that
// caption and in a list of all of them, until someone resolves it. Each row of the caption list gets a small
// "Comment" control; comments are the server's (api.js), kept here, not in the editor state, and follow their
// caption by id when captions move.

import {detail} from "./api.js";
import {el} from "./dom.js";
import {cueIdOf, labelledBy} from "./view.js";

const when = (at) => new Date(at).toLocaleString();

export function installComments(editor, api, saving) {
  const $ = (id) => document.getElementById(id);
  const list = $("cue-list");
  const announce = (message) => editor.view.announce(message);
  const shown = new WeakMap(); // row -> what its comments part shows, to redraw only what changed
  let comments = [];
  let openOn = new Map(); // cue id -> its open comments
  let target = null; // the id of the caption the comment form is open on

  const text = el("textarea", {id: "comment-text", rows: 2});
  const label = el("label", {htmlFor: "comment-text"});
  const add = el("button", {type: "button", textContent: "Add comment"});
  const cancel = el("button", {type: "button", textContent: "Cancel"});
  const form = el("div", {className: "comment-form"}, [label, text, add, cancel]);

  const numberOf = (id) => editor.state.cues.findIndex((c) => c.id === id) + 1;

  function resolveButton(comment) {
    const n = numberOf(comment.cue_id);
    const button = el("button", {type: "button", textContent: "Resolve"});
    button.setAttribute("aria-label", `Resolve ${comment.author}'s comment${n ? ` on caption ${n}` : ""}`);
    button.addEventListener("click", () => resolve(comment));
    return button;
  }

  function item(comment) {
    return el("li", {}, [`${comment.author} (${when(comment.created_at)}): `, el("q", {textContent: comment.text}),
      " ", resolveButton(comment)]);
  }

  function part(row) {
    let node = row.querySelector(".cue-comments");
    if (node) return node;
    const button = el("button", {type: "button", className: "comment-open", textContent: "Comment"});
    // "Comment on caption 12", by the row's number (view.js LABEL_WORDS): nothing to rewrite when it moves.
    button.setAttribute("aria-labelledby", labelledBy("comment", cueIdOf(row)));
    button.addEventListener("click", () => open(editor.state.cues[Number(row.dataset.index)]?.id));
    node = el("div", {className: "cue-comments"}, [el("ul", {className: "comment-items"}), button]);
    row.append(node);
    return node;
  }

  // Each row: its caption's open comments and the "Comment" control; the form under the caption it is for.
  // `touched`: the positions of the rows the list just drew or renumbered (every row when not given).
  function render(state, touched) {
    for (const index of touched ?? state.cues.keys()) {
      const cue = state.cues[index];
      const row = list.children[index];
      if (!row || !cue) continue;
      const node = part(row);
      const open = openOn.get(cue.id) ?? [];
      // Its comments (which name its number) redrawn only when there are any.
      const ids = `${cue.id}|${open.map((c) => c.id).join(",")}`;
      const was = shown.get(row);
      if (was?.index === index && was.ids === ids) continue;
      if (was?.ids !== ids || open.length) node.querySelector(".comment-items").replaceChildren(...open.map(item));
      shown.set(row, {index, ids});
    }
    const at = target === null ? -1 : state.cues.findIndex((c) => c.id === target);
    if (at === -1) { form.remove(); return; }
    label.textContent = `Comment on caption ${at + 1}`;
    const row = list.children[at];
    if (row && form.parentNode !== row) row.append(form);
  }

  function renderList() {
    const open = comments.filter((c) => !c.resolved_at).length;
    $("comments-count").textContent = `(${open} open)`;
    $("comments-list").replaceChildren(...comments.map((comment) => {
      const n = numberOf(comment.cue_id);
      return el("li", {}, [
        `${n ? `Caption ${n}` : "A deleted caption"}, ${comment.author} (${when(comment.created_at)}): `,
        el("q", {textContent: comment.text}),
        comment.resolved_at ? ` Resolved by ${comment.resolved_by}.` : " ",
        ...(comment.resolved_at ? [] : [resolveButton(comment)]),
      ]);
    }));
  }

  async function refresh() {
    const answer = await api.comments();
    if (!answer.ok) return;
    comments = answer.body;
    openOn = new Map();
    for (const c of comments) if (!c.resolved_at) openOn.set(c.cue_id, [...(openOn.get(c.cue_id) ?? []), c]);
    renderList();
    render(editor.state); // a row whose open comments are the ones it shows is left as it is (#20)
  }

  function open(id) {
    if (!id) return;
    target = id;
    render(editor.state);
    text.focus();
  }

  function close() {
    const back = numberOf(target) - 1;
    target = null;
    text.value = "";
    form.remove();
    if (back >= 0) list.children[back]?.querySelector(".comment-open")?.focus();
  }

  async function resolve(comment) {
    const name = saving.reviewer();
    if (!name) return;
    const answer = await api.resolveComment(comment.id, name);
    if (!answer.ok) { announce(`Not resolved: ${detail(answer)}`); return; }
    await refresh();
    announce(`${comment.author}'s comment resolved`);
  }

  add.addEventListener("click", async () => {
    const name = saving.reviewer();
    const words = text.value.trim();
    if (!name) return;
    if (!words) { announce("Write the comment first"); text.focus(); return; }
    const n = numberOf(target);
    const answer = await api.comment(target, name, words);
    if (!answer.ok) { announce(`Comment not added: ${detail(answer)}`); return; }
    close();
    await refresh();
    announce(`Comment added to caption ${n}`);
  });
  cancel.addEventListener("click", close);
  saving.onChange(refresh);
  return {render, refresh};
}
