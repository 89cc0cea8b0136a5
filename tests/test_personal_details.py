"""A child's personal details are flagged for a person to check, never changed (issue 18; docs/caption-style.md,
"Editorial rules")."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import config
from pipeline.captions import guards
from pipeline.captions.engines import FasterWhisper
from pipeline.media import ffmpeg
from pipeline.models import Word
from tests.media import speech_video


def stream(text: str) -> list[Word]:
    return [Word(i * 400, i * 400 + 300, token, 0.95) for i, token in enumerate(text.split())]


def flags_of(words: list[Word], glossary: tuple[str, ...] = ()) -> list[tuple[str, tuple[str, ...]]]:
    return [(f.word.text, tuple(flag.value for flag in f.flags))
            for f in guards.flag_words(words, glossary) if f.flags]


def test_each_kind_of_personal_detail_is_flagged_and_every_word_kept() -> None:
    words = stream("My friend Jessica goes to Riverside Primary School. She lives at 12 Elm Street, EN5 4QX, with "
                   "Mr. Patel. She is ten years old and was born on the 3rd of March 2015. Email jess@example.com "
                   "or write to jess at example dot co dot uk.")
    flagged = guards.flag_words(words)
    assert [f.word for f in flagged] == words
    assert flags_of(words) == [
        ("Jessica", ("personal_name",)),
        ("Riverside", ("school",)), ("Primary", ("school",)), ("School.", ("school",)),
        ("12", ("address",)), ("Elm", ("address",)), ("Street,", ("address",)),
        ("EN5", ("postcode",)), ("4QX,", ("postcode",)),
        ("Patel.", ("personal_name",)),
        ("ten", ("age",)), ("years", ("age",)), ("old", ("age",)),
        ("3rd", ("date_of_birth",)), ("March", ("date_of_birth",)), ("2015.", ("phone_number", "date_of_birth")),
        ("jess@example.com", ("email",)),
        ("jess", ("email",)), ("at", ("email",)), ("example", ("email",)), ("dot", ("email",)), ("co", ("email",)),
        ("dot", ("email",)), ("uk.", ("email",)),
    ]


def test_ages_names_after_titles_and_names_seen_inside_a_sentence() -> None:
    assert flags_of(stream("Sam is 9. I'm ten. We met a 7-year-old. Aged 11 and happy.")) == [
        ("9.", ("age",)), ("ten.", ("age",)), ("7-year-old.", ("age",)), ("Aged", ("age",)), ("11", ("age",))]
    # A sentence's first word is a name when it is capitalised inside a sentence elsewhere, or follows a title.
    assert flags_of(stream("Ask Jessica. Jessica knows. Dr. Ahmed is kind. Ahmed helps.")) == [
        ("Jessica.", ("personal_name",)), ("Jessica", ("personal_name",)), ("Ahmed", ("personal_name",)),
        ("Ahmed", ("personal_name",))]


def test_common_capitalised_words_are_not_personal_details() -> None:
    text = ("If you are worried, talk to Mum or Dad on Monday. I think the NSPCC can help, and so can Childline. "
            "It starts at 10.30 and costs 3.50 pounds. We walked down the street to the school on the hill.")
    assert flags_of(stream(text)) == [("NSPCC", ("helpline",)), ("Childline.", ("helpline",))]


def test_a_glossary_entry_clears_its_own_word() -> None:
    words = stream("We visited Barnet and Riverside Primary School with Jessica.")
    assert flags_of(words, ("Barnet", "Riverside Primary School")) == [("Jessica.", ("personal_name",))]


def test_new_flags_round_trip_through_the_sidecar(tmp_path: Path) -> None:
    flagged = guards.flag_words(stream("Jessica lives at 12 Elm Street with Sam."))
    guards.write_words(tmp_path / "w.json", flagged)
    assert guards.read_words(tmp_path / "w.json") == flagged


@pytest.mark.media
@pytest.mark.whisper
def test_the_bundled_model_on_speech_flags_a_name_a_school_a_street_and_an_email(tmp_path: Path) -> None:
    video = speech_video(tmp_path / "talk.mp4", "Our friend Jessica is at Riverside Primary School. She lives on "
                                                "Elm Street. Send an email to jessica at example.com.")
    settings = config.parse({}, tmp_path).captions
    words = FasterWhisper(settings).transcribe(ffmpeg.decode_audio(video)).words
    flagged = {(f.word.text.strip(".,").lower(), flag.value) for f in guards.flag_words(words) for flag in f.flags}
    heard = " ".join(w.text for w in words)
    assert ("jessica", "personal_name") in flagged, heard
    assert {("riverside", "school"), ("primary", "school"), ("school", "school")} <= flagged, heard
    assert {("elm", "address"), ("street", "address")} <= flagged, heard
    assert any(flag == "email" and "example" in word for word, flag in flagged), heard
