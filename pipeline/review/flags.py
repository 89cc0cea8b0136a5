"""Flag states (#15): every word the guards flagged (pipeline/captions/guards.py, the words file next to the
captions) is "open" until a reviewer marks it "checked", or "corrected" once the captions no longer hold it.

"Corrected" is read from the captions, never stored: the word, as Whisper wrote it (punctuation aside, case
kept: "childline" corrected to "Childline" is a correction), is no longer in the cue that shows it or in a cue
within half a second of it. Its who and when are the author and time of the revision that removed it. A check is
stored with the caption text the reviewer saw; when that caption's text changes the flag is evaluated again:
corrected if the word is gone, open again if it is still there. Reads never write.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.captions import guards
from pipeline.catalog import Catalog, now
from pipeline.catalog.flags import FlagRecord
from pipeline.config import Settings
from pipeline.errors import NotFoundError, UsageError
from pipeline.models import Asset, Cue, Word
from pipeline.review import editing

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


def _attribute(catalog: Catalog, asset: Asset, language: str, latest_number: int,
               found: list[WordFlag]) -> list[WordFlag]:
    """Corrected flags with the author and time of the revision that removed their word: the revision after the
    newest one that still held it. Decodes only as many earlier revisions as that takes."""
    pending = {f.key: f for f in found if f.state is State.CORRECTED}
    if not pending:
        return found
    by: dict[str, tuple[str, datetime]] = {}
    newer = catalog.revision(asset.id, language, latest_number) if latest_number > 1 else None
    for number in range(latest_number - 1, 0, -1):
        older = catalog.revision(asset.id, language, number)
        assert newer is not None
        for key, flag in list(pending.items()):
            if locate(flag.word, list(older.cues))[1]:
                by[key] = (newer.author, newer.created_at)
                del pending[key]
        if not pending:
            break
        newer = older
    return [WordFlag(f.key, f.word, f.kinds, f.cue, f.cue_id, f.cue_text, f.state, *by[f.key], f.stale_check)
            if f.key in by else f for f in found]


def track_flags(settings: Settings, catalog: Catalog, asset: Asset, language: str, *,
                attribute: bool = True) -> list[WordFlag]:
    """Every flagged word of a caption track with its state (read only). Without `attribute`, corrected flags
    carry no who and when (the queue and the gate need only the states)."""
    draft = editing.read_draft(settings, catalog, asset, language)
    found = evaluate(draft.words, list(draft.revision.cues), catalog.flag_records(asset.id, language))
    return _attribute(catalog, asset, language, draft.revision.number, found) if attribute else found


def _one(settings: Settings, catalog: Catalog, asset: Asset, language: str, key: str) -> WordFlag:
    flag = next((f for f in track_flags(settings, catalog, asset, language) if f.key == key), None)
    if flag is None:
        raise NotFoundError(f"asset {asset.id} has no flagged word {key!r} in its {language!r} captions; "
                            f"`pipeline captions flags {asset.id}` lists them")
    return flag


def _set(settings: Settings, catalog: Catalog, asset: Asset, language: str, key: str, author: str,
         state: State) -> WordFlag:
    name = " ".join(author.split())
    if not name:
        raise UsageError("give your name: every check records who made it")
    flag = _one(settings, catalog, asset, language, key)
    if flag.state is State.CORRECTED:
        raise UsageError(f"\"{flag.shown}\" is no longer in caption {flag.cue}: it was corrected, so "
                         "there is nothing to check")
    record = FlagRecord(key, flag.word.text, state.value, name, now(), flag.cue_text)
    draft = editing.read_draft(settings, catalog, asset, language)
    records = {**catalog.flag_records(asset.id, language), key: record}
    still_open = sum(1 for f in evaluate(draft.words, list(draft.revision.cues), records) if f.state is State.OPEN)
    catalog.set_flag(asset.id, language, record, flagged=still_open)  # the queue's figure, in the same write (#20)
    return _one(settings, catalog, asset, language, key)


def check(settings: Settings, catalog: Catalog, asset: Asset, language: str, key: str, author: str) -> WordFlag:
    """A reviewer listened and the flagged word is right as it is."""
    return _set(settings, catalog, asset, language, key, author, State.CHECKED)


def reopen(settings: Settings, catalog: Catalog, asset: Asset, language: str, key: str, author: str) -> WordFlag:
    return _set(settings, catalog, asset, language, key, author, State.OPEN)


def row(flag: WordFlag) -> dict[str, Any]:
    """A flag as the API gives it."""
    return {"key": flag.key, "word": flag.word.text.strip(), "start_ms": flag.word.start_ms,
            "end_ms": flag.word.end_ms, "kinds": [k.value for k in flag.kinds], "labels": flag.labels,
            "cue": flag.cue, "cue_id": flag.cue_id, "state": flag.state.value, "by": flag.by,
            "at": flag.at.isoformat() if flag.at else None, "message": flag.message}
