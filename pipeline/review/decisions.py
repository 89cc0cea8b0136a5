"""Review decisions: a person approves the captions, or asks for changes; and the queue they pick work from.
The web editor, the API and the CLI (`pipeline approve`) all call these functions, with the asset they resolved.

Approval is a gate (#15): it lists the flagged words nobody has checked (review/flags.py) and the error-level
caption problems, and refuses while any remain unless the reviewer gives a reason, which is recorded with the
number of unchecked items and shown on the share page. Captions without a single cue (no speech was heard) are
approved only by the explicit decision "no speech: nothing to caption" (or once sound captions are added)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline import fsutil
from pipeline.captions import quality, vtt
from pipeline.catalog import Catalog, now
from pipeline.catalog import queue as queue_figures
from pipeline.catalog.flags import ApprovalRecord
from pipeline.catalog.queue import Counts
from pipeline.config import Settings
from pipeline.descriptions import speech
from pipeline.errors import ConflictError, NotFoundError, PipelineError, UsageError
from pipeline.models import Asset, AssetState, Revision
from pipeline.review import editing, figures, flags, waveform
from pipeline.stages import caption, playlists

log = logging.getLogger(__name__)


Status = queue_figures.ReviewStatus  # where an asset is in review, as the queue shows it
QUEUE_ORDER = queue_figures.QUEUE_ORDER
PAGE_SIZE = 50  # rows on a page of the queue
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class QueueRow:
    """One asset as the review queue lists it."""

    asset: Asset
    status: Status
    cues: int
    errors: int  # quality problems that block approval
    warnings: int
    flagged: int  # flagged words nobody has checked or corrected yet
    last_author: str | None
    last_at: datetime | None
    changes_note: str | None


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue: its rows, where it starts, and the totals a reviewer picks work by."""

    rows: list[QueueRow]
    total: int  # the assets matching `status` (every asset when None)
    counts: dict[Status, int]  # per status, unfiltered
    status: Status | None
    offset: int
    limit: int | None

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1 if self.limit else 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit)) if self.limit else 1


def parse_status(text: str | None) -> Status | None:
    """A queue filter as a URL gives it: a status's slug (`in_review`) or its words; empty or "all": none."""
    key = (text or "").strip().lower().replace("-", "_").replace(" ", "_")
    if key in ("", "all"):
        return None
    found = next((s for s in Status if s.slug == key), None)
    if found is None:
        raise UsageError(f"state {text!r} is not a review state; use one of: all, "
                         + ", ".join(s.slug for s in QUEUE_ORDER))
    return found


def parse_page(text: str) -> int:
    """A page number as a URL gives it."""
    if not text.strip().isdigit():
        raise UsageError(f"page {text!r}: give the page's number, 1 or more")
    return int(text)


def page_offset(page: int, limit: int) -> int:
    if page < 1:
        raise UsageError(f"page {page}: the queue's pages are numbered from 1")
    return (page - 1) * limit


def queue_page(settings: Settings, catalog: Catalog, status: Status | None = None, limit: int | None = PAGE_SIZE,
               offset: int = 0, *, strict: bool = False) -> QueuePage:
    """`limit` assets (every one: None) of the queue from `offset`, with `status` only when given, in queue order,
    with the figures the catalog keeps for them (#20). `strict`: a page past the last is a NotFoundError."""
    if limit is not None and not 1 <= limit <= MAX_PAGE_SIZE:
        raise UsageError(f"limit {limit}: give 1 to {MAX_PAGE_SIZE} assets a page")
    if offset < 0:
        raise UsageError(f"offset {offset}: it counts assets from 0")
    found = catalog.queue_slice(status, limit, offset)
    if strict and offset and offset >= found.total:
        shown = PAGE_SIZE if limit is None else limit
        which = f" {status.value}" if status else ""
        raise NotFoundError(f"page {offset // shown + 1} of the queue is past its last: {found.total:,}{which} "
                            f"asset{'s' if found.total != 1 else ''} fill {max(1, -(-found.total // shown))} "
                            f"page{'s' if found.total > shown else ''}")
    rules: dict[bool, tuple[quality.Rules, str]] = {}
    rows = [_row(settings, catalog, entry, rules) for entry in found.entries]
    return QueuePage(rows, found.total, found.counts, status, offset, limit)


def queue(settings: Settings, catalog: Catalog, status: Status | None = None) -> list[QueueRow]:
    """Every asset (with `status`, when given) with its review status and figures, in queue order."""
    return queue_page(settings, catalog, status, None).rows


def _row(settings: Settings, catalog: Catalog, entry: queue_figures.QueueEntry,
         rules: dict[bool, tuple[quality.Rules, str]]) -> QueueRow:
    """A queue row from the stored figures; a track they were not counted for (captions from before revisions,
    tracks written without counts, rules changed since) is counted now, reading only. `rules`: the rules and
    their key per orientation, worked out once a page."""
    asset = entry.asset
    portrait = bool(asset.width and asset.height and asset.height > asset.width)  # as figures.rules_for says
    if portrait not in rules:
        made = editing.rules_for(settings, asset)
        rules[portrait] = (made, figures.rules_key(made))
    key = rules[portrait][1]
    cues = errors = warnings = flagged = 0
    for track in entry.tracks:
        count, counted = track.cues, track.counts
        if counted is None or counted.rules != key or track.revision is None:
            count, counted = _count_now(settings, catalog, asset, track.language)
        cues += count
        errors, warnings, flagged = errors + counted.errors, warnings + counted.warnings, flagged + counted.flagged
    return QueueRow(asset, entry.status, cues, errors, warnings, flagged, entry.last_author, entry.last_at,
                    entry.changes_note)


def _count_now(settings: Settings, catalog: Catalog, asset: Asset, language: str) -> tuple[int, Counts]:
    draft = editing.read_draft(settings, catalog, asset, language)
    cues = list(draft.revision.cues)
    return len(cues), editing.counts(settings, catalog, asset, language, cues, draft.words)


def count_uncounted(settings: Settings, catalog: Catalog, asset: Asset) -> int:
    """Store the queue's figures of the asset's tracks not counted under today's rules (part of the explicit step
    `prepare_workspace`); returns how many tracks were counted."""
    key = figures.rules_key(editing.rules_for(settings, asset))
    done = 0
    for track in catalog.queue_tracks(asset.id):
        if track.revision is not None and (track.counts is None or track.counts.rules != key):
            draft = editing.read_draft(settings, catalog, asset, track.language)
            if draft.revision.number == track.revision:
                catalog.set_counts(asset.id, track.language, track.revision,
                                   editing.counts(settings, catalog, asset, track.language, list(draft.revision.cues),
                                                  draft.words))
                done += 1
    return done


def _flag_warnings(found: list[flags.WordFlag]) -> list[quality.Violation]:
    """The flagged words still open, as warnings on the cue that shows them."""
    return [quality.Violation(f.cue, f.word.start_ms, f"word:{kind.value}", quality.Level.WARNING,
                              round(f.word.probability, 2), 0,
                              f"check \"{f.shown}\" ({flags.LABELS[kind]})")
            for f in found if f.state is flags.State.OPEN for kind in f.kinds]


def quality_report(settings: Settings, catalog: Catalog, asset: Asset) -> dict[str, list[quality.Violation]]:
    """Every quality problem of each caption track of the asset, by language, with the words flagged for a
    person to check."""
    report = {}
    for track in catalog.caption_tracks(asset.id):
        draft = editing.read_draft(settings, catalog, asset, track.language)
        cues = list(draft.revision.cues)
        states = flags.evaluate(draft.words, cues, catalog.flag_records(asset.id, track.language))
        found = quality.check(cues, draft.rules) + _flag_warnings(states)
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


@dataclass(frozen=True)
class OpenItem:
    """Something approval would let through unchecked: a flagged word still open, or a caption error."""

    kind: str  # "flag" or "error"
    language: str
    cue: int  # 1-based; 0 when no cue shows the flagged word
    cue_id: str
    text: str  # in plain words
    key: str | None = None  # the flag's key (`pipeline captions check-flag ID KEY`)


class GateError(UsageError):
    """Approval refused: flagged words or caption errors nobody has checked, listed in `open_items`."""

    def __init__(self, message: str, *, open_items: list[OpenItem]) -> None:
        super().__init__(message)
        self.open_items = open_items


def problem_text(v: quality.Violation) -> str:
    """A caption problem in plain words: what is over (or under) which limit."""
    value, limit = round(v.value, 1), round(v.limit, 1)
    if v.rule == "reading_speed":
        return f"reading speed {value:g} characters a second, over the limit of {limit:g}"
    if v.rule == "chars_per_line":
        return f"a line of {value:g} characters, over the limit of {limit:g}"
    if v.rule == "lines":
        return f"{value:g} lines, over the limit of {limit:g}"
    if v.rule == "duration":
        under = v.value < v.limit
        return (f"on screen {v.value / 1000:g} seconds, {'under the minimum' if under else 'over the limit'} of "
                f"{v.limit / 1000:g}")
    if v.rule == "overlap":
        return f"overlaps the caption before it by {v.value / 1000:g} seconds"
    if v.rule == "order":
        return "starts before the caption before it"
    return v.message


def open_items(settings: Settings, catalog: Catalog, asset: Asset) -> list[OpenItem]:
    """Every flagged word still open and every error-level caption problem, per track in cue order."""
    items: list[OpenItem] = []
    for track in catalog.caption_tracks(asset.id):
        draft = editing.read_draft(settings, catalog, asset, track.language)
        cues = list(draft.revision.cues)
        found = [OpenItem("flag", track.language, f.cue, f.cue_id, f.message, f.key)
                 for f in flags.evaluate(draft.words, cues, catalog.flag_records(asset.id, track.language))
                 if f.state is flags.State.OPEN]
        found += [OpenItem("error", track.language, v.cue, (cues[v.cue - 1].id or f"n{v.cue}") if v.cue else "",
                           problem_text(v)) for v in quality.errors(draft.problems)]
        items += sorted(found, key=lambda i: (i.cue, i.kind))
    return items


def _refusal(asset: Asset, items: list[OpenItem]) -> GateError:
    words = sum(1 for i in items if i.kind == "flag")
    errors = len(items) - words
    parts = ([f"{words} flagged word{'s' if words != 1 else ''} not checked"] if words else []) + (
        [f"{errors} caption error{'s' if errors != 1 else ''}"] if errors else [])
    first = items[0]
    return GateError(f"asset {asset.id} is not approved: {' and '.join(parts)} (first, caption {first.cue}: "
                     f"{first.text}); check them in the editor (`pipeline captions flags {asset.id}` lists the "
                     "flags), or give the reason to approve anyway (--reason \"why\")", open_items=items)


def _no_speech_refusal(asset: Asset, no_speech: bool, cue_count: int) -> UsageError:
    if no_speech:
        return UsageError(f"asset {asset.id} has {cue_count} captions, so it is not a video without speech; approve "
                          "its captions without --no-speech")
    return UsageError(f"asset {asset.id} has no captions (no speech was heard): if it needs none, decide so with "
                      f"`pipeline approve {asset.id} --reviewer NAME --no-speech`; if music or sounds matter, add "
                      "sound captions in the editor and approve them")


def approve(settings: Settings, catalog: Catalog, asset: Asset, reviewer: str, override_reason: str | None = None,
            revisions: dict[str, int] | None = None, *, no_speech: bool = False) -> Asset:
    """Approve the captions as they are now; publish checks that they have not changed since. Flagged words
    nobody checked and error-level caption problems block approval unless the reviewer gives a reason
    (`override_reason`), which is recorded with their number. `revisions` (the editor's) holds the revision the
    reviewer looked at per language: a newer one is a conflict. `no_speech`: the reviewer's decision that
    captions without a cue need none ("no speech: nothing to caption"); captions without a cue need it."""
    name = _name(reviewer)
    out_dir = settings.output_dir / asset.id
    reason = " ".join((override_reason or "").split()) or None
    digests, latest = {}, {}
    with editing.locked(out_dir):
        for track in catalog.caption_tracks(asset.id):
            track, latest[track.language] = editing.repair(settings, catalog, asset, track.language)
            seen = (revisions or {}).get(track.language, latest[track.language].number)
            if seen != latest[track.language].number:
                made = latest[track.language]
                raise ConflictError(f"{made.author} saved revision {made.number} after the revision {seen} you "
                                    "reviewed; look at their changes before approving",
                                    current_revision=made.number, author=made.author)
        cue_count = sum(len(r.cues) for r in latest.values())
        if latest and no_speech != (cue_count == 0):
            raise _no_speech_refusal(asset, no_speech, cue_count)
        items = [] if no_speech else open_items(settings, catalog, asset)
        if items and not reason:
            raise _refusal(asset, items)
        for track in catalog.caption_tracks(asset.id):
            made, path = latest[track.language], out_dir / track.path
            if not path.is_file():
                raise PipelineError(f"{path}: caption file missing; run `pipeline run` to make it again")
            vtt.write_vtt(path, list(made.cues), caption.provenance(
                track.engine, track.model, track.language, f"revision {made.number}, reviewed by {name}"))
            digests[track.language] = fsutil.sha256_file(path)
        playlists.rebuild(out_dir, catalog, asset.id)
        catalog.record_approvals(asset.id, [ApprovalRecord(
            language, digest, name, now(), sum(1 for i in items if i.language == language),
            reason if items or no_speech else None, no_speech) for language, digest in digests.items()],
            _decision_detail(name, reason, len(items), no_speech))
    blocking = any(i.kind == "error" for i in items)
    return catalog.approve_captions(asset.id, name, digests, reason if blocking else None)


def _decision_detail(name: str, reason: str | None, unchecked: int, no_speech: bool) -> str | None:
    """The line the asset's history gets for a decision beyond a plain approval."""
    if no_speech:
        return f"{NO_SPEECH}, decided by {name}{f' ({reason})' if reason else ''}"
    if unchecked:
        return f"approved by {name} with {unchecked} unchecked item{'s' if unchecked != 1 else ''}: {reason}"
    return None


NO_SPEECH = "no speech: nothing to caption"


@dataclass(frozen=True)
class NoSpeechDecision:
    """For captions without a cue: whether a reviewer decided they need none, who, and why."""

    decided_by: str | None
    reason: str | None
    at: datetime | None


def no_speech_decision(catalog: Catalog, asset: Asset, language: str, cue_count: int) -> NoSpeechDecision | None:
    """None for captions with cues; else the decision in force (its fields None while nobody has decided)."""
    if cue_count:
        return None
    track = catalog.caption_track(asset.id, language)
    record = catalog.approval_records(asset.id).get(language)
    if record is None or not record.no_speech or track.approved_sha256 != record.sha256:
        return NoSpeechDecision(None, None, None)
    return NoSpeechDecision(record.reviewer, record.reason or NO_SPEECH, record.at)


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
    """What `pipeline review` does before it serves: the explicit repair of every reviewable track, the queue's
    figures of tracks not counted under today's rules, and the editor's waveform where an older run left none.
    The pages and the API only read. An asset that cannot be prepared is left as it is (its editor shows what is
    wrong) and named in the returned lines; the others go on."""
    problems = []
    for asset in catalog.list_assets():
        if asset.state not in editing.REVIEWABLE:
            continue
        try:
            with editing.locked(settings.output_dir / asset.id):
                for track in catalog.caption_tracks(asset.id):
                    editing.repair(settings, catalog, asset, track.language)
                count_uncounted(settings, catalog, asset)
            if asset.state is AssetState.AWAITING_REVIEW:
                waveform.keep(settings.output_dir / asset.id, catalog, asset, settings.transcode.timeout_seconds)
            if asset.state in editing.REVIEWABLE:  # the audio description panel's gaps in speech (#21)
                speech.keep(settings.output_dir / asset.id, catalog, asset, settings.transcode.timeout_seconds)
        except (PipelineError, OSError) as exc:
            log.warning("asset %s could not be prepared for review: %s", asset.id, exc, exc_info=True)
            problems.append(f"{fsutil.display_name(Path(asset.source))} ({asset.id}): {exc}")
    return problems
