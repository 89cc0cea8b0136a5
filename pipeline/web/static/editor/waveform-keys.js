// The waveform as a keyboard control (issue #15, WCAG 2.1.1): the arrow keys move the playhead, + and - zoom,
// [ and ] set the start and end of the selected caption to the playhead, Home and End go to either end. And
// the part of the timeline a zoomed waveform shows. Pure: no DOM.

export const ZOOMS = Object.freeze([1, 2, 4, 8, 16]);
const STEP_MS = 100; // an arrow key
const BIG_STEP_MS = 1000; // with Shift, or Page Up / Page Down

// What a key on the waveform does: {move: ms} | {to: "start" | "end"} | {zoom: +1 | -1} | {set: "start_ms" |
// "end_ms"}, or null for a key it leaves alone. `key` and `shiftKey` as on a KeyboardEvent; keys with Alt or
// Ctrl are the editor's shortcuts.
export function waveKey({key, shiftKey = false, altKey = false, ctrlKey = false, metaKey = false}) {
  if (altKey || ctrlKey || metaKey) return null;
  const step = shiftKey ? BIG_STEP_MS : STEP_MS;
  switch (key) {
    case "ArrowRight": case "ArrowUp": return {move: step};
    case "ArrowLeft": case "ArrowDown": return {move: -step};
    case "PageUp": return {move: BIG_STEP_MS};
    case "PageDown": return {move: -BIG_STEP_MS};
    case "Home": return {to: "start"};
    case "End": return {to: "end"};
    case "+": case "=": return {zoom: 1};
    case "-": case "_": return {zoom: -1};
    case "[": return {set: "start_ms"};
    case "]": return {set: "end_ms"};
    default: return null;
  }
}

// The zoom level `steps` from `zoom` (1, 2, 4, 8 or 16 times), kept within ZOOMS.
export function zoomBy(zoom, steps) {
  const at = Math.max(0, ZOOMS.indexOf(zoom));
  return ZOOMS[Math.max(0, Math.min(ZOOMS.length - 1, at + steps))];
}

// The part of the timeline shown at `zoom`: {from, to} in ms, 1/zoom of `durationMs`, the playhead in the middle
// where it can be, never past either end.
export function waveWindow(durationMs, zoom, nowMs) {
  const duration = Math.max(1, durationMs);
  const span = duration / Math.max(1, zoom);
  const from = Math.min(Math.max(0, nowMs - span / 2), duration - span);
  return {from, to: from + span};
}

// The playhead after `move` ms from `nowMs`, within the recording.
export const moved = (nowMs, move, durationMs) => Math.max(0, Math.min(durationMs, nowMs + move));
