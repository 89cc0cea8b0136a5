"""Flag states (#15): every word the guards flagged (pipeline/captions/guards.py, the words file next to the
captions) is "open" until a reviewer marks it "checked", or "corrected" once the captions no longer hold it.

"Corrected" is read from the captions, never stored: the word, as Whisper wrote it (punctuation aside, case
kept: "childline" corrected to "Childline" is a correction), is no longer in the cue that shows it or in a cue
within half a second of it. Its who and when are the author and time of the revision that removed it. A check is
stored with the caption text the reviewer saw; when that caption's text changes the flag is evaluated again:
corrected if the word is gone, open again if it is still there. Reads never write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.catalog import Catalog, now
from pipeline.catalog.flags import FlagRecord
from pipeline.config import Settings
from pipeline.errors import NotFoundError, UsageError
from pipeline.models import Asset
from pipeline.review import editing
from pipeline.review.flag_states import LABELS, NEAR_MS, State, WordFlag, evaluate, keyed, locate

__all__ = ["LABELS", "NEAR_MS", "State", "WordFlag", "check", "evaluate", "keyed", "locate", "reopen", "row",
           "track_flags"]


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
