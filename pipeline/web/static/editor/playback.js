// Uncertainty-slowed playback (issue #15; eyes-free review study, arXiv 2410.20564): with the option on,
// playback slows to 0.75x from a little before each open flagged word to a little after it, so that a listening
// reviewer catches more. Off by default. Pure: whether a time is near an open flag.

export const SLOW_RATE = 0.75;
const BEFORE_MS = 600; // slow down this long before the word, so that its start is heard slowly too
const AFTER_MS = 400;

export function nearOpenFlag(nowMs, flags) {
  return flags.some((f) => f.state === "open" && f.start_ms - BEFORE_MS <= nowMs && nowMs <= f.end_ms + AFTER_MS);
}
