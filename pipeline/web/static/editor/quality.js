// The caption quality rules of `pipeline captions check` (pipeline/captions/quality.py `check`), applied in the
// editor to the cues being edited. (Flagged words and their states come from the server: flags.js.)
// The numbers are data: `rules` is the server's quality.Rules (dataclasses.asdict), sent in the page's
// editor-data. Only the logic is repeated here, rule for rule, with Python's string lengths, whitespace and
// rounding, so that both report the same violations (tests/test_editor_modules.py compares them).

// Python's str.isspace() characters, for str.split() and str.strip(); JavaScript's \s differs in a few.
const SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const SPACES = new RegExp(`[${SPACE}]+`, "u");
const NOT_SPACE = new RegExp(`[^${SPACE}]`, "u");

// len() of a Python str: code points, not UTF-16 units.
const length = (text) => [...text].length;
const pyWords = (text) => text.split(SPACES).filter(Boolean);
const lines = (cue) => cue.text.split("\n");

// Python's round(value, 2): the nearest of the decimals, and a tie (possible only for an odd multiple of 1/8) to
// the even one. toFixed rounds the double's exact value too, but a tie upwards.
export function pyRound(value) {
  if (Number.isInteger(value * 8) && !Number.isInteger(value * 4)) {
    const down = Math.floor(value * 100);
    return (down % 2 === 0 ? down : down + 1) / 100;
  }
  return Number(value.toFixed(2));
}

export function readingSpeed(cue) {
  const seconds = Math.max(cue.end_ms - cue.start_ms, 1) / 1000;
  return length(lines(cue).join(" ")) / seconds;
}

const violation = (index, cue, rule, level, value, limit, message) => (
  {cue: index, start_ms: cue.start_ms, rule, level, value, limit, message});

// quality._cue_violations: `index` is 1-based.
export function cueViolations(index, cue, rules) {
  const found = [];
  const add = (rule, level, value, limit, message) => {
    found.push(violation(index, cue, rule, level, pyRound(value), limit, message));
  };
  if (!NOT_SPACE.test(cue.text)) add("empty", "error", 0, 1, "cue has no text");
  const longest = Math.max(0, ...lines(cue).map(length));
  if (longest > rules.error_chars_per_line) {
    add("chars_per_line", "error", longest, rules.error_chars_per_line, "line too long");
  } else if (longest > rules.chars_per_line) {
    add("chars_per_line", "warning", longest, rules.chars_per_line, "line longer than the target");
  }
  if (lines(cue).length > rules.max_lines) add("lines", "error", lines(cue).length, rules.max_lines, "too many lines");
  const cps = readingSpeed(cue);
  if (cps > rules.error_cps) add("reading_speed", "error", cps, rules.error_cps, "too fast to read");
  else if (cps > rules.warn_cps) add("reading_speed", "warning", cps, rules.warn_cps, "fast to read");
  const duration = cue.end_ms - cue.start_ms;
  if (duration < rules.error_min_ms) {
    add("duration", "error", duration, rules.error_min_ms, "on screen too briefly (ms)");
  } else if (duration < rules.warn_min_ms) {
    add("duration", "warning", duration, rules.warn_min_ms, "on screen briefly (ms)");
  }
  if (duration > rules.error_max_ms) add("duration", "error", duration, rules.error_max_ms, "on screen too long (ms)");
  else if (duration > rules.warn_max_ms) add("duration", "warning", duration, rules.warn_max_ms, "on screen long (ms)");
  const needed = pyWords(cue.text).length * rules.ms_per_word;
  if (rules.ms_per_word && duration < needed && duration >= rules.error_min_ms) {
    // The message is quality.py's, word for word (it names 0.3 s whatever ms_per_word is).
    add("time_per_word", "warning", duration, needed, "less than 0.3 s per word (ms)");
  }
  return found;
}

// The order and overlap rules of quality.check, between cue `index` (1-based) and the one before it.
export function neighbourViolations(index, cue, previous) {
  if (!previous) return [];
  if (cue.start_ms < previous.start_ms) {
    return [violation(index, cue, "order", "error", cue.start_ms, previous.start_ms,
                      "starts before the cue before it")];
  }
  if (cue.start_ms < previous.end_ms) {
    return [violation(index, cue, "overlap", "error", previous.end_ms - cue.start_ms, 0,
                      "overlaps the cue before it (ms)")];
  }
  return [];
}

// Every violation of the cue at list position `i` (0-based), as quality.check lists them for it.
export function violationsAt(cues, i, rules) {
  return [...neighbourViolations(i + 1, cues[i], cues[i - 1]), ...cueViolations(i + 1, cues[i], rules)];
}

// quality.check: every violation, in cue order.
export function check(cues, rules) {
  return cues.flatMap((_, i) => violationsAt(cues, i, rules));
}

const worst = (found) => (found.some((v) => v.level === "error") ? "error" : found.length ? "warning" : "ok");

// The figures shown on each caption: reading speed, line length, duration, each with the level of its rules'
// violations ("ok", "warning" or "error") and the limit it is held to.
// `spoken` is the figure as a sentence for a screen reader, saying which limit it is over (issue #15).
export function figures(cue, rules, found = cueViolations(1, cue, rules)) {
  const of = (...names) => worst(found.filter((v) => names.includes(v.rule)));
  const duration = cue.end_ms - cue.start_ms;
  const cps = readingSpeed(cue).toFixed(1);
  const longest = Math.max(0, ...lines(cue).map(length));
  return [
    {name: "cps", label: `${cps} characters/s`, level: of("reading_speed"), limit: `target at most ${rules.warn_cps}`,
     spoken: spokenFigure(`reading speed ${cps} characters a second`, found, ["reading_speed"], rules.warn_cps)},
    {name: "cpl", label: `${longest} characters/line`, level: of("chars_per_line", "lines"),
     limit: `at most ${rules.chars_per_line}`,
     spoken: spokenFigure(`longest line ${longest} characters`, found, ["chars_per_line", "lines"],
                          rules.chars_per_line)},
    {name: "duration", label: `${(duration / 1000).toFixed(1)} s`, level: of("duration"),
     limit: `${rules.warn_min_ms / 1000}–${rules.warn_max_ms / 1000} s`,
     spoken: spokenFigure(`on screen ${(duration / 1000).toFixed(1)} seconds`, found, ["duration"],
                          `${rules.warn_min_ms / 1000} to ${rules.warn_max_ms / 1000} seconds`)},
  ];
}

// "reading speed 18.3 characters a second, over the limit of 17": the worst violation of `names` in words, with
// the limit it broke (an error's hard limit, a warning's target); within it, the target.
function spokenFigure(what, found, names, target) {
  const mine = found.filter((v) => names.includes(v.rule));
  const v = mine.find((x) => x.level === "error") || mine[0];
  if (!v) return `${what}, within the target of ${target}`;
  const kind = v.level === "error" ? "limit" : "target";
  const limit = v.limit / (v.rule === "duration" ? 1000 : 1);
  if (v.rule === "lines") return `${what}, ${v.value} lines, over the limit of ${v.limit} lines`;
  if (v.rule === "duration" && v.value < v.limit) return `${what}, under the ${kind} of ${limit} seconds`;
  return `${what}, over the ${kind} of ${limit}${v.rule === "duration" ? " seconds" : ""}`;
}
