"""The descriptions track (#21): what the editor, `pipeline descriptions import|export|approve` and the review
app's API go through. Like captions (review/editing.py), every save is a revision naming the one it started from,
merged cue by cue (review/merging.py) with anything saved since; a cue both sides changed is a ConflictError. The
caption rules (reading speed, line length, flagged words) do not apply: a description is spoken, not read. A
cue's end is set here, never by the client: its start plus the time the voice takes to say it.

A save withdraws the approval and the described soundtrack with it (deliver.withdraw); approving makes it again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline import fsutil
from pipeline.captions import vtt
from pipeline.catalog import Catalog, now
from pipeline.config import Settings
from pipeline.descriptions import deliver, speech
from pipeline.descriptions.voice import Voice, make_voice
from pipeline.errors import CaptionError, ConflictError, UsageError
from pipeline.models import Asset, Cue, DescriptionState, DescriptionTrack, Revision
from pipeline.review import editing, merging
from pipeline.review.merging import Change

MAX_CUES = 2000
MAX_TEXT = 1000  # a description is said in a gap of the dialogue: a few sentences at most


def check_language(language: str) -> str:
    """A language code as it may name a file: "en", "cy"."""
    if not re.fullmatch(r"[a-z]{2,3}", language):
        raise UsageError(f"{language[:20]!r} is not a language code; give a lowercase ISO 639-1 code such as \"en\"")
    return language


def vtt_name(language: str) -> str:
    return f"descriptions_{language}.vtt"


@dataclass(frozen=True)
class View:
    """A descriptions track as the editor opens it; `track` and `revision` None while none exists."""

    asset: Asset
    language: str
    track: DescriptionTrack | None
    revision: Revision | None
    speech: speech.Intervals

    @property
    def cues(self) -> tuple[Cue, ...]:
        return self.revision.cues if self.revision else ()

    @property
    def state(self) -> str:
        return self.track.state.value if self.track else "none"


def voice(settings: Settings, asset: Asset) -> Voice:
    return make_voice(settings.descriptions, settings.output_dir / asset.id)


def read(settings: Settings, catalog: Catalog, asset: Asset, language: str) -> View:
    """The latest revision and the programme's speech (measured once, then kept with the asset)."""
    track = catalog.description_track(asset.id, language)
    latest = catalog.description_revision(asset.id, language, track.revision) if track else None
    found = speech.intervals(settings.output_dir / asset.id, catalog, asset, settings.transcode.timeout_seconds)
    return View(asset, language, track, latest, found)


def _empty(asset: Asset, language: str) -> Revision:
    return Revision(asset.id, language, 0, "", now(), "no descriptions yet", ())


def _spoken(cues: Sequence[Cue], speaker: Voice) -> list[Cue]:
    """Cues as they are stored: clean text, each ending when the voice stops, in time order."""
    if len(cues) > MAX_CUES:
        raise UsageError(f"{len(cues)} descriptions is more than the {MAX_CUES} one track may hold")
    merging.check_ids(cues)
    made = []
    for number, cue in enumerate(merging.in_order(cues), start=1):
        text = " ".join(vtt.clean_text(cue.text).split())
        if not text:
            raise UsageError(f"description {number} has no text: write what happens on screen, or delete it")
        if len(text) > MAX_TEXT:
            raise UsageError(f"description {number} has {len(text)} characters; keep it under {MAX_TEXT}, it is "
                             "spoken in a gap of the dialogue")
        if cue.start_ms < 0:
            raise UsageError(f"description {number} starts before the video; fix its start time")
        made.append(Cue(cue.start_ms, cue.start_ms + max(1, speaker.synthesise(text).spoken_ms), text, cue.id))
    return made


def _conflict(catalog: Catalog, asset: Asset, language: str, start: Revision, latest: Revision,
              conflicts: list[merging.Conflict], merged: list[Cue]) -> ConflictError:
    """The captions' 409 answer (review/editing.py), for descriptions."""
    between = [catalog.description_revision(asset.id, language, n) for n in range(start.number + 1,
                                                                                   latest.number + 1)]
    rows = merging.conflict_rows(conflicts, merged, [(r.number, r.author, r.cues) for r in between],
                                 (latest.number, latest.author))
    return ConflictError(
        f"{latest.author} saved revision {latest.number} of the descriptions after the revision {start.number} you "
        f"started from, and you both changed {len(rows)} description{'s' if len(rows) != 1 else ''}: choose which "
        "version to keep for each", current_revision=latest.number, author=latest.author,
        details={"conflicts": rows, "latest_cues": [merging.row(c) for c in latest.cues],
                 "merged": [merging.row(c) for c in merged]})


def _author(author: str) -> str:
    name = " ".join(author.split())
    if not name:
        raise UsageError("give your name before saving: every revision records who made it")
    return name


def write_file(settings: Settings, asset: Asset, language: str, cues: Sequence[Cue], status: str) -> Path:
    path = settings.output_dir / asset.id / vtt_name(language)
    vtt.write_vtt(path, list(cues), {"kind": "audio description", "language": language, "status": status})
    return path


def save_changes(settings: Settings, catalog: Catalog, asset: Asset, language: str, base: int | None, author: str,
                 changes: Sequence[Change], summary: str | None = None) -> editing.Saved:
    """Make `changes` to revision `base` (None: no track yet) and store the result as a new revision, merged per
    description with anything saved since; ConflictError (nothing saved) when one changed on both sides."""
    name = _author(author)
    speaker = voice(settings, asset)
    with editing.locked(settings.output_dir / asset.id):
        speech.keep(settings.output_dir / asset.id, catalog, asset, settings.transcode.timeout_seconds)
        track = catalog.description_track(asset.id, language)
        latest = catalog.description_revision(asset.id, language, track.revision) if track else _empty(asset,
                                                                                                        language)
        # base None: made before any track existed; if one was saved meanwhile, the two are merged like any others.
        start = (latest if base == latest.number or (base is None and track is None)
                 else _empty(asset, language) if base is None
                 else catalog.description_revision(asset.id, language, base))
        mine = _spoken(merging.apply(start.cues, changes), speaker)
        new, merged_with = mine, []
        if start.number != latest.number:
            new, conflicts = merging.merge(start.cues, mine, latest.cues)
            if conflicts:
                raise _conflict(catalog, asset, language, start, latest, conflicts, new)
            merged_with = [(r.number, r.author) for r in reversed(catalog.description_history(asset.id, language))
                           if start.number < r.number <= latest.number]
        differences = merging.compare(latest.cues, new)
        if not differences:
            return editing.Saved(latest, merged_with)
        made = catalog.save_description_revision(asset.id, language, track.revision if track else None, name,
                                                 summary or editing.describe(differences), new, len(differences))
        write_file(settings, asset, language, new, f"revision {made.number} by {name}, not yet reviewed")
        deliver.withdraw(settings, catalog, asset, language)
    return editing.Saved(made, merged_with)


def save_all(settings: Settings, catalog: Catalog, asset: Asset, language: str, author: str, cues: Sequence[Cue],
             summary: str) -> editing.Saved:
    """A whole list of descriptions (a file) as the new latest revision: cues without ids are matched to the
    latest revision's by text and position."""
    track = catalog.description_track(asset.id, language)
    latest = catalog.description_revision(asset.id, language, track.revision) if track else _empty(asset, language)
    mine = merging.identify(latest.cues, [Cue(c.start_ms, c.end_ms, c.text) for c in cues])
    return save_changes(settings, catalog, asset, language, latest.number, author,
                        merging.changes_between(latest.cues, mine), summary)


def import_file(settings: Settings, catalog: Catalog, asset: Asset, language: str, source: Path,
                author: str) -> editing.Saved:
    """A WebVTT file of descriptions (start times and text; each end is set again by the voice)."""
    if source.suffix.lower() != ".vtt":
        raise UsageError(f"{source.name}: descriptions are imported from WebVTT; name the file .vtt")
    try:
        cues = vtt.read_captions_file(source)
    except CaptionError as exc:
        raise UsageError(str(exc)) from exc
    return save_all(settings, catalog, asset, language, author, cues, f"imported {source.name}")


def vtt_text(settings: Settings, catalog: Catalog, asset: Asset, language: str) -> str:
    """The latest revision as WebVTT; NotFoundError-free: a track not written yet is an empty file."""
    track = catalog.description_track(asset.id, language)
    if track is None:
        return vtt.format_vtt([], {"kind": "audio description", "language": language, "status": "none yet"})
    latest = catalog.description_revision(asset.id, language, track.revision)
    status = (f"revision {latest.number}, approved by {track.reviewer}" if track.state is DescriptionState.APPROVED
              else f"revision {latest.number}, not yet reviewed")
    return vtt.format_vtt(list(latest.cues), {"kind": "audio description", "language": language, "status": status})


def export_file(settings: Settings, catalog: Catalog, asset: Asset, language: str, target: Path) -> int:
    if target.suffix.lower() != ".vtt":
        raise UsageError(f"{target.name}: descriptions export as WebVTT; name the file .vtt")
    track = catalog.description_track(asset.id, language)
    if track is None:
        raise UsageError(f"asset {asset.id} has no {language!r} descriptions yet; write them in the editor or "
                         f"`pipeline descriptions import {asset.id} FILE.vtt`")
    fsutil.write_text(target, vtt_text(settings, catalog, asset, language))
    return len(catalog.description_revision(asset.id, language, track.revision).cues)


def approve(settings: Settings, catalog: Catalog, asset: Asset, language: str, reviewer: str,
            revision: int | None = None) -> DescriptionTrack:
    """Approve the latest revision (or, from the editor, the one the reviewer looked at: a later one is a
    conflict), then make the described soundtrack, its rendition and the described MP4 (deliver.make)."""
    name = " ".join(reviewer.split())
    if not name:
        raise UsageError("--reviewer: give the name of the person who checked the descriptions")
    with editing.locked(settings.output_dir / asset.id):
        track = catalog.description_track(asset.id, language)
        if track is None:
            raise UsageError(f"asset {asset.id} has no {language!r} descriptions to approve; write them first")
        made = catalog.approve_descriptions(asset.id, language, revision or track.revision, name)
        cues = catalog.description_revision(asset.id, language, made.revision).cues
        write_file(settings, asset, language, cues, f"revision {made.revision}, approved by {name}")
    deliver.make(settings, catalog, asset, language)
    return made
