// The decision section (issue #15, "a gate that means something"): what approval would leave unchecked (the open
// flagged words and the error-level problems, each a link to its caption), a reason to approve anyway, the
// no-speech decision for captions with no cues, and Alt+A to get there. The server decides (api.js gateApi:
// approve answers 422 with the open items unless a reason is given); this module shows it and says what happened
// where the reviewer is. It changes the editor only through `editor.update`.

import {detail} from "./api.js";
import * as Flags from "./flags.js";
import {rowId} from "./view.js";

// What approval would leave unchecked, in caption order: [{kind: "flag" | "error", cue (1-based), key, text}].
export function openItems(cues, flags, problems) {
  const open = Flags.placed(cues, flags).filter((p) => p.state === "open")
    .map((p) => ({kind: "flag", cue: p.index + 1, key: p.flag.key, text: Flags.describe(p, {lower: true})}));
  const errors = problems.filter((p) => p.level === "error")
    .map((p) => ({kind: "error", cue: p.cue, key: null, text: `${p.message} (${p.value}; the limit is ${p.limit})`}));
  return [...open, ...errors].sort((a, b) => a.cue - b.cue);
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

// "2 flagged words to check and 1 error", or "" for none.
export function itemsText(items) {
  const flags = items.filter((i) => i.kind === "flag").length;
  const errors = items.length - flags;
  return [flags ? `${plural(flags, "flagged word", "flagged words")} to check` : "",
          errors ? plural(errors, "error", "errors") : ""].filter(Boolean).join(" and ");
}

// `goToCue(index, key)`: put the reviewer on caption `index` (0-based), on flag `key` when given.
export function installDecisions(editor, gate, {assetId, saving, goToCue}) {
  const $ = (id) => document.getElementById(id);
  let shown = null; // the open items the server listed when it refused, until the next change

  // Said where the reviewer is (next to the buttons) and announced (the status line is a live region).
  function say(message) {
    $("decide-status").textContent = message;
    editor.view.announce(message);
  }

  const links = new Map(); // an item's key -> its row in the list, kept while the item is open (#20)
  let listed = null; // the keys the list shows, in order

  // The list patched: rows of items gone removed, new ones made, a row's words set only when they changed.
  function renderItems(items) {
    const list = $("open-items-list");
    const seen = new Map(); // a key made twice (the same error twice in a caption) gets its count
    const keys = items.map((item) => {
      const key = item.key ?? `error|${item.cue}|${item.text}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      return seen.get(key) > 1 ? `${key}|${seen.get(key)}` : key;
    });
    const wanted = new Set(keys);
    for (const [key, row] of links) if (!wanted.has(key)) { row.remove(); links.delete(key); }
    items.forEach((item, i) => {
      let row = links.get(keys[i]);
      if (!row) {
        row = document.createElement("li");
        row.append(document.createElement("a"));
        links.set(keys[i], row);
      }
      const link = row.firstChild;
      const words = `Caption ${item.cue}: ${item.text}`;
      if (link.textContent !== words) {
        link.href = `#${rowId(editor.state.cues[item.cue - 1]?.id ?? "")}`;
        link.textContent = words;
        link.dataset.cue = String(item.cue - 1);
        if (item.key) link.dataset.flag = item.key;
      }
    });
    const order = keys.join("\n");
    if (order === listed) return;
    listed = order;
    let next = null;
    for (let i = keys.length - 1; i >= 0; i--) {
      const row = links.get(keys[i]);
      if (row.nextSibling !== next || row.parentNode !== list) list.insertBefore(row, next);
      next = row;
    }
  }

  // On a long film the list is long (a flag or an error in most captions), and a split, merge or undo renumbers
  // the items after it: rewriting a thousand of them costs about 40 ms of layout (#20). While the section is
  // off screen and the focus elsewhere, the list waits for an idle moment (at most a second), so that the edit
  // is not slowed by a list nobody is looking at; it is brought up to date as soon as the section is in view
  // or focused. The sentence above it, which the Approve button refers to, is always current.
  const section = $("decide");
  let onScreen = true; // until the observer says otherwise
  let waiting = null; // the items the list is to show, not shown yet
  let idle = 0;
  const later = window.requestIdleCallback?.bind(window) ?? ((run) => setTimeout(run, 200));
  const unlater = window.cancelIdleCallback?.bind(window) ?? clearTimeout;

  function showItems(items) {
    if (onScreen || section.contains(document.activeElement)) {
      waiting = null;
      renderItems(items);
      return;
    }
    waiting = items;
    if (!idle) idle = later(flushItems, {timeout: 1000});
  }

  function flushItems() {
    if (idle) unlater(idle);
    idle = 0;
    const items = waiting;
    waiting = null;
    if (items) renderItems(items);
  }

  new IntersectionObserver((entries) => {
    onScreen = entries[entries.length - 1].isIntersecting;
    if (onScreen) flushItems();
  }).observe(section);
  section.addEventListener("focusin", flushItems);

  function render(state) {
    const items = shown || openItems(state.cues, state.flags, state.problems);
    const summary = itemsText(items);
    const said = state.cues.length === 0
      ? "No captions to approve: under “No speech”, decide that there is nothing to caption, or add captions "
        + "for the music and sounds."
      : items.length ? `Approving now would leave ${summary}. Check each one (the links go to its caption), or `
        + "give a reason to approve anyway."
        : "Nothing is left to check: every flagged word is checked or corrected and there are no errors.";
    if ($("open-items-text").textContent !== said) $("open-items-text").textContent = said;
    showItems(items);
    $("override").hidden = items.length === 0;
    const decided = Boolean(state.decision?.no_speech_decided_by); // no_speech alone: captions without a cue
    $("no-speech-box").hidden = state.cues.length > 0 && !decided;
    $("no-speech-decided").textContent = decided ? `Decided by ${state.decision.no_speech_decided_by}: no speech, `
      + `nothing to caption (${state.decision.no_speech_reason})` : "";
    $("no-speech-form").hidden = Boolean(decided) || state.cues.length > 0;
  }

  // After a change of the cues, flags, problems or states (`before`: the state before it). An edit that sent
  // approved captions back to review says so where the reviewer decides.
  function changed(state, before = state) {
    shown = null;
    render(state);
    if (before.assetState === "approved" && state.assetState !== "approved") {
      $("decide-status").textContent = "Your change sent the captions back to review: approve them again when ready.";
    }
  }

  $("open-items-list").addEventListener("click", (event) => {
    const link = event.target.closest("a");
    if (!link) return;
    event.preventDefault();
    goToCue(Number(link.dataset.cue), link.dataset.flag || null);
  });

  $("approve").addEventListener("click", async () => {
    const name = saving.reviewer();
    if (!name || !(await saving.flush())) return;
    const reason = $("override-reason").value.trim();
    const answer = await gate.approve(name, editor.state.base, reason);
    if (answer.ok) {
      shown = null;
      editor.update({assetState: answer.body.state || "approved"});
      // As the share page says it: "Approved with N unchecked items: reason".
      const open = openItems(editor.state.cues, editor.state.flags, editor.state.problems).length;
      say(`Approved by ${name}${reason && open ? ` with ${plural(open, "unchecked item", "unchecked items")}: `
          + reason : ""}. Publish with: pipeline publish ${assetId}`);
      return;
    }
    if (answer.status === 422 && Array.isArray(answer.body.open_items)) {
      shown = answer.body.open_items.map((i) => ({...i, key: i.key ?? null}));
      render(editor.state);
    }
    say(`Not approved: ${detail(answer)}`);
    if (answer.status === 422) { $("override").hidden = false; $("override-reason").focus(); }
  });

  $("no-speech").addEventListener("click", async () => {
    const name = saving.reviewer();
    const reason = $("no-speech-reason").value.trim();
    if (!name) return;
    if (!reason) {
      say("Say why nothing needs captioning first (music and sounds may need captions)");
      $("no-speech-reason").focus();
      return;
    }
    const answer = await gate.noSpeech(name, reason);
    if (!answer.ok) { say(`Not decided: ${detail(answer)}`); return; }
    const decision = {no_speech: true, no_speech_decided_by: name, no_speech_reason: reason};
    editor.update({decision, assetState: answer.body.asset_state || answer.body.state || editor.state.assetState});
    say(`Decided by ${name}: no speech, nothing to caption. Publish with: pipeline publish ${assetId}`);
    $("no-speech-decided").focus();
  });

  // Alt+A: to the decision, with what it would leave unchecked said.
  function goTo() {
    const {state} = editor;
    if (state.cues.length === 0 && !state.decision?.no_speech_decided_by) {
      $("no-speech-reason").focus();
      say("No captions: decide that there is no speech to caption, or add captions for the music and sounds");
      return;
    }
    $("approve").focus();
    const items = shown || openItems(state.cues, state.flags, state.problems);
    say(items.length ? `Approve: ${itemsText(items)} open; give a reason to approve anyway, or Shift+Tab to the `
      + "list of them" : "Approve: nothing left to check; press Enter to approve");
  }

  return {render, changed, goTo};
}
