"""Word timestamps -> caption cues laid out as caption standards ask (see docs/caption-style.md).

Hard breaks come first: a sentence end, a pause of `pause_break_ms`, or a Whisper segment boundary before a
capitalised word (a sentence Whisper heard end without writing a full stop) always ends a cue; a title ("Mr.",
"Dr.") never ends one before the name it belongs to, and abbreviations, initials and decimals are not sentence
ends. Between hard breaks, cue boundaries and the line break inside each cue are chosen by minimising a cost over
all candidates (dynamic programming), not by greedy filling: splitting an article from its noun, a preposition
from its object, a pronoun or auxiliary from its verb, or a first name from a last name costs extra; so do
unbalanced lines and cues that are nearly empty or too short to read.

Timing then keeps every cue inside the hard limits (issue 18): at least `min_cue_ms` and at most
`hard_max_cue_ms` on screen, never overlapping, starting within `sync_ms` of its first word. A cue too short is
held into the silence after it, started early into the silence before it, or pushes the next cue a little later
(at most `max_shift_ms` where merging can avoid it); only where that cannot work is it merged with a neighbour.
Fast speech that cannot meet the reading speed borrows the gaps around it; its words are never dropped or
rewritten, and the quality check reports what is still too fast.
"""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass

from pipeline.models import Cue, Word

# Words that should not end a line or a cue: the next word belongs with them (BBC subtitle guidelines,
# "Line breaks"; DCMP Captioning Key, "Line division").
_BINDS_FORWARD = frozenset({
    "a", "an", "the", "this", "that", "these", "those", "my", "your", "his", "her", "its", "our", "their",
    "to", "of", "in", "on", "at", "for", "with", "from", "by", "about", "into", "onto", "over", "under",
    "after", "before", "between", "through", "without", "i", "you", "he", "she", "we", "they", "it", "is",
    "are", "was", "were", "be", "been", "being", "am", "have", "has", "had", "do", "does", "did", "will",
    "would", "can", "could", "shall", "should", "may", "might", "must", "not", "very", "how",
})
# Titles before a name: never a sentence end, never separated from the name (BBC: "never between first and last
# name"; Netflix: never split a name). "St." is also Saint.
TITLES = frozenset({"mr", "mrs", "ms", "mx", "miss", "dr", "st", "prof", "rev", "revd", "fr", "sr", "jr", "sir",
                    "dame", "lord", "lady", "capt", "sgt", "insp", "cllr", "hon"})
# Abbreviations that end with a full stop that is not a sentence end.
_ABBREVIATIONS = frozenset({"etc", "vs", "cf", "approx", "eg", "ie", "viz", "nb"})
_INITIALISM = re.compile(r"(?:[A-Za-z]\.){2,}|[A-Z]\.")  # e.g. i.e. a.m. U.K. and a single initial "J."
_SENTENCE_END = (".", "?", "!", "…")
_CLOSERS = "\"'”’)]"
MIN_GAP_MS = 80  # two frames at 25 fps: the gap a viewer sees as a change of caption (Netflix: 2 frames)
GAP_CLOSE_MS = 500  # shorter gaps are closed to MIN_GAP_MS so captions do not flicker


@dataclass(frozen=True)
class Layout:
    max_chars_per_line: int = 37
    max_lines: int = 2
    max_cue_ms: int = 6000  # the longest stretch of speech in one cue
    min_cue_ms: int = 1000  # the shortest time on screen: a hard limit (children: error under 1.0 s)
    target_cue_ms: int = 1500
    pause_break_ms: int = 500
    max_end_extension_ms: int = 500
    target_cps: float = 13.0
    hard_max_cue_ms: int = 7000  # the longest time on screen: a hard limit (error over 7 s)
    sync_ms: int = 1500  # a cue starts within this of its first word (BBC: within 1.5 s of the speech)
    max_shift_ms: int = 500  # how far a start moves before short cues are merged instead
    fast_extension_ms: int = 1000  # how far fast speech borrows the gaps before and after it


def _bare(word: str) -> str:
    return word.strip().strip(",;:\"'()[]").lower()


def is_title(word: str) -> bool:
    return word.strip().rstrip(".").lower() in TITLES and word.strip()[:1].isupper()


def binds_to_name(left: str, right: str) -> bool:
    """A title and the name after it: one unit that no cue or line break separates."""
    return is_title(left) and right.strip()[:1].isupper()


def is_sentence_end(word: str, next_word: str | None = None) -> bool:
    """Whether a sentence ends after `word`; abbreviations, titles, initials and decimals do not end one."""
    text = word.strip().rstrip(_CLOSERS)
    if not text.endswith(_SENTENCE_END):
        return False
    if not text.endswith(".") or text.endswith(".."):
        return True
    core = text.rstrip(".")
    if is_title(text) or core.lower() in _ABBREVIATIONS or _INITIALISM.fullmatch(text.lstrip("(\"'“‘")):
        return False
    return not (core[-1:].isdigit() and (next_word or "").strip()[:1].isdigit())  # "3." "5": a decimal


def _is_i(word: str) -> bool:
    return re.fullmatch(r"I(?:'[a-z]+)?[,.?!]?", word.strip()) is not None


def _is_name_pair(left: str, right: str) -> bool:
    return left[:1].isupper() and right[:1].isupper() and not left.endswith(_SENTENCE_END + (",",))


def break_penalty(left: str, right: str) -> float:
    """Cost of breaking a line or a cue between two words."""
    if binds_to_name(left, right):
        return 8.0
    if right.strip()[:1] == "-" and right.strip()[1:2].isalpha():  # never start a line with "-disposed"
        return 8.0
    if is_sentence_end(left, right):
        return 0.0
    if left.rstrip().endswith((",", ";", ":", "—", "-")):
        return 0.1
    if _bare(left) in _BINDS_FORWARD:
        return 3.0
    if _is_name_pair(left.strip(), right.strip()) and _bare(left) != "i":
        return 2.0
    if _bare(right) in {"and", "but", "or", "so", "because", "which", "who", "that"}:
        return 0.2
    return 1.0


def _text_length(words: list[str]) -> int:
    return len(" ".join(w.strip() for w in words))


def best_lines(words: list[str], layout: Layout) -> tuple[list[str], float] | None:
    """The cheapest way to lay `words` out on at most max_lines lines, or None if they cannot fit. The best
    layout of the words from a given one on, on a given number of lines, is worked out once (memo), so that
    long text on many lines costs polynomial time."""
    tokens = [w.strip() for w in words]
    chars = layout.max_chars_per_line
    memo: dict[tuple[int, int], tuple[list[str], float] | None] = {}

    def best(start: int, lines: int) -> tuple[list[str], float] | None:
        if (start, lines) in memo:
            return memo[start, lines]
        found: tuple[list[str], float] | None = None
        if _text_length(tokens[start:]) <= chars:
            found = ([" ".join(tokens[start:])], 0.0)
        elif lines >= 2:
            for cut in range(start + 1, len(tokens)):
                top, bottom = " ".join(tokens[start:cut]), " ".join(tokens[cut:])
                if len(top) > chars:
                    break
                rest = best(cut, lines - 1)
                if rest is None:
                    continue
                imbalance = abs(len(top) - len(bottom)) / chars
                cost = break_penalty(tokens[cut - 1], tokens[cut]) + imbalance + rest[1]
                if found is None or cost < found[1]:
                    found = ([top, *rest[0]], cost)
        memo[start, lines] = found
        return found

    return best(0, layout.max_lines)


MAX_EXTRA_LINES = 3  # text too long for the rules' lines gets up to this many more before plain wrapping


def layout(text: str, rules: Layout) -> str:
    """`text` with its line breaks chosen as drafts choose them (best_lines, the same cost function), under
    `rules`' line length and count: what the editor asks for after a split, a merge or typing (#15). Text too
    long for the lines it may have gets more lines rather than overlong ones, for the quality check to report."""
    words = text.split()
    if not words:
        return ""
    for lines in range(rules.max_lines, min(rules.max_lines + MAX_EXTRA_LINES, len(words)) + 1):
        laid = best_lines(words, Layout(rules.max_chars_per_line, lines))
        if laid is not None:
            return "\n".join(laid[0])
    return "\n".join(textwrap.wrap(" ".join(words), rules.max_chars_per_line, break_long_words=False,
                                   break_on_hyphens=False))


def hard_break(last: Word, word: Word, layout: Layout) -> bool:
    """Whether a cue must end between `last` and `word`."""
    if binds_to_name(last.text, word.text):
        return False
    if is_sentence_end(last.text, word.text) or word.start_ms - last.end_ms >= layout.pause_break_ms:
        return True
    # "... judging If ...": Whisper ended a segment and began a sentence without writing a full stop.
    return word.starts_segment and word.text.strip()[:1].isupper() and not _is_i(word.text)


def _hard_groups(words: list[Word], layout: Layout) -> list[list[Word]]:
    groups: list[list[Word]] = []
    for word in words:
        if groups and not hard_break(groups[-1][-1], word, layout):
            groups[-1].append(word)
        else:
            groups.append([word])
    return groups


def _span_limit(layout: Layout) -> int:
    return min(layout.max_cue_ms, layout.hard_max_cue_ms)


def _cue_cost(chunk: list[Word], layout: Layout, next_word: Word | None) -> float:
    laid = best_lines([w.text for w in chunk], layout)
    duration = chunk[-1].end_ms - chunk[0].start_ms
    if laid is None or (duration > _span_limit(layout) and len(chunk) > 1):
        return math.inf
    if next_word is not None and binds_to_name(chunk[-1].text, next_word.text):
        return math.inf
    capacity = layout.max_chars_per_line * layout.max_lines
    emptiness = 1.0 - _text_length([w.text for w in chunk]) / capacity
    brief = max(0, layout.min_cue_ms - duration) / layout.min_cue_ms  # will need holding or merging
    boundary = break_penalty(chunk[-1].text, next_word.text) if next_word else 0.0
    if next_word is not None and next_word.starts_segment:  # Whisper heard a phrase end there
        boundary = min(boundary, 0.2)
    return 1.0 + emptiness**2 + laid[1] * 0.5 + boundary + brief


def _split_group(group: list[Word], layout: Layout) -> list[list[Word]]:
    n = len(group)
    best = [0.0] + [math.inf] * n
    back = [0] * (n + 1)
    for end in range(1, n + 1):
        for start in range(end - 1, -1, -1):
            if _text_length([w.text for w in group[start:end]]) > layout.max_chars_per_line * layout.max_lines:
                break
            nxt = group[end] if end < n else None
            cost = best[start] + _cue_cost(group[start:end], layout, nxt)
            if cost < best[end]:
                best[end], back[end] = cost, start
        if best[end] == math.inf:  # a single word longer than a cue: it gets a cue of its own
            best[end], back[end] = best[end - 1] + 10.0, end - 1
    chunks: list[list[Word]] = []
    end = n
    while end > 0:
        chunks.append(group[back[end]:end])
        end = back[end]
    return chunks[::-1]


def _lines(chunk: list[Word], layout: Layout) -> str:
    laid = best_lines([w.text for w in chunk], layout)
    return "\n".join(laid[0]) if laid else " ".join(w.text.strip() for w in chunk)


# -- timing ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Windows:
    """For each cue, the earliest and latest start that leaves every cue after it its minimum time."""

    low: list[int]  # the sync limit before the first word (never before 0)
    latest: list[int]


def _windows(chunks: list[list[Word]], layout: Layout, tolerance: int, relax: bool) -> _Windows | int:
    """The start windows, or the index of the first cue that cannot start in time (when not `relax`)."""
    step = layout.min_cue_ms + MIN_GAP_MS
    low = [max(0, c[0].start_ms - tolerance) for c in chunks]
    high = [c[0].start_ms + tolerance for c in chunks]
    earliest: list[int] = []
    for index, lowest in enumerate(low):
        first = lowest if index == 0 else max(lowest, earliest[-1] + step)
        if first > high[index]:
            if not relax:
                return index
            high[index] = first  # speech too dense for any layout: this cue starts late
        earliest.append(first)
    latest = high[:]
    for index in range(len(latest) - 2, -1, -1):
        latest[index] = min(latest[index], latest[index + 1] - step)
    return _Windows(low, latest)


def _mergeable(left: list[Word], right: list[Word], layout: Layout, span_limit: int) -> bool:
    both = left + right
    return (both[-1].end_ms - both[0].start_ms <= span_limit
            and best_lines([w.text for w in both], layout) is not None)


def _merge_before(chunks: list[list[Word]], stuck: int, layout: Layout,
                  span_limit: int) -> list[list[Word]] | None:
    """`chunks` with the cheapest mergeable pair among the cues crowding cue `stuck` merged, or None."""
    best: tuple[float, int] | None = None
    for index in range(stuck - 1, max(-1, stuck - 9), -1):  # a crowd longer than 8 cues drifts past 1.5 s anyway
        left, right = chunks[index], chunks[index + 1]
        if right[0].start_ms - left[-1].end_ms > layout.sync_ms + layout.min_cue_ms:
            break  # cues before a long silence do not crowd this one
        if _mergeable(left, right, layout, span_limit):
            sentence = is_sentence_end(left[-1].text, right[0].text)
            length = _text_length([w.text for w in left + right]) / (layout.max_chars_per_line * layout.max_lines)
            cost = (1.0 if sentence else 0.0) + length + 0.1 * (stuck - index)
            if best is None or cost < best[0]:
                best = (cost, index)
    if best is None:
        return None
    index = best[1]
    return [*chunks[:index], chunks[index] + chunks[index + 1], *chunks[index + 2:]]


def _fit(chunks: list[list[Word]], layout: Layout) -> tuple[list[list[Word]], _Windows]:
    """Merge cues until every cue can start in time: first within max_shift_ms, then within sync_ms."""
    stages = [(layout.max_shift_ms, _span_limit(layout)), (layout.sync_ms, _span_limit(layout)),
              (layout.sync_ms, layout.hard_max_cue_ms)]
    for tolerance, span_limit in stages:
        while True:
            found = _windows(chunks, layout, tolerance, relax=False)
            if isinstance(found, _Windows):
                return chunks, found
            merged = _merge_before(chunks, found, layout, span_limit)
            if merged is None:
                break
            chunks = merged
    relaxed = _windows(chunks, layout, layout.sync_ms, relax=True)
    assert isinstance(relaxed, _Windows)
    return chunks, relaxed


def _timed(chunks: list[list[Word]], windows: _Windows, layout: Layout) -> list[Cue]:
    cues: list[Cue] = []
    for index, chunk in enumerate(chunks):
        first, last = chunk[0].start_ms, chunk[-1].end_ms
        floor = windows.low[index] if not cues else max(windows.low[index], cues[-1].end_ms + MIN_GAP_MS)
        start = min(max(first, floor), windows.latest[index])
        following = index + 1 < len(chunks)
        # Up to `free` the next cue need not move; past `ceiling` it could not start in time.
        free = chunks[index + 1][0].start_ms - MIN_GAP_MS if following else last + layout.fast_extension_ms
        ceiling = windows.latest[index + 1] - MIN_GAP_MS if following else start + layout.hard_max_cue_ms
        if start + layout.min_cue_ms > free:  # too short before the next cue: start early into any silence
            start = min(start, max(free - layout.min_cue_ms, floor, first - layout.max_shift_ms))
        length = _text_length([w.text for w in chunk])
        readable = start + math.ceil(length * 1000 / layout.target_cps)
        # Held up to 0.5 s after the last word, as far as needed for the target duration and reading speed.
        end = max(last, min(max(start + layout.target_cue_ms, readable), last + layout.max_end_extension_ms))
        if readable > end:  # fast speech: borrow the gaps after and before it, within the sync limits
            end = max(end, min(readable, last + layout.fast_extension_ms, free))
            start = min(start, max(floor, first - layout.fast_extension_ms, start - (readable - end)))
        if following and end < free and free - end <= GAP_CLOSE_MS:
            end = free
        if end > free:  # the next cue moves only for this cue's minimum time
            end = max(free, start + layout.min_cue_ms)
        end = min(max(end, start + layout.min_cue_ms), ceiling, start + layout.hard_max_cue_ms)
        cues.append(Cue(start, end, _lines(chunk, layout)))
    return cues


def segment(words: list[Word], layout: Layout) -> list[Cue]:
    """Cues for a stream of timed words, in order, never overlapping."""
    cleaned = [w for w in words if w.text.strip()]
    if not cleaned:
        return []
    chunks = [chunk for group in _hard_groups(cleaned, layout) for chunk in _split_group(group, layout)]
    chunks, windows = _fit(chunks, layout)
    return _timed(chunks, windows, layout)
