"""Guards flag, never drop."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.captions import guards, quality, segment
from pipeline.models import Word


def stream(text: str, probabilities: dict[int, float] | None = None) -> list[Word]:
    return [Word(i * 400, i * 400 + 300, token, (probabilities or {}).get(i, 0.95))
            for i, token in enumerate(text.split())]


def flags_of(words: list[Word], glossary: tuple[str, ...] = ()) -> list[tuple[str, tuple[str, ...]]]:
    return [(f.word.text, tuple(flag.value for flag in f.flags))
            for f in guards.flag_words(words, glossary) if f.flags]


def test_each_guard_flags_and_keeps_every_word() -> None:
    words = stream("Call Childline on 0800 1111 . thank you thank you thank you thank you . "
                   "Thanks for watching! Subtitles by the Amara.org community in Barnett", {2: 0.2})
    flagged = guards.flag_words(words, ("Barnet", "NSPCC"))
    assert [f.word for f in flagged] == words  # nothing dropped, nothing changed
    assert flags_of(words, ("Barnet", "NSPCC")) == [
        ("Childline", ("helpline",)),
        ("on", ("low_confidence",)),
        ("0800", ("phone_number",)),
        ("1111", ("phone_number",)),
        ("thank", ("repeated",)), ("you", ("repeated",)), ("thank", ("repeated",)), ("you", ("repeated",)),
        ("thank", ("repeated",)), ("you", ("repeated",)),
        ("Thanks", ("boilerplate",)), ("for", ("boilerplate",)), ("watching!", ("boilerplate",)),
        ("Subtitles", ("boilerplate",)), ("by", ("boilerplate",)), ("Amara.org", ("boilerplate",)),
        ("Barnett", ("glossary",)),
    ]


def test_glossary_terms_spelled_right_are_not_flagged() -> None:
    glossary = ("Barnet", "Hendon Youth Forum")
    assert flags_of(stream("The Hendon Youth Forum works in Barnet."), glossary) == []
    assert flags_of(stream("The Hendon youth forum works in barnet."), glossary) == [
        ("youth", ("glossary",)), ("forum", ("glossary",)), ("barnet.", ("glossary",))]


def test_flagged_words_round_trip_through_the_sidecar(tmp_path: Path) -> None:
    flagged = guards.flag_words(stream("Call 0800 1111 now"), ())
    guards.write_words(tmp_path / "w.json", flagged)
    assert guards.read_words(tmp_path / "w.json") == flagged


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="abcdefghijklmnop", min_size=1, max_size=14),
                          st.sampled_from(["", ",", "."]),
                          st.integers(min_value=80, max_value=900), st.integers(min_value=0, max_value=2000)),
                min_size=1, max_size=80))
def test_any_word_stream_gives_cues_within_the_hard_limits_or_reported(spec: list[tuple[str, str, int, int]]) -> None:
    """Layout limits always hold for ordinary words; timing limits that the speech itself breaks (a word held
    for seconds, speech too fast to read) are reported by the quality check for the reviewer."""
    words, t = [], 0
    for text, punctuation, length, gap in spec:
        words.append(Word(t, t + length, text + punctuation, 0.9))
        t += length + gap
    rules = quality.PRESETS["children"]
    cues = segment.segment(words, segment.Layout())
    report = quality.check(cues, rules)
    by_cue = {(v.cue, v.rule) for v in report}
    for index, cue in enumerate(cues, start=1):
        assert len(cue.lines) <= rules.max_lines and all(len(line) <= rules.chars_per_line for line in cue.lines)
        assert (index, "overlap") not in by_cue and (index, "order") not in by_cue
        duration = cue.end_ms - cue.start_ms
        if duration > rules.error_max_ms or duration < rules.error_min_ms:
            assert (index, "duration") in by_cue
        if quality.reading_speed(cue) > rules.error_cps:
            assert (index, "reading_speed") in by_cue


def test_words_where_voice_activity_detection_heard_no_speech_are_flagged() -> None:
    words = [Word(0, 400, "Hello", 0.9), Word(500, 900, "there.", 0.9), Word(5000, 5400, "Subscribe!", 0.9)]
    flagged = guards.flag_words(words, (), speech=[(0, 1000)])
    assert [f.flags for f in flagged] == [(), (), (guards.Flag.NO_SPEECH,)]
    assert [f.flags for f in guards.flag_words(words, ())] == [(), (), ()]  # no VAD run, no flag
