"""The jobs of the distributed mode (#8), kept in the catalog beside the assets they work on.

A job is one asset's group of stages run as one Celery task (cluster/tasks.py). Its row says whether it is
queued, running, retrying, done or failed, which worker started it last and how many times a worker started
it, so that `pipeline status` shows work per state and per worker, a duplicate delivery of a finished task is
recognised, and a task that keeps failing (or keeps killing its worker) stops after [cluster] max_attempts.
Each change is one statement or one transaction, atomic on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from pipeline.catalog.schema import jobs
from pipeline.catalog.store import Store, now
from pipeline.models import ACTIVE_JOB_STATES, JobRecord, JobState


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite keeps no time zone


def _record(r: Any) -> JobRecord:
    return JobRecord(r.asset_id, r.stage, JobState(r.state), r.attempts, r.worker, r.error, _utc(r.queued_at),
                     _utc(r.updated_at), _utc(r.started_at) if r.started_at else None)


class JobBook:
    def __init__(self, catalog: Store) -> None:
        self.engine = catalog.engine

    def _where(self, asset_id: str, stage: str) -> Any:
        return (jobs.c.asset_id == asset_id) & (jobs.c.stage == stage)

    def get(self, asset_id: str, stage: str) -> JobRecord | None:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(jobs).where(self._where(asset_id, stage))).first()
        return _record(row) if row else None

    def for_asset(self, asset_id: str) -> list[JobRecord]:
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(jobs).where(jobs.c.asset_id == asset_id).order_by(jobs.c.queued_at)).all()
        return [_record(r) for r in rows]

    def all(self) -> list[JobRecord]:
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(jobs).order_by(jobs.c.queued_at, jobs.c.asset_id)).all()
        return [_record(r) for r in rows]

    def queue(self, asset_id: str, *stages: str) -> bool:
        """Record new jobs, unless the asset already has one queued, running or retrying (two `pipeline run`
        at once, or a run while workers are busy). True when this call queued them: the caller sends the tasks."""
        stamp = now()
        try:
            with self.engine.begin() as conn:
                busy = conn.execute(sa.select(sa.func.count()).select_from(jobs).where(
                    (jobs.c.asset_id == asset_id) & jobs.c.state.in_([s.value for s in ACTIVE_JOB_STATES]))).scalar()
                if busy:
                    return False
                for stage in stages:
                    conn.execute(jobs.delete().where(self._where(asset_id, stage)))
                    conn.execute(jobs.insert().values(asset_id=asset_id, stage=stage, state=JobState.QUEUED.value,
                                                      attempts=0, queued_at=stamp, updated_at=stamp))
        except IntegrityError:  # another coordinator queued it between our check and our insert
            return False
        return True

    def start(self, asset_id: str, stage: str, worker: str) -> int | None:
        """A worker starts the job: count the attempt, atomically, unless the job has ended meanwhile (None).
        Returns this attempt's number."""
        with self.engine.begin() as conn:
            started = conn.execute(jobs.update().where(
                self._where(asset_id, stage) & jobs.c.state.in_([s.value for s in ACTIVE_JOB_STATES])).values(
                state=JobState.RUNNING.value, attempts=jobs.c.attempts + 1, worker=worker, updated_at=now(),
                started_at=now()))
            if started.rowcount != 1:
                return None
            return int(conn.execute(sa.select(jobs.c.attempts).where(self._where(asset_id, stage))).scalar() or 0)

    def requeue_stale(self, asset_id: str, older_than: datetime) -> list[JobRecord]:
        """The active jobs not touched since `older_than` and held by no live task lost their tasks (a Redis
        restart without persistence, a coordinator killed between recording and sending): mark them queued
        again, once. Returns them, to send (an asset's caption and ladder jobs may both have been lost)."""
        stamp = now()
        with self.engine.begin() as conn:
            stale = conn.execute(jobs.update().where(
                (jobs.c.asset_id == asset_id) & jobs.c.state.in_([s.value for s in ACTIVE_JOB_STATES])
                & (jobs.c.updated_at < older_than)
                & (jobs.c.lease_owner.is_(None) | (jobs.c.lease_expires_at < stamp)))
                .values(state=JobState.QUEUED.value, updated_at=stamp))
            if not stale.rowcount:
                return []
            rows = conn.execute(sa.select(jobs).where((jobs.c.asset_id == asset_id) & (
                jobs.c.state == JobState.QUEUED.value) & (jobs.c.updated_at == stamp))).all()
        return [_record(row) for row in rows]

    def _set(self, asset_id: str, stage: str, state: JobState, error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(jobs.update().where(self._where(asset_id, stage)).values(
                state=state.value, error=error, updated_at=now()))

    def retrying(self, asset_id: str, stage: str, error: str) -> None:
        self._set(asset_id, stage, JobState.RETRYING, error)

    def fail(self, asset_id: str, stage: str, error: str) -> None:
        self._set(asset_id, stage, JobState.FAILED, error)

    def finish(self, asset_id: str, stage: str, ready: Callable[[set[str]], tuple[str, ...]]) -> tuple[str, ...]:
        """The job is done; the jobs that this makes ready (`ready`: from the names of the done jobs, those that
        may start) and that the asset has not had yet are queued in the same transaction, so that a worker
        killed between the two never leaves an asset with nothing left to do and nothing queued. Returns them."""
        stamp = now()
        with self.engine.begin() as conn:
            conn.execute(jobs.update().where(self._where(asset_id, stage)).values(
                state=JobState.DONE.value, error=None, updated_at=stamp))
            rows = conn.execute(sa.select(jobs.c.stage, jobs.c.state).where(jobs.c.asset_id == asset_id)).all()
            done = {r.stage for r in rows if r.state == JobState.DONE.value}
            known = {r.stage for r in rows}
            following = tuple(name for name in ready(done) if name not in known)
            for name in following:
                conn.execute(jobs.insert().values(asset_id=asset_id, stage=name, state=JobState.QUEUED.value,
                                                  attempts=0, queued_at=stamp, updated_at=stamp))
        return following

    # -- leases: one job's claim, as the assets' (catalog/assets.py), so that one asset's jobs run at once (#19)

    def claim(self, asset_id: str, stage: str, owner: str, until: datetime, take_from: str | None = None) -> bool:
        lease = jobs.c.lease_owner
        free = lease.is_(None) | (jobs.c.lease_expires_at < now()) | (lease == owner)
        if take_from is not None:
            free = free | (lease == take_from)
        with self.engine.begin() as conn:
            done = conn.execute(jobs.update().where(self._where(asset_id, stage) & free)
                                .values(lease_owner=owner, lease_expires_at=until))
        return bool(done.rowcount == 1)

    def renew(self, asset_id: str, stage: str, owner: str, until: datetime) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(jobs.update().where(self._where(asset_id, stage) & (jobs.c.lease_owner == owner))
                                .values(lease_expires_at=until))
        return bool(done.rowcount == 1)

    def release(self, asset_id: str, stage: str, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(jobs.update().where(self._where(asset_id, stage) & (jobs.c.lease_owner == owner))
                         .values(lease_owner=None, lease_expires_at=None))

    def holder(self, asset_id: str, stage: str) -> str | None:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(jobs.c.lease_owner).where(self._where(asset_id, stage))).first()
        return str(row.lease_owner) if row and row.lease_owner else None
