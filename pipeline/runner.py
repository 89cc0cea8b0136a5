"""Runs masters through the processing stages. The stage order is STAGES, and nothing else.

Each stage is a function of a Job that skips work already done, so a run that was interrupted is finished by
running again. The runner never talks to the user: it reports to a Reporter, which the CLI implements.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipeline.captions.engines import Transcriber, make_transcriber
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.errors import ConfigError, PipelineError
from pipeline.models import Asset, AssetState
from pipeline.stages import caption, ingest, transcode
from pipeline.stages.job import Job

log = logging.getLogger(__name__)

STAGES: tuple[tuple[str, Callable[[Job], None]], ...] = (
    ("probe", ingest.probe),
    ("transcode", transcode.transcode),
    ("caption", caption.caption),
)
PROGRESS_SAVE_SECONDS = 1.0
RUNNABLE = frozenset({AssetState.NEW, AssetState.PROCESSING, AssetState.FAILED})


class Reporter(Protocol):
    def asset_started(self, master: Path, asset: Asset, index: int, total: int) -> None: ...
    def stage_progress(self, stage: str, fraction: float, media_ms: int | None = None) -> None: ...
    def asset_finished(self, outcome: Outcome) -> None: ...


@dataclass(frozen=True)
class Outcome:
    master: Path
    asset: Asset | None
    processed: bool  # False: already known and past processing, nothing to do
    error: str | None = None


def list_masters(folder: Path) -> list[Path]:
    """Every visible file in the masters folder, in a stable order."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: masters folder not found; create it or set [paths] masters",
                          key="[paths] masters")
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


class Runner:
    def __init__(self, settings: Settings, catalog: Catalog, reporter: Reporter) -> None:
        self.settings = settings
        self.catalog = catalog
        self.reporter = reporter
        self._transcriber: Transcriber | None = None

    def transcriber(self) -> Transcriber:
        if self._transcriber is None:
            self._transcriber = make_transcriber(self.settings.captions, self.settings.state_dir / "models")
        return self._transcriber

    def run(self, masters: list[Path]) -> list[Outcome]:
        outcomes = []
        for index, master in enumerate(masters, start=1):
            outcome = self._one(master, index, len(masters))
            self.reporter.asset_finished(outcome)
            outcomes.append(outcome)
        return outcomes

    def _one(self, master: Path, index: int, total: int) -> Outcome:
        try:
            asset, _new = ingest.identify(master, self.settings.masters_dir, self.catalog)
        except OSError as exc:
            return Outcome(master, None, True, f"{master.name}: cannot be read ({exc.strerror}); check the file")
        if asset.state not in RUNNABLE:
            return Outcome(master, asset, False)
        self.reporter.asset_started(master, asset, index, total)
        self.catalog.set_state(asset.id, AssetState.PROCESSING, detail=f"run on {master}")
        job = Job(asset, master, self.settings, self.catalog, self.transcriber, lambda _f: None)
        try:
            for name, stage in STAGES:
                job.on_progress = self._hook(job, name)
                job.on_progress(0.0)
                stage(job)
                job.refresh()
        except PipelineError as exc:
            log.debug("asset %s failed", asset.id, exc_info=True)
            failed = self.catalog.set_state(asset.id, AssetState.FAILED, error=str(exc))
            return Outcome(master, failed, True, str(exc))
        except Exception as exc:  # a bug or an OS error (disk full, permissions): this asset only
            log.exception("asset %s failed unexpectedly", asset.id)
            message = f"{master.name}: unexpected error {exc!r}; the log in the state folder has the details"
            failed = self.catalog.set_state(asset.id, AssetState.FAILED, error=message)
            return Outcome(master, failed, True, message)
        done = self.catalog.set_state(asset.id, AssetState.AWAITING_REVIEW, detail="captions drafted")
        return Outcome(master, done, True)

    def _hook(self, job: Job, stage: str) -> Callable[[float], None]:
        """Progress goes to the reporter, and to the catalog at most once a second for `pipeline status`."""
        saved = [-1.0]

        def hook(fraction: float) -> None:
            self.reporter.stage_progress(stage, fraction, job.asset.duration_ms)
            now = time.monotonic()
            if now - saved[0] >= PROGRESS_SAVE_SECONDS or fraction in (0.0, 1.0):
                saved[0] = now
                self.catalog.set_progress(job.asset.id, stage, round(fraction, 3))
        return hook
