"""The state store: schema, migrations and state transitions, on SQLAlchemy Core.

SQLite (WAL mode) in the state folder is the default. Only portable SQLAlchemy types and statements are used,
so a PostgreSQL URL can replace the SQLite one for a multi-machine deployment without a new schema.
Every write goes through this module: the rest of the code never sees a connection or a row.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from pipeline.config import Settings
from pipeline.errors import ConflictError, NotFoundError, PipelineError, ServiceError, UsageError
from pipeline.models import (
    Asset,
    AssetState,
    CaptionState,
    CaptionTrack,
    Cue,
    Rendition,
    RenditionKind,
    Revision,
    ShareLink,
    StateEvent,
)
from pipeline.schema import (
    ID_LENGTH,
    MIGRATIONS,
    assets,
    caption_revisions,
    captions,
    events,
    renditions,
    schema_version,
    share_links,
)

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


CONNECT_TIMEOUT_SECONDS = 10  # a PostgreSQL host that does not answer is an error, not a hang
MIGRATION_LOCK_KEY = 0x706970656C696E65  # "pipeline": the PostgreSQL advisory lock held while migrating


def open_catalog(settings: Settings) -> Catalog:
    """The configured catalog: PostgreSQL in the distributed mode, else SQLite in the state folder."""
    return Catalog.connect(settings.cluster.catalog) if settings.distributed else Catalog.open(settings.state_dir)


def now() -> datetime:
    stamp = datetime.now(UTC)
    return stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)


def _utc(value: datetime | None) -> datetime | None:
    """In UTC: SQLite keeps no time zone, and PostgreSQL answers in its session's."""
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Catalog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, state_dir: Path) -> Catalog:
        state_dir.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(f"sqlite:///{state_dir / 'catalog.sqlite3'}")
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        catalog = cls(engine)
        # Two processes opening a new or older catalog at once (two runs, a run and the review app) must not
        # both create or migrate it.
        with open(state_dir / "catalog.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            catalog.migrate()
        return catalog

    @classmethod
    def connect(cls, url: str) -> Catalog:
        """The catalog on a PostgreSQL server, shared by every machine of a distributed deployment (#8)."""
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=8,
                                  connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
        catalog = cls(engine)
        try:
            with engine.begin() as conn:
                # Two machines starting on a new or older catalog at once must not both create or migrate it.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                catalog._migrate(conn)
        except sa.exc.OperationalError as exc:
            engine.dispose()
            where = engine.url.render_as_string(hide_password=True)
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise ServiceError(f"catalog at {where} is unreachable or refused the connection ({reason}); check "
                               "[cluster] catalog and that PostgreSQL is running") from exc
        return catalog

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- schema -----------------------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self._tx() as conn:
            if not sa.inspect(conn).has_table("schema_version"):
                return 0
            return int(conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)

    def migrate(self) -> None:
        with self._tx() as conn:
            self._migrate(conn)

    @staticmethod
    def _migrate(conn: Connection) -> None:
        if not sa.inspect(conn).has_table("schema_version"):
            schema_version.create(conn)
        current = int(conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)
        if current > len(MIGRATIONS):
            raise PipelineError(f"catalog schema version {current} is newer than this program "
                                f"({len(MIGRATIONS)}); upgrade the pipeline")
        for version, migration in enumerate(MIGRATIONS[current:], start=current + 1):
            migration(conn)
            conn.execute(schema_version.insert().values(version=version))

    # -- assets -----------------------------------------------------------------------------------------

    @staticmethod
    def _asset(row: Any) -> Asset:
        return Asset(
            id=row.id, sha256=row.sha256, source=row.source, version=row.version,
            size_bytes=row.size_bytes, state=AssetState(row.state), error=row.error,
            duration_ms=row.duration_ms, width=row.width, height=row.height, has_audio=row.has_audio,
            stage=row.stage, progress=row.progress,
            loudness_lufs=row.loudness_i, publication=row.publication,
            created_at=_utc(row.created_at) or now(), updated_at=_utc(row.updated_at) or now(),
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
            conn.execute(events.insert().values(asset_id=asset_id, state=AssetState.NEW.value, at=stamp,
                                                detail=f"found {source}"))
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

    def set_probe(self, asset_id: str, duration_ms: int, width: int, height: int, has_audio: bool) -> None:
        with self._tx() as conn:
            conn.execute(assets.update().where(assets.c.id == asset_id).values(
                duration_ms=duration_ms, width=width, height=height, has_audio=has_audio, updated_at=now()))

    def set_progress(self, asset_id: str, stage: str | None, fraction: float | None) -> None:
        with self._tx() as conn:
            conn.execute(assets.update().where(assets.c.id == asset_id).values(stage=stage, progress=fraction))

    def set_publication(self, asset_id: str, token: str | None) -> None:
        with self._tx() as conn:
            conn.execute(assets.update().where(assets.c.id == asset_id).values(publication=token))

    def set_loudness(self, asset_id: str, integrated: float, true_peak: float, loudness_range: float) -> None:
        with self._tx() as conn:
            conn.execute(assets.update().where(assets.c.id == asset_id).values(
                loudness_i=integrated, loudness_tp=true_peak, loudness_lra=loudness_range))

    def set_state(self, asset_id: str, state: AssetState, *, detail: str | None = None,
                  error: str | None = None) -> Asset:
        stamp = now()
        with self._tx() as conn:
            row = conn.execute(sa.select(assets.c.state).where(assets.c.id == asset_id)).first()
            if row is None:
                raise NotFoundError(f"no asset with id {asset_id!r}")
            current = AssetState(row.state)
            if state not in TRANSITIONS[current]:
                raise UsageError(f"asset {asset_id} is {current.value}; it cannot become {state.value}")
            conn.execute(assets.update().where(assets.c.id == asset_id).values(
                state=state.value, error=error if state is AssetState.FAILED else None, updated_at=stamp,
                stage=None, progress=None))
            conn.execute(events.insert().values(asset_id=asset_id, state=state.value, at=stamp,
                                                detail=error or detail))
        return self.get(asset_id)

    def events(self, asset_id: str) -> list[StateEvent]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(events).where(events.c.asset_id == asset_id)
                                .order_by(events.c.id)).all()
        return [StateEvent(r.asset_id, AssetState(r.state), _utc(r.at) or now(), r.detail) for r in rows]

    # -- renditions and captions --------------------------------------------------------------------

    def replace_renditions(self, asset_id: str, items: list[Rendition]) -> None:
        with self._tx() as conn:
            conn.execute(renditions.delete().where(renditions.c.asset_id == asset_id))
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

    def put_caption_track(self, track: CaptionTrack) -> None:
        with self._tx() as conn:
            conn.execute(captions.delete().where(
                (captions.c.asset_id == track.asset_id) & (captions.c.language == track.language)))
            conn.execute(captions.insert().values(
                asset_id=track.asset_id, language=track.language, path=track.path, state=track.state.value,
                cue_count=track.cue_count, engine=track.engine, model=track.model, reviewer=track.reviewer,
                approved_at=track.approved_at, approved_sha256=track.approved_sha256, revision=track.revision,
                generated_at=track.generated_at, detected_language=track.detected_language))

    def caption_tracks(self, asset_id: str) -> list[CaptionTrack]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(captions).where(captions.c.asset_id == asset_id)
                                .order_by(captions.c.language)).all()
        return [CaptionTrack(r.asset_id, r.language, r.path, CaptionState(r.state), r.cue_count, r.engine,
                             r.model, r.reviewer, _utc(r.approved_at), r.approved_sha256, r.revision,
                             _utc(r.generated_at), r.detected_language, r.changes_note, r.changes_by,
                             _utc(r.changes_at)) for r in rows]

    def caption_track(self, asset_id: str, language: str) -> CaptionTrack:
        track = next((t for t in self.caption_tracks(asset_id) if t.language == language), None)
        if track is None:
            raise NotFoundError(f"asset {asset_id} has no {language!r} captions yet; `pipeline status` shows "
                                "whether it is still being processed")
        return track

    # -- caption revisions ------------------------------------------------------------------------------

    def save_revision(self, asset_id: str, language: str, base: int | None, author: str, summary: str,
                      cues: list[Cue], *, withdraw: bool = True) -> Revision:
        """Record a new revision of a caption track, if `base` is still the latest (else ConflictError: two
        reviewers never overwrite each other). The approval is withdrawn and the asset is back in review,
        unless `withdraw` is False (recording captions that were made before revisions were kept)."""
        stamp = now()
        state = CaptionState.DRAFT if cues else CaptionState.NO_SPEECH
        with self._tx() as conn:
            where = (captions.c.asset_id == asset_id) & (captions.c.language == language)
            same_base = captions.c.revision.is_(None) if base is None else captions.c.revision == base
            number = (base or 0) + 1
            changes: dict[str, Any] = {"revision": number}
            if withdraw:
                changes.update(state=state.value, cue_count=len(cues), reviewer=None, approved_at=None,
                               approved_sha256=None, override_reason=None)
            updated = conn.execute(captions.update().where(where & same_base).values(**changes))
            if updated.rowcount != 1:
                latest = conn.execute(sa.select(caption_revisions).where(
                    (caption_revisions.c.asset_id == asset_id) & (caption_revisions.c.language == language))
                    .order_by(caption_revisions.c.number.desc()).limit(1)).first()
                if latest is None:
                    raise NotFoundError(f"asset {asset_id} has no {language!r} captions")
                raise ConflictError(
                    f"{latest.author} saved revision {latest.number} of these captions at "
                    f"{_utc(latest.created_at):%H:%M:%S} UTC, after the revision {base} this change was based on; "
                    "load their version before saving", current_revision=latest.number, author=latest.author)
            conn.execute(caption_revisions.insert().values(
                asset_id=asset_id, language=language, number=number, author=author, created_at=stamp,
                summary=summary, cues=json.dumps([[c.start_ms, c.end_ms, c.text] for c in cues])))
            state_now = conn.execute(sa.select(assets.c.state).where(assets.c.id == asset_id)).scalar()
            if withdraw and state_now in (AssetState.APPROVED.value, AssetState.PUBLISHED.value):
                conn.execute(assets.update().where(assets.c.id == asset_id).values(
                    state=AssetState.AWAITING_REVIEW.value, updated_at=stamp))
                conn.execute(events.insert().values(asset_id=asset_id, state=AssetState.AWAITING_REVIEW.value,
                                                    at=stamp, detail=f"{language} captions edited by {author}"))
        return Revision(asset_id, language, number, author, stamp, summary, tuple(cues))

    @staticmethod
    def _revision(r: Any) -> Revision:
        cues = tuple(Cue(int(a), int(b), str(t)) for a, b, t in json.loads(r.cues))
        return Revision(r.asset_id, r.language, r.number, r.author, _utc(r.created_at) or now(), r.summary, cues)

    def revisions(self, asset_id: str, language: str) -> list[Revision]:
        """Every revision of a caption track, newest first."""
        with self._tx() as conn:
            rows = conn.execute(sa.select(caption_revisions).where(
                (caption_revisions.c.asset_id == asset_id) & (caption_revisions.c.language == language))
                .order_by(caption_revisions.c.number.desc())).all()
        return [self._revision(r) for r in rows]

    def revision(self, asset_id: str, language: str, number: int) -> Revision:
        with self._tx() as conn:
            row = conn.execute(sa.select(caption_revisions).where(
                (caption_revisions.c.asset_id == asset_id) & (caption_revisions.c.language == language)
                & (caption_revisions.c.number == number))).first()
        if row is None:
            raise NotFoundError(f"asset {asset_id} has no revision {number} of its {language!r} captions")
        return self._revision(row)

    def request_changes(self, asset_id: str, reviewer: str, note: str) -> None:
        stamp = now()
        with self._tx() as conn:
            conn.execute(captions.update().where(captions.c.asset_id == asset_id).values(
                changes_note=note, changes_by=reviewer, changes_at=stamp))
            state = conn.execute(sa.select(assets.c.state).where(assets.c.id == asset_id)).scalar()
            conn.execute(events.insert().values(asset_id=asset_id, state=state, at=stamp,
                                                detail=f"changes requested by {reviewer}: {note}"))

    def approve_captions(self, asset_id: str, reviewer: str, file_sha256: dict[str, str],
                         override_reason: str | None = None) -> Asset:
        """Approve every caption track of an asset awaiting review, and the asset with them, atomically.
        `file_sha256` holds, per language, the SHA-256 of the caption file the reviewer approved."""
        stamp = now()
        with self._tx() as conn:
            row = conn.execute(sa.select(assets.c.state).where(assets.c.id == asset_id)).first()
            if row is None or AssetState(row.state) is not AssetState.AWAITING_REVIEW:
                state = AssetState(row.state).value if row else "unknown"
                raise UsageError(f"asset {asset_id} is {state}; only assets awaiting review can be approved")
            conn.execute(captions.update().where(
                (captions.c.asset_id == asset_id) & (captions.c.state == CaptionState.DRAFT.value))
                .values(state=CaptionState.APPROVED.value))
            for language, digest in file_sha256.items():
                conn.execute(captions.update().where(
                    (captions.c.asset_id == asset_id) & (captions.c.language == language))
                    .values(reviewer=reviewer, approved_at=stamp, approved_sha256=digest,
                            override_reason=override_reason, changes_note=None, changes_by=None, changes_at=None))
            conn.execute(assets.update().where(assets.c.id == asset_id)
                         .values(state=AssetState.APPROVED.value, updated_at=stamp))
            overridden = f"; quality errors overridden: {override_reason}" if override_reason else ""
            conn.execute(events.insert().values(asset_id=asset_id, state=AssetState.APPROVED.value, at=stamp,
                                                detail=f"captions approved by {reviewer}{overridden}"))
        return self.get(asset_id)

    # -- share links ------------------------------------------------------------------------------------

    def add_share_link(self, link: ShareLink) -> None:
        with self._tx() as conn:
            conn.execute(share_links.insert().values(
                id=link.id, asset_id=link.asset_id, object_key=link.object_key, audience=link.audience,
                created_by=link.created_by, created_at=link.created_at, expires_at=link.expires_at))

    @staticmethod
    def _link(r: Any) -> ShareLink:
        return ShareLink(r.id, r.asset_id, r.object_key, r.audience, r.created_by, _utc(r.created_at) or now(),
                         _utc(r.expires_at) or now(), _utc(r.revoked_at))

    def share_links(self, asset_id: str) -> list[ShareLink]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(share_links).where(share_links.c.asset_id == asset_id)
                                .order_by(share_links.c.created_at)).all()
        return [self._link(r) for r in rows]

    def share_link(self, link_id: str) -> ShareLink:
        with self._tx() as conn:
            row = conn.execute(sa.select(share_links).where(share_links.c.id == link_id)).first()
        if row is None:
            raise NotFoundError(f"no share link {link_id!r}; `pipeline share --list ID` lists an asset's links")
        return self._link(row)

    def revoke_share_link(self, link_id: str) -> None:
        with self._tx() as conn:
            conn.execute(share_links.update().where(share_links.c.id == link_id).values(revoked_at=now()))

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
        return str(row.lease_owner), _utc(row.lease_expires_at) or now()
