"""Guards on Whisper's words: flag, never drop (docs/caption-style.md, "Editorial rules").

Words the model was unsure of, Whisper's known hallucinations (repeated phrases, "Thanks for watching",
"Subtitles by ..."), phone numbers, helpline names and near-misses of glossary terms are flagged for the
reviewer. The words themselves stay as the model heard them: only a person changes the text.
"""

from __future__ import annotations

import difflib
import enum
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import fsutil
from pipeline.models import Word

LOW_PROBABILITY = 0.5
_BOILERPLATE = [re.compile(p) for p in (
    r"thanks? (you )?for watching", r"subtitles? by", r"captions? by", r"transcribed by", r"please subscribe",
    r"like and subscribe", r"amara\.org", r"see you (in the )?next (video|time)")]
_HELPLINES = frozenset({"childline", "samaritans", "nspcc", "shout", "papyrus", "helpline", "hopeline", "kooth",
                        "barnardo's", "barnardos", "refuge", "crimestoppers", "ceop", "mind"})


class Flag(enum.StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    REPEATED = "repeated"
    BOILERPLATE = "boilerplate"
    PHONE_NUMBER = "phone_number"
    HELPLINE = "helpline"
    GLOSSARY = "glossary"  # close to a glossary term but not spelled as it
    NO_SPEECH = "no_speech"  # where voice activity detection heard no speech: often invented text


@dataclass(frozen=True)
class FlaggedWord:
    word: Word
    flags: tuple[Flag, ...]


def _bare(text: str) -> str:
    return re.sub(r"[^\w'.]", "", text.lower()).strip(".")


def _repeats(tokens: list[str]) -> set[int]:
    """Indexes of words in a phrase of 1 to 4 words said three or more times in a row: a decoding loop."""
    flagged: set[int] = set()
    for size in range(1, 5):
        start = 0
        while start + size <= len(tokens):
            phrase, run = tokens[start:start + size], 1
            while tokens[start + run * size:start + (run + 1) * size] == phrase:
                run += 1
            if run >= 3:
                flagged.update(range(start + size, start + run * size))
                start += run * size
            else:
                start += 1
    return flagged


def _boilerplate(tokens: list[str]) -> set[int]:
    text, offsets, position = "", [], 0
    for token in tokens:
        offsets.append(position)
        text += token + " "
        position = len(text)
    flagged: set[int] = set()
    for pattern in _BOILERPLATE:
        for match in pattern.finditer(text):
            flagged.update(i for i, start in enumerate(offsets) if match.start() <= start < match.end())
    return flagged


def _glossary_miss(original: str, glossary_words: tuple[str, ...]) -> bool:
    """A word written differently from a glossary term it is close to (wrong case, or a near spelling)."""
    clean = original.strip(".,;:!?\"'")
    if len(clean) < 4 or clean in glossary_words:
        return False
    lowered = {term.lower() for term in glossary_words}
    return clean.lower() in lowered or bool(difflib.get_close_matches(clean.lower(), lowered, n=1, cutoff=0.8))


SPEECH_TOLERANCE_MS = 250  # word timings and VAD edges are each a little loose


def _outside_speech(word: Word, speech: list[tuple[int, int]]) -> bool:
    return not any(start - SPEECH_TOLERANCE_MS < word.end_ms and word.start_ms < end + SPEECH_TOLERANCE_MS
                   for start, end in speech)


def flag_words(words: list[Word], glossary: tuple[str, ...] = (),
               speech: list[tuple[int, int]] | None = None) -> list[FlaggedWord]:
    """`speech`: where voice activity detection heard speech (ms); None when it was not run."""
    tokens = [_bare(w.text) for w in words]
    repeated, boilerplate = _repeats(tokens), _boilerplate(tokens)
    glossary_words = tuple(part for term in glossary for part in term.split())
    result = []
    for index, (word, token) in enumerate(zip(words, tokens, strict=True)):
        flags = []
        if word.probability < LOW_PROBABILITY:
            flags.append(Flag.LOW_CONFIDENCE)
        if index in repeated:
            flags.append(Flag.REPEATED)
        if index in boilerplate:
            flags.append(Flag.BOILERPLATE)
        if sum(c.isdigit() for c in token) >= 3:
            flags.append(Flag.PHONE_NUMBER)
        if token in _HELPLINES:
            flags.append(Flag.HELPLINE)
        if glossary_words and _glossary_miss(word.text, glossary_words):
            flags.append(Flag.GLOSSARY)
        if speech is not None and _outside_speech(word, speech):
            flags.append(Flag.NO_SPEECH)
        result.append(FlaggedWord(word, tuple(flags)))
    return result


def word_rows(flagged: list[FlaggedWord]) -> list[dict[str, Any]]:
    """The words with their timings, confidence and flags, as JSON rows: the sidecar file and the editor's API."""
    return [{"start_ms": f.word.start_ms, "end_ms": f.word.end_ms, "text": f.word.text,
             "probability": round(f.word.probability, 3), "flags": [flag.value for flag in f.flags]}
            for f in flagged]


def write_words(path: Path, flagged: list[FlaggedWord]) -> None:
    """The words for the review editor, next to the captions (never published)."""
    fsutil.write_text(path, json.dumps(word_rows(flagged), indent=1) + "\n")


def read_words(path: Path) -> list[FlaggedWord]:
    if not path.is_file():
        return []
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [FlaggedWord(Word(r["start_ms"], r["end_ms"], r["text"], r["probability"]),
                        tuple(Flag(f) for f in r["flags"])) for r in rows]
