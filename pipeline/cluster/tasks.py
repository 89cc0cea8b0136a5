"""The tasks of the distributed mode (#8): the stage groups (stages.GROUPS), one task per group on its queue.

After the ingest group (ingest and the review proxy), the caption and ladder groups are queued together and
run at once on two workers (#19): the asset awaits review when its captions are drafted, while the ladder is
still encoding. A task may be delivered more than once (a worker killed mid-task, a task outliving the
visibility timeout), so each one is idempotent:
- its job row says whether it is done already; a duplicate of a finished task does nothing;
- it claims its job with a lease like an embedded `pipeline run`'s (runner.py), so two deliveries never
  work on one job at once; a delivery that finds the lease held by a live worker is sent again later;
- its outputs go to fixed keys in the work bucket, and the job is marked done only after every upload.
A failure that another attempt cannot fix (a rejected master, an unsupported language) fails the asset at
once; anything else (storage or catalog unreachable, a full disk, a killed worker) is tried again, up to
[cluster] max_attempts starts, after which the asset is failed with the last reason. A failed ladder fails
only its job: the captions stay in review, and `pipeline status` shows the reason.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from celery import Celery, Task
from celery.exceptions import Retry

from pipeline import fsutil, runner, stages
from pipeline.captions.engines import Transcriber, make_transcriber
from pipeline.catalog import Catalog
from pipeline.catalog.jobs import JobBook
from pipeline.cluster.app import make_app, send, task_name
from pipeline.cluster.workspace import Workspace, open_work_store
from pipeline.config import Settings
from pipeline.errors import CaptionError, ConfigError, LeaseLostError, MediaError, PipelineError
from pipeline.models import AssetState, JobState, RenditionKind
from pipeline.stages.job import Job
from pipeline.storage.objects import ObjectStore

log = logging.getLogger(__name__)

# The stage groups (pipeline/stages/__init__.py): each reads the master; caption also reads the top MP4 when
# the ladder is there already, for the HLS timestamp map.
GROUPS = tuple(group.name for group in stages.GROUPS)
PERMANENT = (MediaError, CaptionError, ConfigError)  # the same master would fail the same way on any worker
BUSY_RETRY_SECONDS = 15  # a duplicate delivery waits this long for the worker that holds the asset
RETRY_SECONDS = (10, 60, 300)  # after the 1st, 2nd, 3rd and later failures that may pass


@dataclass(frozen=True)
class JobLease:
    """A task's claim on its job (catalog/jobs.py), renewed by runner.Heartbeat."""

    book: JobBook
    asset_id: str
    stage: str
    owner: str

    def renew(self, until: datetime) -> bool:
        return self.book.renew(self.asset_id, self.stage, self.owner, until)

    def holder(self) -> str | None:
        return self.book.holder(self.asset_id, self.stage)


def claim_job(book: JobBook, asset_id: str, stage: str, owner: str) -> bool:
    """Claim the job, taking it over at once from a holder on this machine whose process is gone."""
    if book.claim(asset_id, stage, owner, runner.lease_until()):
        return True
    holder = book.holder(asset_id, stage)
    return bool(holder and runner.holder_is_dead(holder)
                and book.claim(asset_id, stage, owner, runner.lease_until(), take_from=holder))


def _caption_reads(catalog: Catalog, asset_id: str) -> Callable[[str], bool]:
    """What the caption stage reads of the transcode's outputs: the playlists it rebuilds and the top MP4,
    whose start time is the HLS timestamp offset (stages/playlists.py). Segments, other rungs and pictures
    stay in the bucket."""
    top = next((r.path for r in catalog.renditions(asset_id) if r.kind is RenditionKind.MP4), None)
    return lambda relative: PurePosixPath(relative).suffix in (".m3u8", ".vtt", ".json") or relative == top


@dataclass
class _Services:
    """What a worker process opens once and keeps: never shared across fork (each pool process opens its own)."""

    catalog: Catalog
    store: ObjectStore
    transcriber: Transcriber | None = None


_SERVICES: dict[int, _Services] = {}


def _services(settings: Settings) -> _Services:
    found = _SERVICES.get(os.getpid())
    if found is None:
        found = _SERVICES[os.getpid()] = _Services(Catalog.connect(settings.cluster.catalog),
                                                          open_work_store(settings))
    return found


def _transcriber(settings: Settings, services: _Services) -> Callable[[], Transcriber]:
    def load() -> Transcriber:
        if services.transcriber is None:
            services.transcriber = make_transcriber(settings.captions, settings.state_dir / "models")
        return services.transcriber
    return load


def worker_app(settings: Settings) -> Celery:
    """The Celery app of a worker: the tasks registered on it."""
    app = make_app(settings)
    for stage in GROUPS:
        def run(task: Task, asset_id: str, stage: str = stage) -> str:
            return execute(task, settings, stage, asset_id)
        app.task(name=task_name(stage), bind=True, max_retries=None)(run)
    return app


def execute(task: Task, settings: Settings, stage: str, asset_id: str) -> str:
    """Run one stage group of one asset. Returns what happened (kept by the result backend, for logs).
    Whatever goes wrong outside the stages (the catalog or the queue unreachable) sends the task again later:
    an exception escaping a task would have its message acknowledged and the work lost."""
    try:
        return _execute(task, settings, stage, asset_id)
    except Retry:
        raise
    except Exception as exc:
        log.warning("asset %s %s: %r; trying again in %d s", asset_id, stage, exc, RETRY_SECONDS[1], exc_info=True)
        raise task.retry(countdown=RETRY_SECONDS[1], exc=exc) from exc


def _execute(task: Task, settings: Settings, stage: str, asset_id: str) -> str:
    services = _services(settings)
    book = JobBook(services.catalog)
    record = book.get(asset_id, stage)
    if record is None or record.state in (JobState.DONE, JobState.FAILED):
        if record is not None and record.state is JobState.DONE:
            for other in book.for_asset(asset_id):  # queued after this one, but their tasks may never have been sent
                if other.state is JobState.QUEUED and other.queued_at >= record.queued_at and other.stage != stage:
                    _send(task, settings, other.stage, asset_id)
        return f"{asset_id} {stage}: nothing to do, the job is {record.state.value if record else 'gone'}"
    owner = runner.lease_owner()
    if not claim_job(book, asset_id, stage, owner):
        raise task.retry(countdown=BUSY_RETRY_SECONDS)  # a live worker holds it: this is a duplicate
    worker = str(task.request.hostname or owner)
    try:
        outcome, following = _attempt(task, settings, services, stage, asset_id, owner, worker)
    finally:
        book.release(asset_id, stage, owner)
    for name in following:
        _send(task, settings, name, asset_id)
    return outcome


def _send(task: Task, settings: Settings, stage: str, asset_id: str) -> None:
    send(task.app, settings, stage, asset_id)


def _attempt(task: Task, settings: Settings, services: _Services, stage: str, asset_id: str, owner: str,
             worker: str) -> tuple[str, tuple[str, ...]]:
    catalog, book = services.catalog, JobBook(services.catalog)
    attempt = book.start(asset_id, stage, worker)
    if attempt is None:  # another delivery finished it between our look at the job and our claim
        return f"{asset_id} {stage}: nothing to do, finished by another delivery", ()
    asset = catalog.get(asset_id)
    name = fsutil.printable(PurePosixPath(asset.source).name)
    limit = settings.cluster.max_attempts
    if attempt > limit:
        last = book.get(asset_id, stage)
        reason = (last.error if last and last.error else "its worker stopped each time (killed, or out of memory)")
        return _fail(catalog, book, asset_id, stage, f"{name}: {stage} stopped after {limit} attempts; last: {reason}")
    for_review = stage in stages.review_groups()
    if for_review:  # the ladder leaves the state alone: the asset may be in review already
        catalog.set_state(asset_id, AssetState.PROCESSING, detail=f"{stage}, attempt {attempt}, on {worker}",
                          only_from=runner.RUNNABLE)
    try:
        _run_stages(settings, services, stage, asset_id, owner)
    except LeaseLostError as exc:
        return f"{asset_id} {stage}: {exc}", ()
    except PERMANENT as exc:
        return _fail(catalog, book, asset_id, stage, str(exc))
    except Exception as exc:
        message = str(exc) if isinstance(exc, PipelineError) else f"{name}: unexpected error {exc!r} on {worker}"
        log.warning("asset %s %s attempt %d failed: %s", asset_id, stage, attempt, message, exc_info=True)
        if attempt >= limit:
            return _fail(catalog, book, asset_id, stage, f"{message} (attempt {attempt} of {limit})")
        book.retrying(asset_id, stage, message)
        raise task.retry(countdown=RETRY_SECONDS[min(attempt, len(RETRY_SECONDS)) - 1], exc=exc) from exc
    following = book.finish(asset_id, stage, stages.ready_groups)
    done = {j.stage for j in book.for_asset(asset_id) if j.state is JobState.DONE}
    if for_review and all(g in done for g in stages.review_groups()):
        catalog.set_state(asset_id, AssetState.AWAITING_REVIEW, detail=f"captions drafted on {worker}",
                          only_from=frozenset({AssetState.PROCESSING}))
    if not for_review:
        catalog.set_ladder_error(asset_id, None)
    return f"{asset_id} {stage}: done on {worker}", following


def _fail(catalog: Catalog, book: JobBook, asset_id: str, stage: str, message: str) -> tuple[str, tuple[str, ...]]:
    book.fail(asset_id, stage, message)
    if stage in stages.review_groups():
        catalog.set_state(asset_id, AssetState.FAILED, error=message)
    else:  # the ladder: the captions stay reviewable (#19)
        catalog.set_ladder_error(asset_id, message)
    return f"{asset_id} {stage}: failed: {message}", ()


def _run_stages(settings: Settings, services: _Services, stage: str, asset_id: str, owner: str) -> None:
    catalog = services.catalog
    kill_at = runner.kill_point()
    lease = JobLease(JobBook(catalog), asset_id, stage, owner)
    with runner.Heartbeat(catalog, asset_id, owner, lease).running() as heartbeat, \
            Workspace(services.store, settings.scratch_dir, catalog.get(asset_id)) as space:
        space.fetch_master()
        if stage == "caption":
            space.fetch_outputs(_caption_reads(catalog, asset_id))
        job = Job(catalog.get(asset_id), space.master, settings, catalog, _transcriber(settings, services),
                  lambda _f: None, output_root=space.output_root)
        runner.run_stages(job, stages.group_stages(stage), heartbeat, lambda _stage, _fraction: None, kill_at)
        space.push_outputs()
