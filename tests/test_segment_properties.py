"""Drafts never break a hard limit, and never change a word, for any realistic stream of Whisper's words
(issue 18; docs/caption-style.md, preset `children`)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.captions import quality, segment
from pipeline.captions.engines import RawWord, join_words
from pipeline.models import Cue, Word

CHILDREN = quality.PRESETS["children"]
SYNC_MS = 1500  # a cue starts within 1.5 s of its speech

letters = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
# One spoken word as Whisper's tokens: the first carries a leading space; attached ones do not.
spoken = st.one_of(
    letters.map(lambda w: [" " + w]),
    letters.map(lambda w: [" " + w.capitalize()]),
    st.sampled_from(["Mr.", "Mrs.", "Dr.", "St.", "e.g.", "i.e.", "etc."]).map(lambda w: [" " + w]),
    st.tuples(letters.filter(lambda w: len(w) <= 6), letters.filter(lambda w: len(w) <= 8))
    .map(lambda p: [" " + p[0], "-" + p[1]]),  # ill -disposed
    st.tuples(letters.filter(lambda w: len(w) <= 8), st.sampled_from(["'s", "'t", "'ll", "'re"]))
    .map(lambda p: [" " + p[0], p[1]]),
    st.tuples(st.integers(0, 99), st.integers(0, 99)).map(lambda n: [f" {n[0]}", f".{n[1]:02d}"]),  # 3.50, 10.30
)
word_spec = st.tuples(spoken, st.sampled_from(["", "", "", ",", ".", "?", "!"]),
                      st.integers(min_value=0, max_value=780),  # time beyond the shortest for its letters
                      st.sampled_from([0, 0, 0, 40, 150, 300, 600, 1200, 2000]),  # the gap after it
                      st.booleans())  # a Whisper segment ends after it


def whisper_segments(spec: list[tuple[list[str], str, int, int, bool]]) -> list[list[RawWord]]:
    segments: list[list[RawWord]] = [[]]
    t = 0
    for tokens, punctuation, extra, gap, ends_segment in spec:
        tokens = [*tokens[:-1], tokens[-1] + punctuation]
        for token in tokens:
            length = max(60, min(900, 45 * len(token.strip()) + extra // len(tokens)))  # about 120-900 ms a word
            segments[-1].append((t / 1000, (t + length) / 1000, token, 0.9))
            t += length
        t += gap
        if ends_segment:
            segments.append([])
    return [s for s in segments if s]


def first_words(cues: list[Cue], words: list[Word]) -> list[Word]:
    """Each cue's first word: the cues hold the words in order, one whitespace-separated token each."""
    found, position = [], 0
    for cue in cues:
        found.append(words[position])
        position += len(cue.text.split())
    assert position == len(words)
    return found


@settings(max_examples=300, deadline=None)
@given(st.lists(word_spec, min_size=1, max_size=80))
def test_every_cue_is_within_the_hard_limits_and_keeps_every_word(
        spec: list[tuple[list[str], str, int, int, bool]]) -> None:
    segments = whisper_segments(spec)
    words = join_words(segments)
    cues = segment.segment(words, segment.Layout())
    spoken_text = "".join(text for s in segments for _start, _end, text, _p in s)
    assert "".join("".join(c.text.split()) for c in cues) == "".join(spoken_text.split())
    previous_end = 0
    for cue, first in zip(cues, first_words(cues, words), strict=True):
        assert CHILDREN.error_min_ms <= cue.end_ms - cue.start_ms <= CHILDREN.error_max_ms, cue
        assert cue.start_ms >= previous_end, cue
        assert len(cue.lines) <= CHILDREN.max_lines, cue
        assert all(len(line) <= CHILDREN.error_chars_per_line for line in cue.lines), cue
        assert abs(cue.start_ms - first.start_ms) <= SYNC_MS, (cue, first)
        assert not any(line.startswith("-") for line in cue.lines), cue  # no fragment of a hyphenated word
        previous_end = cue.end_ms
    errors = {v.rule for v in quality.errors(quality.check(cues, CHILDREN))}
    assert not errors & {"duration", "overlap", "order", "lines", "chars_per_line"}
