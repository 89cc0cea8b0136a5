"""Assets: their rows, their state machine, their history of events, their renditions and their leases.

`transition` is the one function that changes an asset's state: it checks TRANSITIONS, writes the state and
records the event, inside the caller's transaction. Every state change in the program goes through it (a test
fails on any other writer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pipeline.catalog import queue
from pipeline.catalog.schema import ID_LENGTH, assets, caption_figures, events, renditions, review_queue
from pipeline.catalog.store import Store, now, utc
from pipeline.errors import NotFoundError, UsageError
from pipeline.models import Asset, AssetState, Rendition, RenditionKind, StateEvent

# Which state may follow which. Re-entering PROCESSING from PROCESSING reclaims a crashed run's asset.
TRANSITIONS: dict[AssetState, frozenset[AssetState]] = {
    AssetState.NEW: frozenset({AssetState.PROCESSING, AssetState.FAILED}),
    AssetState.PROCESSING: frozenset({AssetState.PROCESSING, AssetState.AWAITING_REVIEW, AssetState.FAILED}),
    AssetState.FAILED: frozenset({AssetState.PROCESSING, AssetState.FAILED}),
    # PUBLISHED straight from AWAITING_REVIEW only through `publish --allow-unreviewed`, which is recorded.
    AssetState.AWAITING_REVIEW: frozenset({AssetState.APPROVED, AssetState.PROCESSING, AssetState.PUBLISHED}),
    AssetState.APPROVED: frozenset({AssetState.PUBLISHED, AssetState.AWAITING_REVIEW}),
    AssetState.PUBLISHED: frozenset({AssetState.PUBLISHED, AssetState.APPROVED, AssetState.AWAITING_REVIEW}),
}


def record_event(conn: Connection, asset_id: str, state: AssetState, at: datetime, detail: str | None) -> None:
    """A line in the asset's history; its state is the one the asset has (or now takes)."""
    conn.execute(events.insert().values(asset_id=asset_id, state=state.value, at=at, detail=detail))


def transition(conn: Connection, asset_id: str, state: AssetState, *, detail: str | None = None,
               error: str | None = None, only_from: frozenset[AssetState] | None = None) -> AssetState:
    """Move the asset to `state`, in the caller's transaction: allowed only as TRANSITIONS says (and, with
    `only_from`, only from those states); the error is kept only for FAILED; the stage and its progress are
    cleared; the change is recorded with `error or detail`. Returns the state it came from."""
    row = conn.execute(sa.select(assets.c.state).where(assets.c.id == asset_id)).first()
    if row is None:
        raise NotFoundError(f"no asset with id {asset_id!r}")
    current = AssetState(row.state)
    if state not in TRANSITIONS[current] or (only_from is not None and current not in only_from):
        raise UsageError(f"asset {asset_id} is {current.value}; it cannot become {state.value}")
    stamp = now()
    conn.execute(assets.update().where(assets.c.id == asset_id).values(
        state=state.value, error=error if state is AssetState.FAILED else None, updated_at=stamp, stage=None,
        progress=None))
    record_event(conn, asset_id, state, stamp, error or detail)
    queue.refresh(conn, asset_id)
    return current


class Assets(Store):
    @staticmethod
    def _migrate(conn: Connection) -> None:
        Store._migrate(conn)
        queue.backfill(conn)  # the queue's rows of what the catalog held before it kept them (#20)

    @staticmethod
    def _asset(row: Any) -> Asset:
        return Asset(
            id=row.id, sha256=row.sha256, source=row.source, version=row.version,
            size_bytes=row.size_bytes, state=AssetState(row.state), error=row.error,
            duration_ms=row.duration_ms, width=row.width, height=row.height, has_audio=row.has_audio,
            stage=row.stage, progress=row.progress,
            loudness_lufs=row.loudness_i, publication=row.publication,
            created_at=utc(row.created_at) or now(), updated_at=utc(row.updated_at) or now(),
            ladder_error=row.ladder_error,
            title=row.title,
        )

    def find_by_sha256(self, sha256: str) -> Asset | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(assets).where(assets.c.sha256 == sha256)).first()
        return self._asset(row) if row else None

    def add_asset(self, sha256: str, source: str, size_bytes: int) -> Asset:
        """Insert a new asset for this content. A new content at a known source path is its next version."""
        stamp = now()
        with self._tx() as conn:
            previous = conn.execute(
                sa.select(sa.func.count()).select_from(assets).where(assets.c.source == source)).scalar()
            asset_id = sha256[:ID_LENGTH]
            conn.execute(assets.insert().values(
                id=asset_id, sha256=sha256, source=source, version=int(previous or 0) + 1,
                size_bytes=size_bytes, state=AssetState.NEW.value, created_at=stamp, updated_at=stamp))
            record_event(conn, asset_id, AssetState.NEW, stamp, f"found {source}")
            queue.refresh(conn, asset_id)
        return self.get(asset_id)

    def get(self, id_or_prefix: str) -> Asset:
        """An asset by its id or an unambiguous prefix of at least 4 characters."""
        key = id_or_prefix.strip().lower()
        if len(key) < 4 or not all(c in "0123456789abcdef" for c in key):
            raise NotFoundError(f"{id_or_prefix!r} is not an asset id; `pipeline status` lists them")
        with self._tx() as conn:
            rows = conn.execute(sa.select(assets).where(assets.c.id.startswith(key)).limit(2)).all()
        if not rows:
            raise NotFoundError(f"no asset with id {id_or_prefix!r}; `pipeline status` lists them")
        if len(rows) > 1:
            raise UsageError(f"asset id {id_or_prefix!r} is ambiguous; give more characters")
        return self._asset(rows[0])

    def list_assets(self) -> list[Asset]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(assets).order_by(assets.c.created_at, assets.c.id)).all()
        return [self._asset(r) for r in rows]

    def queue_slice(self, status: queue.ReviewStatus | None = None, limit: int | None = None,
                    offset: int = 0) -> queue.QueueSlice:
        """The assets in queue order (with `status` only, when given), `limit` of them from `offset` (every one
        when None), with their stored figures; the total that match and every status's count (#20)."""
        with self._tx() as conn:
            counts = dict.fromkeys(queue.QUEUE_ORDER, 0)
            for name, count in conn.execute(sa.select(review_queue.c.status, sa.func.count())
                                            .group_by(review_queue.c.status)).all():
                counts[queue.ReviewStatus(name)] = int(count)
            extra = [review_queue.c.status.label("queue_status"), review_queue.c.last_author,
                     review_queue.c.last_at, review_queue.c.changes_note]
            query = sa.select(assets, *extra).join(review_queue, review_queue.c.asset_id == assets.c.id)
            if status is not None:
                query = query.where(review_queue.c.status == status.value)
            query = query.order_by(*queue.order(conn)).offset(offset)
            rows = conn.execute(query if limit is None else query.limit(limit)).all()
            tracks = queue.figures(conn, None if limit is None else [r.id for r in rows])
        entries = [queue.QueueEntry(self._asset(r), queue.ReviewStatus(r.queue_status), tracks.get(r.id, ()),
                                    r.last_author, utc(r.last_at), r.changes_note) for r in rows]
        return queue.QueueSlice(entries, counts[status] if status is not None else sum(counts.values()), counts)

    def queue_tracks(self, asset_id: str) -> tuple[queue.TrackFigures, ...]:
        with self._tx() as conn:
            return queue.figures(conn, [asset_id]).get(asset_id, ())

    def set_counts(self, asset_id: str, language: str, revision: int, counts: queue.Counts) -> None:
        """The queue's figures of a track's revision, counted late (review/decisions.py count_uncounted); a
        revision saved since keeps its own."""
        with self._tx() as conn:
            conn.execute(caption_figures.update().where(
                (caption_figures.c.asset_id == asset_id) & (caption_figures.c.language == language)
                & (caption_figures.c.revision == revision)).values(
                errors=counts.errors, warnings=counts.warnings, flagged=counts.flagged, rules=counts.rules))

    def set_probe(self, asset_id: str, duration_ms: int, width: int, height: int, has_audio: bool) -> None:
        with self._tx() as conn:
            conn.execute(assets.update().where(assets.c.id == asset_id).values(
                duration_ms=duration_ms, width=width, height=height, has_audio=has_audio, updated_at=now()))

    def set_progress(self, asset_id: str, stage: str | None, fraction: float | None) -> None:
        with self._tx() as conn:
            conn.execute(assets.update().where(assets.c.id == asset_id).values(stage=stage, progress=fraction))

    def set_ladder_error(self, asset_id: str, error: str | None) -> None:
        """The ladder of an asset already in review failed (or, None, succeeded): its state stays (#19)."""
        with self._tx() as conn:
            conn.execute(assets.update().where(assets.c.id == asset_id).values(ladder_error=error))

    def set_publication(self, asset_id: str, token: str | None) -> None:
        with self._tx() as conn:
            conn.execute(assets.update().where(assets.c.id == asset_id).values(publication=token))

    def set_title(self, asset_id: str, title: str | None) -> None:
        with self._tx() as conn:
            conn.execute(assets.update().where(assets.c.id == asset_id).values(title=title))

    def set_loudness(self, asset_id: str, integrated: float, true_peak: float, loudness_range: float) -> None:
        with self._tx() as conn:
            conn.execute(assets.update().where(assets.c.id == asset_id).values(
                loudness_i=integrated, loudness_tp=true_peak, loudness_lra=loudness_range))

    def set_state(self, asset_id: str, state: AssetState, *, detail: str | None = None,
                  error: str | None = None, only_from: frozenset[AssetState] | None = None) -> Asset:
        with self._tx() as conn:
            transition(conn, asset_id, state, detail=detail, error=error, only_from=only_from)
        return self.get(asset_id)

    def events(self, asset_id: str) -> list[StateEvent]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(events).where(events.c.asset_id == asset_id)
                                .order_by(events.c.id)).all()
        return [StateEvent(r.asset_id, AssetState(r.state), utc(r.at) or now(), r.detail) for r in rows]

    # -- renditions ---------------------------------------------------------------------------------

    def replace_renditions(self, asset_id: str, items: list[Rendition]) -> None:
        """The ladder's renditions (every kind but the review proxy, which set_proxy keeps: a proxy in `items`,
        as in a list read back from `renditions`, is left as it is)."""
        with self._tx() as conn:
            conn.execute(renditions.delete().where((renditions.c.asset_id == asset_id)
                                                   & (renditions.c.kind != RenditionKind.PROXY.value)))
            self._insert_renditions(conn, asset_id, [r for r in items if r.kind is not RenditionKind.PROXY])

    def set_proxy(self, asset_id: str, proxy: Rendition) -> None:
        with self._tx() as conn:
            conn.execute(renditions.delete().where((renditions.c.asset_id == asset_id)
                                                   & (renditions.c.kind == RenditionKind.PROXY.value)))
            self._insert_renditions(conn, asset_id, [proxy])

    @staticmethod
    def _insert_renditions(conn: Connection, asset_id: str, items: list[Rendition]) -> None:
        for r in items:
            conn.execute(renditions.insert().values(
                asset_id=asset_id, name=r.name, kind=r.kind.value, path=r.path, width=r.width,
                height=r.height, size_bytes=r.size_bytes, codecs=r.codecs, frame_rate=r.frame_rate,
                bandwidth=r.bandwidth, average_bandwidth=r.average_bandwidth))

    def renditions(self, asset_id: str) -> list[Rendition]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(renditions).where(renditions.c.asset_id == asset_id)
                                .order_by(renditions.c.height.desc(), renditions.c.name)).all()
        return [Rendition(r.asset_id, r.name, RenditionKind(r.kind), r.path, r.width, r.height, r.size_bytes, r.codecs,
                          r.frame_rate, r.bandwidth, r.average_bandwidth) for r in rows]

    def ladder_done(self, asset_id: str) -> bool:
        """The ladder is recorded: the transcode stage records its renditions only once all are made (#19)."""
        return any(r.kind is RenditionKind.MP4 for r in self.renditions(asset_id))

    # -- leases -----------------------------------------------------------------------------------------
    # A `pipeline run` claims an asset before working on it, so that two runs never process it at once (#7).
    # The claim is one conditional UPDATE, atomic in SQLite and PostgreSQL alike. It lasts until
    # lease_expires_at and is renewed while the run works; a run killed with SIGKILL leaves it behind, and it
    # runs out, or is taken over at once by a run that knows its holder is dead (runner.py).

    def claim(self, asset_id: str, owner: str, until: datetime, states: frozenset[AssetState], *,
              take_from: str | None = None) -> bool:
        """Claim the asset for `owner` while it is in one of `states` and its lease is free, run out, already
        `owner`'s, or held by `take_from` (a holder known to be dead). True when the claim is `owner`'s."""
        lease = assets.c.lease_owner
        free = lease.is_(None) | (assets.c.lease_expires_at < now()) | (lease == owner)
        if take_from is not None:
            free = free | (lease == take_from)
        with self._tx() as conn:
            done = conn.execute(assets.update().where(
                (assets.c.id == asset_id) & assets.c.state.in_([s.value for s in states]) & free)
                .values(lease_owner=owner, lease_expires_at=until))
        return bool(done.rowcount == 1)

    def renew_lease(self, asset_id: str, owner: str, until: datetime) -> bool:
        """Extend `owner`'s claim; False when it is no longer theirs (it ran out and another run took it)."""
        with self._tx() as conn:
            done = conn.execute(assets.update().where(
                (assets.c.id == asset_id) & (assets.c.lease_owner == owner)).values(lease_expires_at=until))
        return bool(done.rowcount == 1)

    def release_lease(self, asset_id: str, owner: str) -> None:
        with self._tx() as conn:
            conn.execute(assets.update().where((assets.c.id == asset_id) & (assets.c.lease_owner == owner))
                         .values(lease_owner=None, lease_expires_at=None))

    def lease(self, asset_id: str) -> tuple[str, datetime] | None:
        """Who holds the asset's lease and until when; None when nobody does."""
        with self._tx() as conn:
            row = conn.execute(sa.select(assets.c.lease_owner, assets.c.lease_expires_at)
                               .where(assets.c.id == asset_id)).first()
        if row is None or row.lease_owner is None:
            return None
        return str(row.lease_owner), utc(row.lease_expires_at) or now()
