// Caption times in the editor's fields: integer milliseconds (as the server stores them) shown as m:ss.mmm.

export function formatTime(ms) {
  const minutes = Math.floor(ms / 60000);
  const seconds = ((ms % 60000) / 1000).toFixed(3).padStart(6, "0");
  return `${minutes}:${seconds}`;
}

// "1:04.250", "64.25" or "64" -> 64250; anything else -> null.
export function parseTime(text) {
  const match = /^\s*(?:(\d+):)?(\d+(?:\.\d{1,3})?)\s*$/.exec(text);
  if (!match) return null;
  return Math.round((Number(match[1] || 0) * 60 + Number(match[2])) * 1000);
}

// A cue's time span in words: "0:04.160 to 0:08.280".
export const formatSpan = (cue) => `${formatTime(cue.start_ms)} to ${formatTime(cue.end_ms)}`;
