"""Runs masters through the processing stages (pipeline/stages/__init__.py: STAGES, the order) on this machine.

Each stage is a function of a Job that skips work already done, so a run that was interrupted is finished by
running again. The runner never talks to the user: it reports to a Reporter, which the CLI implements.

Several runs may work over the same masters at once (#7): a run claims an asset with a lease in the catalog
before working on it, renews the lease while it works, and skips an asset that another live run holds. The
lease of a run that was killed runs out after LEASE_SECONDS, or at once for a run on this machine whose
process is gone.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from pipeline import fsutil, stages
from pipeline.captions.engines import Transcriber, make_transcriber
from pipeline.catalog import Catalog, now
from pipeline.config import Settings
from pipeline.errors import ConfigError, LeaseLostError, MediaError, PipelineError
from pipeline.models import Asset, AssetState
from pipeline.stages import ingest
from pipeline.stages.job import Job

log = logging.getLogger(__name__)

STAGES = stages.STAGES  # the order, defined once (pipeline/stages/__init__.py)
PROGRESS_SAVE_SECONDS = 1.0
RUNNABLE = frozenset({AssetState.NEW, AssetState.PROCESSING, AssetState.FAILED})
# In review while its ladder may still be unfinished (#19): a run finishes the ladder and leaves the state alone.
REVIEWING = frozenset({AssetState.AWAITING_REVIEW, AssetState.APPROVED})
LEASE_SECONDS = 120  # how long a claim lasts without renewal: a run renews it every RENEW_SECONDS
RENEW_SECONDS = 20
# Tests only: "transcode@0.5" kills the run with SIGKILL when the transcode stage reaches 50%, "caption@done"
# right after the caption stage, as a power cut or the OOM killer would (#7).
FAULT_KILL_AT = "PIPELINE_TEST_KILL_AT"


class Reporter(Protocol):
    def asset_started(self, master: Path, asset: Asset, index: int, total: int) -> None: ...
    def stage_progress(self, stage: str, fraction: float, media_ms: int | None = None) -> None: ...
    def asset_finished(self, outcome: Outcome) -> None: ...


@dataclass(frozen=True)
class Outcome:
    master: Path
    asset: Asset | None
    processed: bool  # False: already known and past processing, or being processed by another run
    error: str | None = None
    note: str | None = None  # why it was left alone, when another run holds it


def list_masters(folder: Path) -> list[Path]:
    """Every visible file in the masters folder, in a stable order."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: masters folder not found; create it or set [paths] masters",
                          key="[paths] masters")
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _host() -> str:
    return socket.gethostname()[:40]  # the lease column holds 64 characters; PostgreSQL enforces it


def lease_owner() -> str:
    """Who this run is, as recorded in a lease: this machine, this process, and a token of this run."""
    return f"{_host()}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_is_dead(holder: str) -> bool:
    """The holder is a run on this machine whose process has ended (killed, or the machine restarted)."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != _host() or not pid.isdigit():
        return False  # another machine's run: its lease runs out on its own
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def describe_holder(holder: str) -> str:
    host, _, rest = holder.partition(":")
    return f"process {rest.partition(':')[0]} on {host}"


def kill_point() -> tuple[str, str] | None:
    stage, _, at = os.environ.get(FAULT_KILL_AT, "").partition("@")
    return (stage, at) if stage and at else None


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def progress_hook(catalog: Catalog, asset_id: str, stage: str, report: Callable[[float], None],
                  kill_at: tuple[str, str] | None) -> Callable[[float], None]:
    """Progress goes to `report`, and to the catalog at most once a second for `pipeline status`."""
    saved = [-1.0]
    kill_fraction = float(kill_at[1]) if kill_at and kill_at[0] == stage and kill_at[1] != "done" else None

    def hook(fraction: float) -> None:
        report(fraction)
        if kill_fraction is not None and fraction >= kill_fraction:
            die()
        now_s = time.monotonic()
        if now_s - saved[0] >= PROGRESS_SAVE_SECONDS or fraction in (0.0, 1.0):
            saved[0] = now_s
            try:  # progress is advisory: a catalog hiccup must not stop the thread that reads ffmpeg's output
                catalog.set_progress(asset_id, stage, round(fraction, 3))
            except Exception:
                log.warning("asset %s: could not record progress", asset_id, exc_info=True)
    return hook


class Lease(Protocol):
    """A claim that a heartbeat renews: on an asset (here), or on one job of it (cluster/tasks.py)."""

    def renew(self, until: datetime) -> bool: ...
    def holder(self) -> str | None: ...


@dataclass(frozen=True)
class AssetLease:
    catalog: Catalog
    asset_id: str
    owner: str

    def renew(self, until: datetime) -> bool:
        return self.catalog.renew_lease(self.asset_id, self.owner, until)

    def holder(self) -> str | None:
        found = self.catalog.lease(self.asset_id)
        return found[0] if found else None


class Heartbeat:
    """Renews this run's lease on one asset (or on `lease`) in the background while the stages work, whether
    or not they report progress (a loudness pass or a model load can be silent for minutes)."""

    def __init__(self, catalog: Catalog, asset_id: str, owner: str, lease: Lease | None = None) -> None:
        self.asset_id = asset_id
        self.lease = lease or AssetLease(catalog, asset_id, owner)
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{asset_id}", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            try:
                renewed = self.lease.renew(lease_until())
            except Exception:  # the catalog unreachable for a moment: try again at the next beat
                log.warning("asset %s: could not renew the lease", self.asset_id, exc_info=True)
                continue
            if not renewed:
                self.lost = True
                return

    def check(self) -> None:
        """Raise LeaseLostError when another run has taken the asset over (this one slept past its lease)."""
        if self.lost or not self.lease.renew(lease_until()):
            holder = self.lease.holder()
            raise LeaseLostError(f"asset {self.asset_id}: taken over by another run "
                                 f"({describe_holder(holder) if holder else 'finished'}) while this one was "
                                 "paused; it is left to that run", holder=holder)

    @contextmanager
    def running(self) -> Iterator[Heartbeat]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()


def lease_until() -> datetime:
    return now() + timedelta(seconds=LEASE_SECONDS)


def identify(master: Path, settings: Settings, catalog: Catalog) -> tuple[Asset | None, str | None]:
    """The master's asset, recorded if new; or None and the one-line error when the file cannot be read."""
    name = fsutil.display_name(master)
    if not master.is_file() and not master.is_symlink():  # a link gets ingest's own message
        return None, f"{name}: not a regular file; masters must be video files"
    try:
        return ingest.identify(master, settings, catalog)[0], None
    except MediaError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"{name}: cannot be read ({exc.strerror}); check the file"


def claim_asset(catalog: Catalog, asset_id: str, owner: str,
                states: frozenset[AssetState] = RUNNABLE) -> str | None:
    """Claim an asset in one of `states` (default: runnable) for `owner`, taking it over at once from a holder
    known to be dead. None when `owner` holds it now; else who does ("" when nobody: another run has just
    finished it)."""
    if catalog.claim(asset_id, owner, lease_until(), states):
        return None
    found = catalog.lease(asset_id)
    if found is None:  # no lease, so the state changed: another run finished it a moment ago
        return ""
    holder = found[0]
    if holder_is_dead(holder) and catalog.claim(asset_id, owner, lease_until(), states, take_from=holder):
        log.info("asset %s: took over from %s, which is no longer running", asset_id, holder)
        return None
    return holder


def run_stages(job: Job, names: tuple[str, ...], heartbeat: Heartbeat, report: Callable[[str, float], None],
               kill_at: tuple[str, str] | None) -> None:
    """Run the named stages of STAGES, in order, on one job; the lease is checked before and after each."""
    functions = {stage.name: stage.run for stage in STAGES}
    for name in names:
        heartbeat.check()
        job.on_progress = progress_hook(job.catalog, job.asset.id, name, functools.partial(report, name), kill_at)
        job.on_progress(0.0)
        functions[name](job)
        job.refresh()
        if kill_at == (name, "done"):
            die()
    heartbeat.check()


class Runner:
    def __init__(self, settings: Settings, catalog: Catalog, reporter: Reporter) -> None:
        self.settings = settings
        self.catalog = catalog
        self.reporter = reporter
        self.owner = lease_owner()
        self._transcriber: Transcriber | None = None
        self._kill_at = kill_point()

    def transcriber(self) -> Transcriber:
        if self._transcriber is None:
            self._transcriber = make_transcriber(self.settings.captions, self.settings.state_dir / "models")
        return self._transcriber

    def run(self, masters: list[Path]) -> list[Outcome]:
        outcomes = []
        for index, master in enumerate(masters, start=1):
            try:
                outcome = self._one(master, index, len(masters))
            except Exception as exc:  # a bug, or the catalog unwritable: still, the other masters go on
                log.exception("master %s failed unexpectedly", fsutil.printable(str(master)))
                outcome = Outcome(master, None, True, f"{fsutil.display_name(master)}: unexpected error "
                                                      f"{exc!r}; the log in the state folder has the details")
            if outcome.error:
                log.info("failed: %s", outcome.error)
            elif outcome.note:
                log.info("skipped: %s", outcome.note)
            self.reporter.asset_finished(outcome)
            outcomes.append(outcome)
        return outcomes

    def _one(self, master: Path, index: int, total: int) -> Outcome:
        name = fsutil.display_name(master)
        asset, error = identify(master, self.settings, self.catalog)
        if asset is None:
            return Outcome(master, None, True, error)
        states = RUNNABLE
        if asset.state not in RUNNABLE:
            if asset.state not in REVIEWING or self.catalog.ladder_done(asset.id):
                return Outcome(master, asset, False)
            states = REVIEWING  # in review, its ladder unfinished (a run killed midway): finish the ladder only
        holder = claim_asset(self.catalog, asset.id, self.owner, states)
        if holder is not None:
            note = (f"{name}: skipped, being processed by another `pipeline run` ({describe_holder(holder)})"
                    if holder else None)
            return Outcome(master, self.catalog.get(asset.id), False, note=note)
        try:
            with Heartbeat(self.catalog, asset.id, self.owner).running() as heartbeat:
                return self._process(master, asset, heartbeat, index, total)
        finally:
            self.catalog.release_lease(asset.id, self.owner)

    def _process(self, master: Path, asset: Asset, heartbeat: Heartbeat, index: int, total: int) -> Outcome:
        self.reporter.asset_started(master, asset, index, total)
        job = Job(asset, master, self.settings, self.catalog, self.transcriber, lambda _f: None, ladder_follows=True)
        if self.catalog.get(asset.id).state in RUNNABLE:
            self.catalog.set_state(asset.id, AssetState.PROCESSING,
                                   detail=f"run on {fsutil.printable(str(master))} by {self.owner}")
            failed = self._stages(job, stages.review_stages(), heartbeat)
            if failed is not None:
                return failed
            self.catalog.set_state(asset.id, AssetState.AWAITING_REVIEW,
                                   detail="captions drafted; the renditions follow")
        return self._stages(job, stages.ladder_stages(), heartbeat) or Outcome(master, self.catalog.get(asset.id),
                                                                               True)

    def _stages(self, job: Job, names: tuple[str, ...], heartbeat: Heartbeat) -> Outcome | None:
        """Run these stages; None when they all finished, else the outcome. A failure before the asset is
        reviewable fails it; a failed ladder leaves the captions in review and is recorded for `pipeline
        status` (#19): the next run tries it again."""
        master, asset_id = job.master, job.asset.id
        ladder = names == stages.ladder_stages()
        try:
            run_stages(job, names, heartbeat,
                       lambda stage, fraction: self.reporter.stage_progress(stage, fraction, job.asset.duration_ms),
                       self._kill_at)
        except LeaseLostError as exc:
            return Outcome(master, self.catalog.get(asset_id), False, note=str(exc))
        except Exception as exc:  # a PipelineError; or a bug or an OS error (disk full, permissions): this asset only
            message = str(exc)
            if isinstance(exc, PipelineError):
                log.debug("asset %s failed", asset_id, exc_info=True)
            else:
                log.exception("asset %s failed unexpectedly", asset_id)
                message = (f"{fsutil.display_name(master)}: unexpected error {exc!r}; the log in the state folder "
                           "has the details")
            if ladder:
                self.catalog.set_ladder_error(asset_id, message)
                return Outcome(master, self.catalog.get(asset_id), True, message)
            failed = self.catalog.set_state(asset_id, AssetState.FAILED, error=message)
            return Outcome(master, failed, True, message)
        if ladder:
            self.catalog.set_ladder_error(asset_id, None)
            self.catalog.set_progress(asset_id, None, None)
        return None
