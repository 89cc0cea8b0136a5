// The revision history (issue #15): the revisions, the per-caption differences between any two of them, the
// approvals and decisions in order; and restoring a revision or importing a file caption by caption. A
// restore or an import first lists what it would change, each caption naming whose saved change it would
// replace, with a checkbox each: only the captions chosen are restored or imported, and another reviewer's
// change is never chosen for the reviewer. It changes the editor only through saving.js (`loaded`).

import {detail} from "./api.js";
import {formatSpan} from "./times.js";
import {el} from "./dom.js";

const KINDS = {added: "added", removed: "deleted", text: "text changed", timing: "timing changed",
               "text and timing": "text and timing changed"};

// One caption's difference: what went (<del>) and what came (<ins>), times where they changed.
export function differenceNodes(change, {was = "Was", now = "Now"} = {}) {
  const {before, after} = change;
  const moved = before && after && (before.start_ms !== after.start_ms || before.end_ms !== after.end_ms);
  const side = (label, cue, Tag) => (cue ? [` ${label}${moved || !before || !after ? ` (${formatSpan(cue)})` : ""}: `,
                                            el(Tag, {textContent: cue.text})] : []);
  return [...side(was, before, "del"), ...side(now, after, "ins")];
}

// Two texts word by word: [{kind: "same" | "removed" | "added", text}], the longest run of words kept in
// common (a table of common suffixes; captions are short). Spaces and line breaks stay with the word before.
export function wordDiff(before, after) {
  const split = (text) => text.match(/\S+\s*/g) ?? [];
  const [a, b] = [split(before), split(after)];
  const same = (x, y) => x.trim() === y.trim();
  const table = Array.from({length: a.length + 1}, () => new Array(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i][j] = same(a[i], b[j]) ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const parts = [];
  const push = (kind, text) => {
    const last = parts[parts.length - 1];
    if (last && last.kind === kind) last.text += text; else parts.push({kind, text});
  };
  let [i, j] = [0, 0];
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && same(a[i], b[j])) { push("same", b[j]); i++; j++; }
    else if (i < a.length && (j === b.length || table[i + 1][j] >= table[i][j + 1])) push("removed", a[i++]);
    else push("added", b[j++]);
  }
  return parts;
}

// Where a caption's times changed: from when to when.
function timingNodes({before, after}) {
  return before.start_ms === after.start_ms && before.end_ms === after.end_ms ? []
    : [` (was ${formatSpan(before)}, now ${formatSpan(after)})`];
}

// A changed text as one line: what went struck through (<del>), what came underlined (<ins>); a screen reader
// hears "removed" and "added", which it may not say for the marks themselves.
function wordNodes(before, after) {
  const said = (words) => el("span", {className: "visually-hidden", textContent: words});
  return wordDiff(before, after).map((part) => (part.kind === "same" ? el("span", {textContent: part.text})
    : el(part.kind === "removed" ? "del" : "ins", {}, [said(`${part.kind}: `), part.text])));
}

// "Ann's change in revision 4", or what the caption was before anyone changed it.
export function whose(change) {
  return change.changed_by ? `${change.changed_by}'s change in revision ${change.changed_in}` : "the automatic draft";
}

export function installRevisions(editor, api, saving) {
  const $ = (id) => document.getElementById(id);
  const announce = (message) => editor.view.announce(message);
  let offer = null; // the restore or import waiting for the reviewer's choice: {apply(ids)}

  function fillSelect(select, revisions, fallback) {
    const keep = select.value || String(fallback);
    select.replaceChildren(...revisions.map((r) => el("option", {value: String(r.number),
                                                                  textContent: `${r.number} (${r.author})`})));
    select.value = revisions.some((r) => String(r.number) === keep) ? keep : String(fallback);
  }

  async function refresh() {
    const [revisions, events] = await Promise.all([api.revisions(), api.events()]);
    if (revisions.ok) {
      const list = revisions.body;
      $("history-list").replaceChildren(...list.map((r) => {
        const item = el("li", {}, [`${r.author}, ${new Date(r.created_at).toLocaleString()}: ${r.summary} `]);
        item.value = r.number;
        if (r.number !== editor.state.base) {
          const button = el("button", {type: "button", textContent: `Restore from revision ${r.number}…`});
          button.addEventListener("click", () => restore(r.number));
          item.append(button);
        }
        return item;
      }));
      fillSelect($("compare-from"), list, list[1]?.number ?? list[0]?.number ?? 1);
      fillSelect($("compare-to"), list, list[0]?.number ?? 1);
    }
    if (events.ok) {
      // The detail may hold a long path: .hint lets it wrap anywhere rather than widen the panel.
      $("events-list").replaceChildren(...events.body.map((e) => el("li", {}, [
        `${new Date(e.at).toLocaleString()}: ${e.state.replaceAll("_", " ")} `,
        el("span", {className: "hint", textContent: e.detail || ""})])));
    }
  }

  async function compare() {
    const [from, to] = [$("compare-from").value, $("compare-to").value];
    const answer = await api.compare(from, to);
    if (!answer.ok) { announce(`Cannot compare: ${detail(answer)}`); return; }
    const {changes} = answer.body;
    $("compare-list").replaceChildren(...changes.map((change) => el("li", {}, [
      `Caption ${change.position}, ${KINDS[change.kind] ?? change.kind}`
        + `${change.changed_by ? ` by ${change.changed_by} in revision ${change.changed_in}` : ""}:`,
      ...(change.before && change.after ? [" ", ...wordNodes(change.before.text, change.after.text),
                                           ...timingNodes(change)]
        : differenceNodes(change, {was: "removed", now: "added"})),
    ])));
    $("compare-status").textContent = changes.length
      ? `Revision ${to} differs from revision ${from} in ${changes.length} caption${changes.length === 1 ? "" : "s"}`
      : `Revisions ${from} and ${to} have the same captions`;
  }

  // The changes a restore or import would make, a checkbox each; `apply(ids)` runs with the chosen ones.
  function choose({title, verb, changes, apply}) {
    const me = $("reviewer-name").value.trim();
    $("choice-heading").textContent = title;
    $("choice-list").replaceChildren(...changes.map((change, i) => {
      const box = el("input", {type: "checkbox", id: `choice-${i}`, checked: change.changed_by === me});
      box.dataset.id = change.id;
      const label = el("label", {htmlFor: box.id, textContent: `${verb} caption ${change.position}, `
        + `${KINDS[change.kind] ?? change.kind} (replaces ${whose(change)})`});
      return el("li", {}, [box, " ", label, el("p", {}, differenceNodes(change, {was: "Now", now: `${verb} gives`}))]);
    }));
    $("choice-apply").textContent = `${verb} the chosen captions`;
    offer = {apply};
    $("choice").hidden = false;
    $("choice-heading").focus();
  }

  function closeChoice() {
    $("choice").hidden = true;
    offer = null;
  }

  async function done(answer, message) {
    if (!answer.ok) { announce(`${message[0]}: ${detail(answer)}`); refresh(); return; }
    const now = await api.captions();
    if (!now.ok) { announce(detail(now)); return; }
    saving.loaded(now.body, `${message[1]} as revision ${answer.body.revision.number}`, {record: true, focus: 0});
  }

  async function restore(number) {
    const name = saving.reviewer();
    if (!name || !(await saving.sync())) return;
    const answer = await api.compareLatest(number);
    if (!answer.ok) { announce(`Cannot restore: ${detail(answer)}`); return; }
    if (!answer.body.changes.length) { announce(`Revision ${number} has the same captions as the latest`); return; }
    choose({title: `Restore captions from revision ${number}`, verb: "Restore", changes: answer.body.changes,
            async apply(ids) {
              const made = await api.restore(number, editor.state.base, name, ids);
              await done(made, ["Not restored", `Revision ${number}: ${ids.length} caption(s) restored`]);
            }});
  }

  async function importFile() {
    const file = $("import-file").files[0];
    const name = saving.reviewer();
    if (!file) { announce("Choose a .vtt or .srt file first"); return; }
    if (!name || !(await saving.sync())) return;
    const content = await file.text();
    const preview = await api.importFile(file.name, content, editor.state.base, name, true);
    if (!preview.ok) { announce(`Not imported: ${detail(preview)}`); return; }
    if (!preview.body.changes.length) { announce(`${file.name} has the same captions as the latest revision`); return; }
    choose({title: `Import captions from ${file.name}`, verb: "Import", changes: preview.body.changes,
            // Every caption ticked: the whole file (ids null), so that captions the file adds come too (the
            // server gives those new ids on each reading).
            async apply(ids, all) {
              const made = await api.importFile(file.name, content, editor.state.base, name, false, all ? null : ids);
              await done(made, ["Not imported", `${file.name}: ${ids.length} caption(s) imported`]);
            }});
  }

  $("compare").addEventListener("click", compare);
  $("import").addEventListener("click", importFile);
  $("choice-cancel").addEventListener("click", () => { closeChoice(); announce("Nothing changed"); });
  $("choice-apply").addEventListener("click", async () => {
    const boxes = [...$("choice-list").querySelectorAll("input")];
    const ids = boxes.filter((box) => box.checked).map((box) => box.dataset.id);
    if (!ids.length) { announce("Tick the captions to take, or Cancel"); return; }
    const {apply} = offer;
    closeChoice();
    await apply(ids, ids.length === boxes.length);
  });
  saving.onChange(refresh);
  return {refresh, restore};
}
