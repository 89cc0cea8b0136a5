// The waveform under the video, drawn in layers (#20): the peaks and the cue regions are each drawn once per
// zoom level onto a canvas as wide as the whole timeline at that zoom, and every frame copies the part shown
// (waveform-keys.js waveWindow) and draws the selected caption and the playhead over it. A keystroke or a
// frame of playback then costs a few copies, not a rectangle per peak and per cue (a film: 300,000 peaks).

import {waveWindow} from "./waveform-keys.js";

const BACKGROUND = "#f4f4f4";
const REGION = "rgba(29, 112, 184, 0.15)";
const SELECTED = "rgba(29, 112, 184, 0.24)"; // over REGION: about the 0.35 the selected caption had on its own
const PEAK = "#2b2b2b";
const PLAYHEAD = "#d4351c";

// Same number of cues with the same times: the regions drawn for `a` are those of `b`.
function sameTimes(a, b) {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && (a[i].start_ms !== b[i].start_ms || a[i].end_ms !== b[i].end_ms)) return false;
  }
  return true;
}

function layer(width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

// The loudest peak of each column, as bars, over the whole timeline `width` columns wide.
function peaksLayer(peaks, durationMs, width, height) {
  const canvas = layer(width, height);
  const context = canvas.getContext("2d");
  context.fillStyle = PEAK;
  const values = peaks.peaks;
  const perColumn = (durationMs / width) * (peaks.peaks_per_second / 1000); // peaks per column
  for (let column = 0; column < width; column++) {
    const first = Math.floor(column * perColumn);
    const last = Math.min(values.length, Math.max(first + 1, Math.floor((column + 1) * perColumn)));
    let level = -1;
    for (let i = first; i < last; i++) if (values[i] > level) level = values[i];
    if (level < 0) continue;
    const h = Math.max(1, (level / 100) * height);
    context.fillRect(column, (height - h) / 2, 1, h);
  }
  return canvas;
}

function regionsLayer(cues, durationMs, width, height) {
  const canvas = layer(width, height);
  const context = canvas.getContext("2d");
  context.fillStyle = REGION;
  const x = (ms) => (ms / durationMs) * width;
  for (const cue of cues) context.fillRect(x(cue.start_ms), 0, Math.max(1, x(cue.end_ms) - x(cue.start_ms)), height);
  return canvas;
}

export function createWaveform(canvas, durationMs) {
  const duration = Math.max(1, durationMs || 1);
  const context = canvas.getContext("2d");
  let peaksCache = null; // {peaks, zoom, canvas}
  let regionsCache = null; // {cues, zoom, canvas}

  // The part of the timeline `zoom` shows around `nowMs`: the cues' regions, `selected` (a list position)
  // darker, the peaks and the playhead.
  function draw(cues, selected, nowMs, peaks, zoom = 1) {
    const {width, height} = canvas;
    const full = Math.round(width * zoom);
    if (!peaksCache || peaksCache.peaks !== peaks || peaksCache.zoom !== zoom || peaksCache.height !== height) {
      peaksCache = {peaks, zoom, height, canvas: peaksLayer(peaks, duration, full, height)};
    }
    if (!regionsCache || regionsCache.zoom !== zoom || regionsCache.height !== height
        || !sameTimes(regionsCache.cues, cues)) {
      regionsCache = {cues, zoom, height, canvas: regionsLayer(cues, duration, full, height)};
    }
    regionsCache.cues = cues;
    const {from, to} = waveWindow(duration, zoom, nowMs);
    const x = (ms) => ((ms - from) / (to - from)) * width;
    const left = Math.round((from / duration) * full); // whole pixels: a copy, not a resampling
    context.fillStyle = BACKGROUND;
    context.fillRect(0, 0, width, height);
    context.drawImage(regionsCache.canvas, left, 0, width, height, 0, 0, width, height);
    const cue = cues[selected];
    if (cue && cue.end_ms > from && cue.start_ms < to) {
      context.fillStyle = SELECTED;
      context.fillRect(x(cue.start_ms), 0, Math.max(1, x(cue.end_ms) - x(cue.start_ms)), height);
    }
    context.drawImage(peaksCache.canvas, left, 0, width, height, 0, 0, width, height);
    context.fillStyle = PLAYHEAD;
    context.fillRect(x(nowMs), 0, 2, height);
  }

  return {draw};
}
