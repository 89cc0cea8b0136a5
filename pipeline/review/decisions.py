"""Review decisions: a person approves the captions, or asks for changes; and the queue they pick work from.
The web editor and the CLI (`pipeline approve`) both call these functions, with the asset they resolved."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline import fsutil
from pipeline.captions import guards, quality, vtt
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.errors import ConflictError, PipelineError, UsageError
from pipeline.models import Asset, AssetState, CaptionTrack, Cue, Revision
from pipeline.review import editing, waveform
from pipeline.stages import caption, playlists

log = logging.getLogger(__name__)


class Status(enum.StrEnum):
    """Where an asset is in review, as the queue shows it."""

    PROCESSING = "processing"
    FAILED = "failed"
    AWAITING_REVIEW = "awaiting review"
    IN_REVIEW = "in review"  # a person has saved changes but not decided yet
    CHANGES_REQUESTED = "changes requested"
    APPROVED = "approved"
    PUBLISHED = "published"


QUEUE_ORDER = (Status.AWAITING_REVIEW, Status.IN_REVIEW, Status.CHANGES_REQUESTED, Status.APPROVED, Status.PUBLISHED,
               Status.PROCESSING, Status.FAILED)


@dataclass(frozen=True)
class QueueRow:
    """One asset as the review queue lists it."""

    asset: Asset
    status: Status
    cues: int
    errors: int  # quality problems that block approval
    warnings: int
    flagged: int  # words the guards flagged for a person to check
    last_author: str | None
    last_at: datetime | None
    changes_note: str | None


def queue(settings: Settings, catalog: Catalog) -> list[QueueRow]:
    """Every asset with its review status and the figures a reviewer picks work by, in queue order."""
    rows = []
    for asset in catalog.list_assets():
        tracks = catalog.caption_tracks(asset.id)
        cues = errors = warnings = flagged = 0
        last: Revision | None = None
        for track in tracks:
            draft = editing.read_draft(settings, catalog, asset, track.language)
            cues += len(draft.revision.cues)
            errors += len(quality.errors(draft.problems))
            warnings += len(draft.problems) - len(quality.errors(draft.problems))
            flagged += sum(1 for w in draft.words if w.flags)
            if last is None or draft.revision.created_at > last.created_at:
                last = draft.revision
        note = next((t.changes_note for t in tracks if t.changes_note), None)
        rows.append(QueueRow(asset, status(asset, tracks, last), cues, errors, warnings, flagged,
                             last.author if last else None, last.created_at if last else None, note))
    return sorted(rows, key=lambda r: (QUEUE_ORDER.index(r.status), r.asset.source))


def status(asset: Asset, tracks: list[CaptionTrack], last: Revision | None) -> Status:
    if asset.state is AssetState.PUBLISHED:
        return Status.PUBLISHED
    if asset.state is AssetState.APPROVED:
        return Status.APPROVED
    if asset.state is AssetState.FAILED:
        return Status.FAILED
    if asset.state is not AssetState.AWAITING_REVIEW:
        return Status.PROCESSING
    requested = [t.changes_at for t in tracks if t.changes_at]
    if requested and (last is None or last.author == caption.AUTOMATIC or last.created_at <= max(requested)):
        return Status.CHANGES_REQUESTED
    if last is not None and last.author != caption.AUTOMATIC:
        return Status.IN_REVIEW
    return Status.AWAITING_REVIEW


def _flag_warnings(cues: list[Cue], flagged: list[guards.FlaggedWord]) -> list[quality.Violation]:
    """Words the guards flagged, as warnings on the cue that shows them."""
    found = []
    for item in flagged:
        index = next((i for i, c in enumerate(cues, start=1) if c.start_ms <= item.word.start_ms < c.end_ms + 500),
                     None)
        for flag in item.flags:
            found.append(quality.Violation(index or 0, item.word.start_ms, f"word:{flag.value}",
                                           quality.Level.WARNING, round(item.word.probability, 2), 0,
                                           f"check \"{item.word.text}\" ({flag.value.replace('_', ' ')})"))
    return found


def quality_report(settings: Settings, catalog: Catalog, asset: Asset) -> dict[str, list[quality.Violation]]:
    """Every quality problem of each caption track of the asset, by language, with the words flagged for a
    person to check."""
    report = {}
    for track in catalog.caption_tracks(asset.id):
        draft = editing.read_draft(settings, catalog, asset, track.language)
        cues = list(draft.revision.cues)
        found = quality.check(cues, draft.rules) + _flag_warnings(cues, draft.words)
        if track.detected_language:
            found.append(quality.Violation(0, 0, "language", quality.Level.WARNING, 0, 0,
                                           f"the model heard {track.detected_language!r}, not the declared "
                                           f"{track.language!r}: check the language (name the master "
                                           f"name.{track.detected_language}.mp4 to declare it)"))
        report[track.language] = sorted(found, key=lambda v: (v.cue, v.start_ms))
    return report


def _name(reviewer: str) -> str:
    name = " ".join(reviewer.split())
    if not name:
        raise UsageError("--reviewer: give the name of the person who checked the captions")
    return name


def approve(settings: Settings, catalog: Catalog, asset: Asset, reviewer: str, override_reason: str | None = None,
            revisions: dict[str, int] | None = None) -> Asset:
    """Approve the captions as they are now; publish checks that they have not changed since. Error-level
    quality problems block approval unless the reviewer gives a reason, which is recorded. `revisions` (the
    editor's) holds the revision the reviewer looked at per language: a newer one is a conflict."""
    name = _name(reviewer)
    out_dir = settings.output_dir / asset.id
    reason = " ".join((override_reason or "").split()) or None
    blocking = [v for found in quality_report(settings, catalog, asset).values() for v in quality.errors(found)]
    if blocking and not reason:
        first = blocking[0]
        raise UsageError(f"asset {asset.id}: {len(blocking)} caption error(s), first at cue {first.cue}: "
                         f"{first.message} ({first.rule} {first.value:g}, limit {first.limit:g}); fix them, or "
                         "approve anyway with --override \"why\"; `pipeline captions check` lists them all")
    digests = {}
    with editing.locked(out_dir):
        for track in catalog.caption_tracks(asset.id):
            track, latest = editing.repair(settings, catalog, asset, track.language)
            seen = (revisions or {}).get(track.language, latest.number)
            if seen != latest.number:
                raise ConflictError(f"{latest.author} saved revision {latest.number} after the revision {seen} you "
                                    "reviewed; look at their changes before approving",
                                    current_revision=latest.number, author=latest.author)
            path = out_dir / track.path
            if not path.is_file():
                raise PipelineError(f"{path}: caption file missing; run `pipeline run` to make it again")
            vtt.write_vtt(path, list(latest.cues), caption.provenance(
                track.engine, track.model, track.language, f"revision {latest.number}, reviewed by {name}"))
            digests[track.language] = fsutil.sha256_file(path)
        playlists.rebuild(out_dir, catalog, asset.id)
    return catalog.approve_captions(asset.id, name, digests, reason if blocking else None)


def request_changes(settings: Settings, catalog: Catalog, asset: Asset, reviewer: str, note: str) -> Asset:
    """A reviewer sends the captions back with a note; the queue shows "changes requested" until a later save."""
    name = _name(reviewer)
    text = " ".join(note.split())
    if not text:
        raise UsageError("say what needs changing: the note is what the next person works from")
    asset = catalog.get(asset.id)  # as it is now
    if asset.state is not AssetState.AWAITING_REVIEW:
        raise UsageError(f"asset {asset.id} is {asset.state.value.replace('_', ' ')}; changes can be requested only "
                         "while it awaits review")
    catalog.request_changes(asset.id, name, text)
    return catalog.get(asset.id)


def import_captions(settings: Settings, catalog: Catalog, asset: Asset, source: Path, author: str) -> Revision:
    """Captions edited in another program (.vtt or .srt) become the latest revision; the asset goes back to
    review."""
    cues = vtt.read_captions_file(source)
    language = editing.default_language(settings, catalog, asset.id)
    return editing.save(settings, catalog, asset, language, None, author, cues, summary=f"imported {source.name}")


def export_captions(settings: Settings, catalog: Catalog, asset: Asset, target: Path) -> int:
    """Write the asset's captions to `target` as WebVTT or SubRip, by its suffix; returns the cue count."""
    kind = target.suffix.lower().lstrip(".")
    if kind not in ("vtt", "srt"):
        raise UsageError(f"{target.name}: name the file .vtt (WebVTT) or .srt (SubRip)")
    draft = editing.read_draft(settings, catalog, asset)
    fsutil.write_text(target, editing.export_text(settings, catalog, asset, kind))
    return len(draft.revision.cues)


def prepare_workspace(settings: Settings, catalog: Catalog) -> list[str]:
    """What `pipeline review` does before it serves: the explicit repair of every reviewable track, and the
    editor's waveform where an older run left none. The pages and the API only read. An asset that cannot be
    prepared is left as it is (its editor shows what is wrong) and named in the returned lines; the others go on."""
    problems = []
    for asset in catalog.list_assets():
        if asset.state not in editing.REVIEWABLE:
            continue
        try:
            with editing.locked(settings.output_dir / asset.id):
                for track in catalog.caption_tracks(asset.id):
                    editing.repair(settings, catalog, asset, track.language)
            if asset.state is AssetState.AWAITING_REVIEW:
                waveform.keep(settings.output_dir / asset.id, catalog, asset, settings.transcode.timeout_seconds)
        except (PipelineError, OSError) as exc:
            log.warning("asset %s could not be prepared for review: %s", asset.id, exc, exc_info=True)
            problems.append(f"{fsutil.display_name(Path(asset.source))} ({asset.id}): {exc}")
    return problems
