"""The review gate's records (#15): the state a reviewer gave each flagged word, and how each caption track was
approved (with how many items left unchecked and why, or as "no speech: nothing to caption")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from pipeline.catalog import queue
from pipeline.catalog.assets import record_event
from pipeline.catalog.schema import assets, caption_approvals, caption_flags
from pipeline.catalog.store import Store, now, utc
from pipeline.models import AssetState


@dataclass(frozen=True)
class FlagRecord:
    """What a reviewer did with one flagged word: "checked" (seeing `cue_text`) or "open" (reopened)."""

    key: str
    word: str
    state: str
    by: str
    at: datetime
    cue_text: str


@dataclass(frozen=True)
class ApprovalRecord:
    """How one caption track was approved; it describes the approval whose file has this sha256."""

    language: str
    sha256: str
    reviewer: str
    at: datetime
    unchecked: int  # flagged words and caption errors nobody had checked, approved anyway with `reason`
    reason: str | None
    no_speech: bool  # "no speech: nothing to caption"


class Gate(Store):
    def flag_records(self, asset_id: str, language: str) -> dict[str, FlagRecord]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(caption_flags).where(
                (caption_flags.c.asset_id == asset_id) & (caption_flags.c.language == language))).all()
        return {r.key: FlagRecord(r.key, r.word, r.state, r.by, utc(r.at) or now(), r.cue_text) for r in rows}

    def set_flag(self, asset_id: str, language: str, record: FlagRecord, flagged: int | None = None) -> None:
        """`flagged`: the track's open flagged words with this record (the queue's figure); None: not counted."""
        where = ((caption_flags.c.asset_id == asset_id) & (caption_flags.c.language == language)
                 & (caption_flags.c.key == record.key))
        with self._tx() as conn:
            conn.execute(caption_flags.delete().where(where))
            conn.execute(caption_flags.insert().values(
                asset_id=asset_id, language=language, key=record.key, word=record.word, state=record.state,
                by=record.by, at=record.at, cue_text=record.cue_text))
            queue.set_flagged(conn, asset_id, language, flagged)

    def record_approvals(self, asset_id: str, records: list[ApprovalRecord], detail: str | None) -> None:
        """Written before the approval itself (catalog.approve_captions): a record whose sha256 is not the one
        a track was approved with describes nothing. `detail`, when given, goes in the asset's history."""
        with self._tx() as conn:
            for record in records:
                conn.execute(caption_approvals.delete().where(
                    (caption_approvals.c.asset_id == asset_id) & (caption_approvals.c.language == record.language)))
                conn.execute(caption_approvals.insert().values(
                    asset_id=asset_id, language=record.language, sha256=record.sha256, reviewer=record.reviewer,
                    at=record.at, unchecked=record.unchecked, reason=record.reason, no_speech=record.no_speech))
            if detail:
                state = conn.execute(sa.select(assets.c.state).where(assets.c.id == asset_id)).scalar()
                record_event(conn, asset_id, AssetState(str(state)), now(), detail)

    def approval_records(self, asset_id: str) -> dict[str, ApprovalRecord]:
        """Per language, how its track was last approved (check the sha256 against the track's)."""
        with self._tx() as conn:
            rows = conn.execute(sa.select(caption_approvals).where(caption_approvals.c.asset_id == asset_id)).all()
        return {r.language: ApprovalRecord(r.language, r.sha256, r.reviewer, utc(r.at) or now(), r.unchecked,
                                           r.reason, bool(r.no_speech)) for r in rows}
