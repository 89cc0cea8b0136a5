"""The coordinator's side of the distributed mode (#8): `pipeline run` queues masters, `--wait` follows them,
and finished outputs are brought to the machine where reviewers edit and publish.

Masters are identified by content as in the embedded mode (stages/ingest.py): a master already processed,
or already queued, is not queued again; a failed one is queued again from its first unfinished stage groups,
and one in review whose ladder failed has its ladder queued again.
A file that is plainly not a video is refused here, before it is uploaded; every other check runs on a worker.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from celery import Celery

from pipeline import fsutil, runner, stages
from pipeline.catalog import Catalog, now
from pipeline.catalog.jobs import JobBook
from pipeline.cluster import app as cluster_app
from pipeline.cluster.workspace import open_work_store, pull_outputs, send_master
from pipeline.config import Settings
from pipeline.errors import MediaError, ServiceError
from pipeline.models import ACTIVE_JOB_STATES, Asset, AssetState, JobRecord, JobState
from pipeline.stages import ingest, playlists
from pipeline.storage.objects import ObjectStore
from pipeline.ui import print_next_steps

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Queued:
    master: Path
    asset: Asset | None
    stage: str | None  # the stage group queued; None when nothing was
    note: str | None = None  # why nothing was queued, when that is not an error
    error: str | None = None


def _unfinished_groups(book: JobBook, asset_id: str) -> tuple[str, ...]:
    """The groups to queue: those not done whose predecessors are (the caption and the ladder together)."""
    return stages.ready_groups({j.stage for j in book.for_asset(asset_id) if j.state is JobState.DONE})


def enqueue(settings: Settings, catalog: Catalog, store: ObjectStore, app: Celery, master: Path) -> Queued:
    """Queue one master's work: record it, send its file to the work bucket, send its first task."""
    name = fsutil.display_name(master)
    asset, error = runner.identify(master, settings, catalog)
    if asset is None:
        return Queued(master, None, None, error=error)
    if asset.state not in runner.RUNNABLE and (asset.state not in runner.REVIEWING or catalog.ladder_done(asset.id)):
        return Queued(master, asset, None)
    book = JobBook(catalog)
    if any(j.state in ACTIVE_JOB_STATES for j in book.for_asset(asset.id)):
        return _revive(settings, catalog, book, store, app, master, asset)
    try:
        ingest.check_file(master, settings.limits)
    except MediaError as exc:
        failed = catalog.set_state(asset.id, AssetState.FAILED, error=str(exc))
        return Queued(master, failed, None, error=str(exc))
    groups = _unfinished_groups(book, asset.id)
    send_master(store, master, asset.sha256)
    if not book.queue(asset.id, *groups):
        return Queued(master, asset, None, note=f"{name}: queued by another `pipeline run` a moment ago")
    for group in groups:
        try:
            cluster_app.send(app, settings, group, asset.id)
        except ServiceError as exc:  # no task behind the job: record it as failed, so the next run queues it again
            for unsent in groups:
                book.fail(asset.id, unsent, str(exc))
            raise
    return Queued(master, catalog.get(asset.id), " and ".join(groups))


def _revive(settings: Settings, catalog: Catalog, book: JobBook, store: ObjectStore, app: Celery, master: Path,
            asset: Asset) -> Queued:
    """An asset with a job under way is left alone, unless nothing has touched the job for longer than a task
    can be hidden by a vanished worker and no task holds it: its task was lost, and is sent again."""
    name = fsutil.display_name(master)
    cutoff = now() - timedelta(seconds=settings.cluster.visibility_timeout_seconds + runner.LEASE_SECONDS)
    revived = book.requeue_stale(asset.id, cutoff)
    if not revived:
        return Queued(master, asset, None, note=f"{name}: already queued or running (`pipeline status`)")
    send_master(store, master, asset.sha256)
    for record in revived:
        cluster_app.send(app, settings, record.stage, asset.id)
    stages_sent = " and ".join(r.stage for r in revived)
    return Queued(master, asset, stages_sent, note=f"{name}: its {stages_sent} task was lost; sent again")


def unfinished(catalog: Catalog, asset_ids: list[str]) -> list[Asset]:
    """The assets among these that workers have still to finish: their captions, or their ladder (#19)."""
    book = JobBook(catalog)
    return [asset for asset in (catalog.get(i) for i in asset_ids) if asset.state is not AssetState.FAILED
            and any(j.state in ACTIVE_JOB_STATES for j in book.for_asset(asset.id))]


def _wait(catalog: Catalog, asset_ids: list[str], on_change: Callable[[list[Asset]], None]) -> list[Asset]:
    """Follow the queued assets until workers have finished them all (done or failed); returns them."""
    while pending := unfinished(catalog, asset_ids):
        on_change(pending)
        time.sleep(POLL_SECONDS)
    return [catalog.get(i) for i in asset_ids]


def pull(settings: Settings, catalog: Catalog, store: ObjectStore, assets: list[Asset] | None = None) -> int:
    """Bring the outputs of processed assets to this machine's output folder. Returns how many files came."""
    chosen = assets if assets is not None else catalog.list_assets()
    ready = [a for a in chosen if a.state not in (AssetState.NEW, AssetState.PROCESSING, AssetState.FAILED)]
    fetched = 0
    for asset in ready:
        fetched += pull_outputs(store, asset.id, settings.output_dir / asset.id)
        # The caption and ladder tasks ran at once, each writing the playlists with what it had (#19): here,
        # with both, they are written whole.
        playlists.rebuild(settings.output_dir / asset.id, catalog, asset.id)
    return fetched


@dataclass(frozen=True)
class WorkerLoad:
    worker: str
    running: int
    done: int
    failed: int
    attempts: int


def by_worker(records: list[JobRecord]) -> list[WorkerLoad]:
    """Jobs per worker (the one that started each job last), for `pipeline status`."""
    def count(name: str, state: JobState) -> int:
        return sum(1 for r in records if r.worker == name and r.state is state)

    names = sorted({r.worker for r in records if r.worker})
    return [WorkerLoad(name, count(name, JobState.RUNNING), count(name, JobState.DONE), count(name, JobState.FAILED),
                       sum(r.attempts for r in records if r.worker == name)) for name in names]


def by_state(records: list[JobRecord]) -> dict[JobState, int]:
    return {state: sum(1 for r in records if r.state is state) for state in JobState}


class CeleryExecutor:
    """The stages run on Celery workers (`pipeline worker`); this machine queues masters, follows them and
    brings their outputs here (the executor of the distributed mode, see pipeline/executor.py)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @functools.cached_property
    def catalog(self) -> Catalog:
        return Catalog.connect(self.settings.cluster.catalog)

    @functools.cached_property
    def store(self) -> ObjectStore:
        return open_work_store(self.settings)

    def submit(self, masters: list[Path], wait: bool) -> int:
        settings, catalog = self.settings, self.catalog
        celery, store = cluster_app.make_app(settings), self.store
        cluster_app.check_broker(celery, settings)
        results = [enqueue(settings, catalog, store, celery, master) for master in masters]
        for queued in results:
            if queued.error or queued.note:
                print(f"  {queued.error or queued.note}", file=sys.stderr)
            elif queued.asset:
                doing = f"queued for {queued.stage}" if queued.stage else queued.asset.state.value
                print(f"  {queued.asset.id}  {fsutil.display_name(queued.master)}: {doing}")
        sent = [q.asset.id for q in results if q.asset and q.stage]
        print(f"{len(sent)} queued for the workers (`pipeline worker`); `pipeline status` shows their progress.")
        if not wait:
            return 1 if any(q.error for q in results) else 0
        ids = [q.asset.id for q in results if q.asset]
        finished = _wait(catalog, ids, lambda pending: print(
            f"\r  waiting for {len(pending)} of {len(ids)}", end="", file=sys.stderr, flush=True))
        print(file=sys.stderr)
        fetched = pull(settings, catalog, store, finished)
        failed = [a for a in finished if a.state is AssetState.FAILED]
        for asset in failed:
            print(f"  {asset.error}", file=sys.stderr)
        print(f"{len(finished) - len(failed)} processed, {len(failed)} failed; {fetched} files brought to "
              f"{settings.output_dir}.")
        print_next_steps(sys.stdout, [a.id for a in finished if a.state is AssetState.AWAITING_REVIEW])
        return 1 if failed or any(q.error for q in results) else 0

    def bring_back(self, ids: list[str] | None = None, *, asked: bool = False) -> int:
        chosen = [self.catalog.get(i) for i in ids] if ids else None
        return pull(self.settings, self.catalog, self.store, chosen)

    def jobs(self) -> list[JobRecord] | None:
        return JobBook(self.catalog).all()

    def serve_worker(self, queues: str, name: str | None, config_args: list[str]) -> int:
        from pipeline.cluster import worker  # the worker side: tasks, Whisper, ffmpeg

        chosen = worker.parse_queues(queues)
        if len(chosen) == 1:
            worker.serve(self.settings, chosen[0], name)
            return 0
        return worker.serve_all(chosen, name, config_args)
