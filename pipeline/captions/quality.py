"""Caption quality rules: the numbers of docs/caption-style.md, as presets, checked cue by cue.

A warning is for the reviewer's attention; an error blocks approval unless the reviewer overrides it with a
reason, which is recorded. The review editor and `pipeline captions check` use these same rules.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from pipeline.models import Cue


class Level(enum.StrEnum):
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Rules:
    chars_per_line: int  # target; longer lines are errors only past error_chars_per_line
    error_chars_per_line: int
    max_lines: int
    target_cps: float  # reading speed: visible characters, spaces included, per second
    warn_cps: float
    error_cps: float
    warn_min_ms: int
    error_min_ms: int
    warn_max_ms: int
    error_max_ms: int
    ms_per_word: int  # a cue should stay up at least this long per word


# children: the default, for a mixed audience with young readers; bbc and netflix: their published numbers.
PRESETS: dict[str, Rules] = {
    "children": Rules(37, 42, 2, 13.0, 15.0, 17.0, 1500, 1000, 6000, 7000, 300),
    "bbc": Rules(37, 42, 2, 15.0, 17.0, 20.0, 1500, 1000, 6000, 7000, 300),
    "netflix": Rules(42, 42, 2, 17.0, 20.0, 22.0, 833, 833, 7000, 7000, 0),
}


@dataclass(frozen=True)
class Violation:
    cue: int  # 1-based position
    start_ms: int
    rule: str
    level: Level
    value: float
    limit: float
    message: str


def rules_for(preset: str, chars_per_line: int | None = None, max_lines: int | None = None,
              portrait: bool = False) -> Rules:
    """A preset, with the configured line length and count; portrait video gets BBC's narrow 25 characters."""
    rules = PRESETS[preset]
    if chars_per_line is not None:
        rules = replace(rules, chars_per_line=chars_per_line,
                        error_chars_per_line=max(rules.error_chars_per_line, chars_per_line))
    if max_lines is not None:
        rules = replace(rules, max_lines=max_lines)
    if portrait:
        rules = replace(rules, chars_per_line=min(rules.chars_per_line, 25),
                        max_lines=max(rules.max_lines, 3))
    return rules


def reading_speed(cue: Cue) -> float:
    seconds = max(cue.end_ms - cue.start_ms, 1) / 1000
    return len(" ".join(cue.lines)) / seconds


def _cue_violations(index: int, cue: Cue, rules: Rules) -> list[Violation]:
    found: list[Violation] = []

    def add(rule: str, level: Level, value: float, limit: float, message: str) -> None:
        found.append(Violation(index, cue.start_ms, rule, level, round(value, 2), limit, message))

    if not cue.text.strip():
        add("empty", Level.ERROR, 0, 1, "cue has no text")
    longest = max((len(line) for line in cue.lines), default=0)
    if longest > rules.error_chars_per_line:
        add("chars_per_line", Level.ERROR, longest, rules.error_chars_per_line, "line too long")
    elif longest > rules.chars_per_line:
        add("chars_per_line", Level.WARNING, longest, rules.chars_per_line, "line longer than the target")
    if len(cue.lines) > rules.max_lines:
        add("lines", Level.ERROR, len(cue.lines), rules.max_lines, "too many lines")
    cps = reading_speed(cue)
    if cps > rules.error_cps:
        add("reading_speed", Level.ERROR, cps, rules.error_cps, "too fast to read")
    elif cps > rules.warn_cps:
        add("reading_speed", Level.WARNING, cps, rules.warn_cps, "fast to read")
    duration = cue.end_ms - cue.start_ms
    if duration < rules.error_min_ms:
        add("duration", Level.ERROR, duration, rules.error_min_ms, "on screen too briefly (ms)")
    elif duration < rules.warn_min_ms:
        add("duration", Level.WARNING, duration, rules.warn_min_ms, "on screen briefly (ms)")
    if duration > rules.error_max_ms:
        add("duration", Level.ERROR, duration, rules.error_max_ms, "on screen too long (ms)")
    elif duration > rules.warn_max_ms:
        add("duration", Level.WARNING, duration, rules.warn_max_ms, "on screen long (ms)")
    words = len(cue.text.split())
    if rules.ms_per_word and duration < words * rules.ms_per_word and duration >= rules.error_min_ms:
        add("time_per_word", Level.WARNING, duration, words * rules.ms_per_word,
            "less than 0.3 s per word (ms)")
    return found


def check(cues: list[Cue], rules: Rules) -> list[Violation]:
    """Every violation, in cue order."""
    found: list[Violation] = []
    for index, cue in enumerate(cues, start=1):
        if index > 1:
            previous = cues[index - 2]
            if cue.start_ms < previous.start_ms:
                found.append(Violation(index, cue.start_ms, "order", Level.ERROR, cue.start_ms,
                                       previous.start_ms, "starts before the cue before it"))
            elif cue.start_ms < previous.end_ms:
                found.append(Violation(index, cue.start_ms, "overlap", Level.ERROR, previous.end_ms - cue.start_ms,
                                       0, "overlaps the cue before it (ms)"))
        found.extend(_cue_violations(index, cue, rules))
    return found


def errors(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.level is Level.ERROR]
