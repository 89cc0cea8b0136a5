"""Flag states, pure (#15): each flagged word's state against a track's cues and the reviewers' records, without
reading anything. review/flags.py, which reads the drafts and writes the checks, builds on it; so does the
queue's count of open flags made when a track is saved (review/figures.py, #20). The rules are in flags.py's
docstring.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from pipeline.captions import guards
from pipeline.catalog.flags import FlagRecord
from pipeline.models import Cue, Word

NEAR_MS = 500  # a word belongs to a cue that starts before it and ends at most this long before it starts
_PUNCTUATION = ".,;:!?\"'()[]“”‘’…"


class State(enum.StrEnum):
    OPEN = "open"
    CHECKED = "checked"
    CORRECTED = "corrected"


# What each flag means, in the words a reviewer (and a screen reader) gets: never the internal names.
LABELS: dict[guards.Flag, str] = {
    guards.Flag.LOW_CONFIDENCE: "low confidence",
    guards.Flag.REPEATED: "repeated phrase",
    guards.Flag.BOILERPLATE: "text speech recognisers often invent",
    guards.Flag.PHONE_NUMBER: "phone number",
    guards.Flag.HELPLINE: "helpline name",
    guards.Flag.GLOSSARY: "close to a glossary term",
    guards.Flag.NO_SPEECH: "no speech heard here",
    guards.Flag.PERSONAL_NAME: "possible name of a person or place",
    guards.Flag.SCHOOL: "school name",
    guards.Flag.ADDRESS: "street address",
    guards.Flag.POSTCODE: "postcode",
    guards.Flag.AGE: "age",
    guards.Flag.DATE_OF_BIRTH: "date of birth",
    guards.Flag.EMAIL: "e-mail address",
}


@dataclass(frozen=True)
class WordFlag:
    """One flagged word and where review stands with it."""

    key: str  # stable while the words file is: "<start ms>-<end ms>"
    word: Word
    kinds: tuple[guards.Flag, ...]
    cue: int  # 1-based position of the cue that shows (or showed) the word; 0 when none is near it
    cue_id: str
    cue_text: str  # that cue's text now ("" when none)
    state: State
    by: str | None
    at: datetime | None
    stale_check: str | None = None  # who checked it before its caption changed

    @property
    def shown(self) -> str:
        """The word as a reviewer reads it in a message: without the punctuation Whisper attached."""
        return _token(self.word.text) or self.word.text.strip()

    @property
    def labels(self) -> list[str]:
        return [LABELS[kind] for kind in self.kinds]

    @property
    def message(self) -> str:
        text, labels = self.shown, " and ".join(self.labels)
        if self.state is State.CORRECTED:
            return f"\"{text}\" corrected{f' by {self.by}' if self.by else ''}"
        if self.state is State.CHECKED:
            return f"\"{text}\" checked by {self.by} ({labels})"
        if self.stale_check:
            return f"check \"{text}\" again ({labels}): its caption changed after {self.stale_check} checked it"
        return f"check \"{text}\" ({labels})"


def _token(text: str) -> str:
    return text.strip().strip(_PUNCTUATION)


def locate(word: Word, cues: list[Cue]) -> tuple[int | None, bool]:
    """The index of the cue that holds `word` (else of the cue that shows its time), and whether the word is
    still there."""
    shows = [i for i, c in enumerate(cues) if c.start_ms <= word.start_ms < c.end_ms + NEAR_MS]
    near = [i for i, c in enumerate(cues) if i not in shows
            and c.start_ms < word.end_ms + NEAR_MS and word.start_ms - NEAR_MS < c.end_ms]
    token = _token(word.text)
    for index in shows + near:
        if not token or token in {_token(part) for part in cues[index].text.split()}:
            return index, True
    candidates = shows + near
    return (candidates[0] if candidates else None), False


def keyed(words: list[guards.FlaggedWord]) -> list[tuple[str, guards.FlaggedWord]]:
    """The flagged words with their keys, in time order."""
    seen: dict[str, int] = {}
    found = []
    for item in words:
        if not item.flags:
            continue
        key = f"{item.word.start_ms}-{item.word.end_ms}"
        seen[key] = seen.get(key, 0) + 1
        found.append((key if seen[key] == 1 else f"{key}-{seen[key]}", item))
    return found


def evaluate(words: list[guards.FlaggedWord], cues: list[Cue], records: dict[str, FlagRecord]) -> list[WordFlag]:
    """Each flagged word's state against `cues` (the latest revision) and the reviewers' records. Pure."""
    result = []
    for key, item in keyed(words):
        index, present = locate(item.word, cues)
        cue = cues[index] if index is not None else None
        record = records.get(key)
        if record is not None and record.word != item.word.text:
            record = None  # the words were made again: the key names another word now
        state, by, at, stale = State.OPEN, None, None, None
        if not present:
            state = State.CORRECTED
        elif record is not None and record.state == State.CHECKED:
            if cue is not None and record.cue_text == cue.text:
                state, by, at = State.CHECKED, record.by, record.at
            else:
                stale = record.by
        elif record is not None:  # reopened
            by, at = record.by, record.at
        cue_id = (cue.id or f"n{index + 1}") if cue is not None and index is not None else ""
        result.append(WordFlag(key, item.word, item.flags, index + 1 if index is not None else 0, cue_id,
                               cue.text if cue else "", state, by, at, stale))
    return result
