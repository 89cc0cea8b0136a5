// The keyboard: the editor's shortcuts (README, "Reviewing captions"; the help dialog lists them) and the ARIA
// toolbar pattern's roving focus (https://www.w3.org/WAI/ARIA/apg/patterns/toolbar/): one Tab stop, the
// arrow keys, Home and End move between its buttons.

export const SHORTCUTS = Object.freeze({
  "Alt+p": "play", "Alt+[": "start-now", "Alt+]": "end-now", "Alt+ArrowLeft": "start-earlier",
  "Alt+ArrowRight": "start-later", "Alt+Shift+ArrowLeft": "end-earlier", "Alt+Shift+ArrowRight": "end-later",
  "Alt+s": "split", "Alt+m": "merge", "Alt+i": "insert", "Alt+d": "delete", "Ctrl+z": "undo",
  "Ctrl+Shift+z": "redo", "Ctrl+y": "redo", "Alt+n": "next-flag", "Alt+Shift+n": "previous-flag",
  "Alt+k": "check-flag", "Alt+a": "decide", "Alt+w": "waveform", "Alt+f": "find", "Ctrl+s": "save",
  "Alt+h": "help", "F1": "help",
});

// The key pressed: with Alt, some layouts (macOS) type another character, so the physical key is taken for
// letters and brackets.
function keyOf(event) {
  const physical = {BracketLeft: "[", BracketRight: "]"}[event.code]
    || (event.altKey && event.code.startsWith("Key") ? event.code.slice(3).toLowerCase() : null);
  return physical || (event.key.length === 1 ? event.key.toLowerCase() : event.key);
}

// A key event as "Ctrl+Alt+Shift+key" (Cmd counts as Ctrl). Shift is named only with Ctrl, with Alt and a letter
// (taken from the physical key, so Shift is not in it) or with a named key: with a character it is already in
// the character.
export function comboOf(event) {
  const key = keyOf(event);
  const letter = event.altKey && event.code.startsWith("Key");
  const shift = event.shiftKey && (key.length > 1 || event.ctrlKey || event.metaKey || letter);
  return [event.ctrlKey || event.metaKey ? "Ctrl" : "", event.altKey ? "Alt" : "", shift ? "Shift" : "", key]
    .filter(Boolean).join("+");
}

// Shortcuts on `target` (the document): `run(action)` for each; Alt+Down and Alt+Up (with any other modifier)
// call `move(+1 | -1)`.
// `skip(action, event)` true leaves a key to the browser (undo inside the find fields, say).
export function installShortcuts(target, {run, move, skip = () => false}) {
  target.addEventListener("keydown", (event) => {
    const key = keyOf(event);
    if (event.altKey && (key === "ArrowDown" || key === "ArrowUp")) {
      event.preventDefault();
      move(key === "ArrowDown" ? 1 : -1);
      return;
    }
    const action = SHORTCUTS[comboOf(event)];
    if (!action || skip(action, event)) return;
    event.preventDefault();
    run(action);
  });
}

// The toolbar's buttons run their data-action; only one of them is in the Tab order at a time.
export function installToolbar(toolbar, run) {
  const tools = [...toolbar.querySelectorAll("button")];
  tools.forEach((button, i) => { button.tabIndex = i === 0 ? 0 : -1; });
  toolbar.addEventListener("click", (event) => {
    const action = event.target.closest("button")?.dataset.action;
    if (action) run(action);
  });
  toolbar.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey) return;
    const at = tools.indexOf(document.activeElement);
    const to = {ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tools.length - 1}[event.key];
    if (at === -1 || to === undefined) return;
    event.preventDefault();
    const next = tools[(to + tools.length) % tools.length];
    tools.forEach((button) => { button.tabIndex = button === next ? 0 : -1; });
    next.focus();
  });
}
