"""Word timestamps -> caption cues laid out as caption standards ask (see docs/caption-style.md).

Hard breaks come first: a sentence end or a pause of `pause_break_ms` always ends a cue. Between hard breaks,
cue boundaries and the line break inside each cue are chosen by minimising a cost over all candidates
(dynamic programming), not by greedy filling: splitting an article from its noun, a preposition from its
object, a pronoun or auxiliary from its verb, or a first name from a last name costs extra; so do unbalanced
lines and cues that are nearly empty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipeline.models import Cue, Word

# Words that should not end a line or a cue: the next word belongs with them (BBC subtitle guidelines,
# "Line breaks"; DCMP Captioning Key, "Line division").
_BINDS_FORWARD = frozenset({
    "a", "an", "the", "this", "that", "these", "those", "my", "your", "his", "her", "its", "our", "their",
    "to", "of", "in", "on", "at", "for", "with", "from", "by", "about", "into", "onto", "over", "under",
    "after", "before", "between", "through", "without", "i", "you", "he", "she", "we", "they", "it", "is",
    "are", "was", "were", "be", "been", "being", "am", "have", "has", "had", "do", "does", "did", "will",
    "would", "can", "could", "shall", "should", "may", "might", "must", "not", "very",
})
_SENTENCE_END = (".", "?", "!", "…")
MIN_GAP_MS = 80  # two frames at 25 fps: the gap a viewer sees as a change of caption (Netflix: 2 frames)
GAP_CLOSE_MS = 500  # shorter gaps are closed to MIN_GAP_MS so captions do not flicker


@dataclass(frozen=True)
class Layout:
    max_chars_per_line: int = 37
    max_lines: int = 2
    max_cue_ms: int = 6000
    min_cue_ms: int = 1000
    target_cue_ms: int = 1500
    pause_break_ms: int = 500
    max_end_extension_ms: int = 500
    target_cps: float = 13.0


def _bare(word: str) -> str:
    return word.strip().strip(",;:\"'()[]").lower()


def _is_name_pair(left: str, right: str) -> bool:
    return left[:1].isupper() and right[:1].isupper() and not left.endswith(_SENTENCE_END + (",",))


def break_penalty(left: str, right: str) -> float:
    """Cost of breaking a line or a cue between two words."""
    if left.rstrip().endswith(_SENTENCE_END):
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
    """The cheapest way to lay `words` out on at most max_lines lines, or None if they cannot fit."""
    tokens = [w.strip() for w in words]
    if _text_length(tokens) <= layout.max_chars_per_line:
        return [" ".join(tokens)], 0.0
    if layout.max_lines < 2:
        return None
    best: tuple[list[str], float] | None = None
    for cut in range(1, len(tokens)):
        top, bottom = " ".join(tokens[:cut]), " ".join(tokens[cut:])
        if len(top) > layout.max_chars_per_line:
            break
        rest = best_lines(tokens[cut:], Layout(layout.max_chars_per_line, layout.max_lines - 1))
        if rest is None:
            continue
        imbalance = abs(len(top) - len(bottom)) / layout.max_chars_per_line
        cost = break_penalty(tokens[cut - 1], tokens[cut]) + imbalance + rest[1]
        if best is None or cost < best[1]:
            best = ([top, *rest[0]], cost)
    return best


def _hard_groups(words: list[Word], layout: Layout) -> list[list[Word]]:
    groups: list[list[Word]] = []
    for word in words:
        if groups:
            last = groups[-1][-1]
            if last.text.rstrip().endswith(_SENTENCE_END) or word.start_ms - last.end_ms >= layout.pause_break_ms:
                groups.append([word])
                continue
            groups[-1].append(word)
        else:
            groups.append([word])
    return groups


def _cue_cost(chunk: list[Word], layout: Layout, next_word: Word | None) -> float:
    laid = best_lines([w.text for w in chunk], layout)
    duration = chunk[-1].end_ms - chunk[0].start_ms
    if laid is None or (duration > layout.max_cue_ms and len(chunk) > 1):
        return math.inf
    capacity = layout.max_chars_per_line * layout.max_lines
    emptiness = 1.0 - _text_length([w.text for w in chunk]) / capacity
    boundary = break_penalty(chunk[-1].text, next_word.text) if next_word else 0.0
    return 1.0 + emptiness**2 + laid[1] * 0.5 + boundary


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


def _timed(chunks: list[list[Word]], layout: Layout) -> list[Cue]:
    cues: list[Cue] = []
    for index, chunk in enumerate(chunks):
        start, last_end = chunk[0].start_ms, chunk[-1].end_ms
        if cues and start < cues[-1].end_ms + MIN_GAP_MS:
            start = cues[-1].end_ms + MIN_GAP_MS
        limit = chunks[index + 1][0].start_ms - MIN_GAP_MS if index + 1 < len(chunks) else None
        end = max(last_end, start + layout.min_cue_ms)
        # Held up to 0.5 s after the last word, as far as needed for the target duration and reading speed.
        wanted = max(start + layout.target_cue_ms, start + round(_text_length([w.text for w in chunk]) * 1000
                                                                  / layout.target_cps))
        end = max(end, min(wanted, last_end + layout.max_end_extension_ms))
        if limit is not None:
            if limit - end <= GAP_CLOSE_MS:
                end = limit
            end = min(end, limit)
        end = max(end, start + 1)
        cues.append(Cue(start, end, _lines(chunk, layout)))
    return cues


def segment(words: list[Word], layout: Layout) -> list[Cue]:
    """Cues for a stream of timed words, in order, never overlapping."""
    cleaned = [w for w in words if w.text.strip()]
    chunks = [chunk for group in _hard_groups(cleaned, layout) for chunk in _split_group(group, layout)]
    return _timed(chunks, layout)
