"""The review queue's figures (#20), kept in the catalog and never recomputed per request: per asset its review
status, the last edit and the changes note (review_queue); per caption track its cue count and the figures only
the review layer can count on the cues, quality problems and open flagged words (caption_figures, `Counts`).

Every catalog write that can change them updates them in its own transaction: a new asset and every state change
(assets.transition) `refresh` the asset's row; a track put, a revision saved (with the `Counts` its caller
counted on the cues saved), changes requested and a flag set update theirs too. A write that passes no `Counts`
leaves them NULL ("not counted"): review/decisions.py counts those when `pipeline review` starts, and counts a
page's uncounted tracks as it reads them, without writing. A page of the queue is then three queries. What a
catalog held before these tables is filled when it is opened (`backfill`).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pipeline.catalog.schema import assets, caption_figures, caption_revisions, captions, review_queue
from pipeline.catalog.store import utc
from pipeline.models import Asset, AssetState

AUTOMATIC = "automatic draft"  # the author of a track's revisions made by the caption stage


class ReviewStatus(enum.StrEnum):
    """Where an asset is in review, as the queue shows it."""

    PROCESSING = "processing"
    FAILED = "failed"
    AWAITING_REVIEW = "awaiting review"
    IN_REVIEW = "in review"  # a person has saved changes but not decided yet
    CHANGES_REQUESTED = "changes requested"
    APPROVED = "approved"
    PUBLISHED = "published"

    @property
    def slug(self) -> str:
        """The status as a URL's filter names it: `?state=in_review`."""
        return self.name.lower()


QUEUE_ORDER = (ReviewStatus.AWAITING_REVIEW, ReviewStatus.IN_REVIEW, ReviewStatus.CHANGES_REQUESTED,
               ReviewStatus.APPROVED, ReviewStatus.PUBLISHED, ReviewStatus.PROCESSING, ReviewStatus.FAILED)


@dataclass(frozen=True)
class Counts:
    """A track's figures that need its cues checked: counted for one revision, under the rules named `rules`."""

    errors: int  # quality problems that block approval
    warnings: int
    flagged: int  # flagged words nobody has checked or corrected
    rules: str  # which quality rules they were counted under (review/editing.py rules_key)


@dataclass(frozen=True)
class TrackFigures:
    language: str
    revision: int | None  # the revision counted; None: captions from before revisions were kept
    cues: int
    counts: Counts | None  # None: not counted for this revision yet


@dataclass(frozen=True)
class QueueEntry:
    """One asset as the catalog keeps it for the queue."""

    asset: Asset
    status: ReviewStatus
    tracks: tuple[TrackFigures, ...]  # in language order
    last_author: str | None
    last_at: datetime | None
    changes_note: str | None


@dataclass(frozen=True)
class QueueSlice:
    entries: list[QueueEntry]
    total: int  # the entries matching the filter, on every page
    counts: dict[ReviewStatus, int]  # every asset's status, unfiltered


def status_of(state: AssetState, requested: Sequence[datetime], last: tuple[str, datetime] | None) -> ReviewStatus:
    """The review status of an asset in `state`, whose tracks had changes requested at `requested` and whose
    latest revision (of any track) was saved by (author, at) `last`."""
    if state is AssetState.PUBLISHED:
        return ReviewStatus.PUBLISHED
    if state is AssetState.APPROVED:
        return ReviewStatus.APPROVED
    if state is AssetState.FAILED:
        return ReviewStatus.FAILED
    if state is not AssetState.AWAITING_REVIEW:
        return ReviewStatus.PROCESSING
    if requested and (last is None or last[0] == AUTOMATIC or last[1] <= max(requested)):
        return ReviewStatus.CHANGES_REQUESTED
    if last is not None and last[0] != AUTOMATIC:
        return ReviewStatus.IN_REVIEW
    return ReviewStatus.AWAITING_REVIEW


def put_figures(conn: Connection, asset_id: str, language: str, revision: int | None, cues: int,
                counts: Counts | None) -> None:
    where = (caption_figures.c.asset_id == asset_id) & (caption_figures.c.language == language)
    conn.execute(caption_figures.delete().where(where))
    conn.execute(caption_figures.insert().values(
        asset_id=asset_id, language=language, revision=revision, cues=cues,
        errors=counts.errors if counts else None, warnings=counts.warnings if counts else None,
        flagged=counts.flagged if counts else None, rules=counts.rules if counts else None))


def set_flagged(conn: Connection, asset_id: str, language: str, flagged: int | None) -> None:
    """A flag changed state: the track's open flagged words are `flagged` now (None: not counted)."""
    where = (caption_figures.c.asset_id == asset_id) & (caption_figures.c.language == language)
    if flagged is None:
        conn.execute(caption_figures.update().where(where).values(errors=None, warnings=None, flagged=None,
                                                                  rules=None))
    else:
        conn.execute(caption_figures.update().where(where & caption_figures.c.rules.is_not(None))
                     .values(flagged=flagged))


def refresh(conn: Connection, asset_id: str) -> None:
    """The asset's queue row, from its state, its tracks and their latest revisions, in the caller's transaction."""
    state = conn.execute(sa.select(assets.c.state).where(assets.c.id == asset_id)).scalar()
    if state is None:
        return
    latest = sa.and_(caption_revisions.c.asset_id == captions.c.asset_id,
                     caption_revisions.c.language == captions.c.language,
                     caption_revisions.c.number == captions.c.revision)
    tracks = conn.execute(sa.select(captions.c.revision, captions.c.generated_at, captions.c.changes_note,
                                    captions.c.changes_at, caption_revisions.c.author, caption_revisions.c.created_at)
                          .select_from(captions.outerjoin(caption_revisions, latest))
                          .where(captions.c.asset_id == asset_id).order_by(captions.c.language)).all()
    last: tuple[str, datetime] | None = None
    for track in tracks:
        # Captions from before revisions were kept are the caption stage's, made when the track was.
        author, made = (AUTOMATIC, track.generated_at) if track.revision is None else (track.author, track.created_at)
        at = utc(made)
        if author is not None and at is not None and (last is None or at > last[1]):
            last = (str(author), at)
    requested = [at for at in (utc(t.changes_at) for t in tracks) if at is not None]
    status = status_of(AssetState(state), requested, last)
    values = {"status": status.value, "position": QUEUE_ORDER.index(status),
              "last_author": last[0] if last else None, "last_at": last[1] if last else None,
              "changes_note": next((t.changes_note for t in tracks if t.changes_note), None)}
    done = conn.execute(review_queue.update().where(review_queue.c.asset_id == asset_id).values(**values))
    if done.rowcount == 0:
        conn.execute(review_queue.insert().values(asset_id=asset_id, **values))



def revision_cue_count(conn: Connection, asset_id: str, language: str, revision: int | None,
                       default: int | None) -> int:
    """How many cues revision `revision` of a track holds; `default` (the track's cue count) for captions from
    before revisions were kept, or a revision not found."""
    if revision is not None:
        text = conn.execute(sa.select(caption_revisions.c.cues).where(
            (caption_revisions.c.asset_id == asset_id) & (caption_revisions.c.language == language)
            & (caption_revisions.c.number == revision))).scalar()
        if text is not None:
            return len(json.loads(text))
    return int(default or 0)

def backfill(conn: Connection) -> None:
    """Figures for what the catalog held before it kept them, run each time it is opened, after the migrations
    (two queries when nothing is missing): a track without figures gets its cue count (its latest revision's, or
    the track's own for captions from before revisions) and nothing counted; an asset without a queue row gets
    one."""
    missing = sa.and_(caption_figures.c.asset_id == captions.c.asset_id,
                      caption_figures.c.language == captions.c.language)
    tracks = conn.execute(sa.select(captions.c.asset_id, captions.c.language, captions.c.revision,
                                    captions.c.cue_count).select_from(captions.outerjoin(caption_figures, missing))
                          .where(caption_figures.c.asset_id.is_(None))).all()
    for track in tracks:
        cues = revision_cue_count(conn, track.asset_id, track.language, track.revision, track.cue_count)
        put_figures(conn, track.asset_id, track.language, track.revision, cues, None)
    unlisted = conn.execute(sa.select(assets.c.id).select_from(
        assets.outerjoin(review_queue, review_queue.c.asset_id == assets.c.id))
        .where(review_queue.c.asset_id.is_(None))).scalars().all()
    for asset_id in unlisted:
        refresh(conn, asset_id)


def figures(conn: Connection, asset_ids: list[str] | None) -> dict[str, tuple[TrackFigures, ...]]:
    """The tracks' figures of these assets (of every asset: None), per asset in language order."""
    query = sa.select(caption_figures).order_by(caption_figures.c.asset_id, caption_figures.c.language)
    if asset_ids is not None:
        query = query.where(caption_figures.c.asset_id.in_(asset_ids))
    found: dict[str, list[TrackFigures]] = {}
    for r in conn.execute(query).all():
        counted = None if r.rules is None or r.errors is None or r.warnings is None or r.flagged is None \
            else Counts(r.errors, r.warnings, r.flagged, r.rules)
        found.setdefault(r.asset_id, []).append(TrackFigures(r.language, r.revision, r.cues, counted))
    return {asset_id: tuple(items) for asset_id, items in found.items()}


def order(conn: Connection) -> list[sa.ColumnElement[Any]]:
    # The queue's order of old, in Python: status, then the source path by code point, then the asset list's
    # order. SQLite compares text that way; PostgreSQL by its locale unless told "C".
    source = assets.c.source.collate("C") if conn.dialect.name == "postgresql" else assets.c.source
    return [review_queue.c.position, source, assets.c.created_at, assets.c.id]
