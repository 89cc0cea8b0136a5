// The player's keyboard and pace (issue #15): the waveform as a slider (waveform-keys.js: arrows move the
// playhead, + and - zoom, [ and ] set the selected caption's start and end), a click on it seeks within the part
// shown, and the option that slows playback around open flagged words (playback.js). The zoom is editor state,
// changed through `editor.update`.

import {nearOpenFlag, SLOW_RATE} from "./playback.js";
import {moved, waveKey, waveWindow, zoomBy} from "./waveform-keys.js";

// `setNow(field)`: set the selected caption's start_ms or end_ms to the playhead (main.js, announced there).
export function installPlayer(editor, {video, durationMs, nowMs, setNow}) {
  const $ = (id) => document.getElementById(id);
  // To the millisecond ([ and ] set times from it), drawn at once rather than when the video has seeked.
  const seekTo = (ms) => {
    if (!video) return;
    video.currentTime = ms / 1000;
    editor.update({});
  };
  const canvas = $("waveform");
  const announce = (message) => editor.view.announce(message);
  let normalRate = null; // the rate playback had before it was slowed; null while not slowed

  canvas.addEventListener("keydown", (event) => {
    const does = waveKey(event);
    if (!does) return;
    event.preventDefault();
    if ("move" in does) seekTo(moved(nowMs(), does.move, durationMs));
    else if ("to" in does) seekTo(does.to === "start" ? 0 : Math.max(0, durationMs - 1));
    else if ("set" in does) setNow(does.set);
    else {
      const zoom = zoomBy(editor.state.zoom, does.zoom);
      editor.update({zoom});
      announce(`Waveform zoom ${zoom} times`);
    }
  });
  canvas.addEventListener("click", (event) => {
    const box = canvas.getBoundingClientRect();
    const {from, to} = waveWindow(durationMs || 1, editor.state.zoom, nowMs());
    seekTo(from + ((event.clientX - box.left) / box.width) * (to - from));
  });

  // With the option on, 0.75x near an open flag and the reviewer's own rate elsewhere.
  function pace() {
    if (!video) return;
    const slow = $("slow-flags").checked && !video.paused && nearOpenFlag(nowMs(), editor.state.flags);
    if (slow && normalRate === null) {
      normalRate = video.playbackRate;
      video.playbackRate = SLOW_RATE;
    } else if (!slow && normalRate !== null) {
      video.playbackRate = normalRate;
      normalRate = null;
    }
  }
  function frame() {
    pace();
    if (video && !video.paused) requestAnimationFrame(frame);
  }
  if (video) {
    video.addEventListener("play", () => requestAnimationFrame(frame));
    video.addEventListener("pause", pace);
  }
  $("slow-flags").checked = localStorage.getItem("slow-flags") === "1";
  $("slow-flags").addEventListener("change", (event) => {
    localStorage.setItem("slow-flags", event.target.checked ? "1" : "0");
    pace();
  });
  return {focus: () => canvas.focus()};
}
