"""Where the processing stages run, chosen once (`choose`, called by cli.main): on this machine by the
embedded runner, or on Celery workers through the distributed mode's coordinator
(cluster/coordinator.py: CeleryExecutor). Both open the catalog, take masters, and bring the outputs to this
machine's output folder, where reviewers edit and publish; the commands ask the executor, never the mode.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Protocol

from pipeline import runner
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.errors import UsageError
from pipeline.models import AssetState, JobRecord
from pipeline.ui import TerminalReporter, print_next_steps


class Executor(Protocol):
    settings: Settings

    @property
    def catalog(self) -> Catalog: ...

    def submit(self, masters: list[Path], wait: bool) -> int:
        """Process (or queue) the masters, reporting on the terminal; the command's exit code."""

    def bring_back(self, ids: list[str] | None = None, *, asked: bool = False) -> int:
        """The outputs of these assets (ids or prefixes; None: every processed asset) made elsewhere, brought to
        this machine's output folder (only missing files); how many came. `asked`: the user asked for it
        (`pipeline pull`), which only makes sense when the work is done elsewhere."""

    def jobs(self) -> list[JobRecord] | None:
        """The queue's jobs, or None when there is no queue."""

    def serve_worker(self, queues: str, name: str | None, config_args: list[str]) -> int:
        """`pipeline worker`: take queued work until stopped."""


class EmbeddedExecutor:
    """The stages run here, in this process, one master after another (runner.Runner)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @functools.cached_property
    def catalog(self) -> Catalog:
        return Catalog.open(self.settings.state_dir)

    def submit(self, masters: list[Path], wait: bool) -> int:
        reporter = TerminalReporter(sys.stderr)
        outcomes = runner.Runner(self.settings, self.catalog, reporter).run(masters)
        for outcome in outcomes:
            if outcome.note:
                print(f"  {outcome.note}", file=sys.stderr)
        reporter.summary(outcomes, sys.stdout)
        ready = [o.asset.id for o in outcomes if o.asset and o.asset.state is AssetState.AWAITING_REVIEW]
        print_next_steps(sys.stdout, ready)
        return 1 if any(o.error for o in outcomes) else 0

    def bring_back(self, ids: list[str] | None = None, *, asked: bool = False) -> int:
        if asked:
            raise UsageError('pipeline pull needs [cluster] mode = "distributed"; outputs are already here')
        return 0  # made here: nothing to bring

    def jobs(self) -> list[JobRecord] | None:
        return None

    def serve_worker(self, queues: str, name: str | None, config_args: list[str]) -> int:
        raise UsageError('pipeline worker needs [cluster] mode = "distributed" (README, "Deployment")')


def choose(settings: Settings) -> Executor:
    """The one place where the deployment mode is decided."""
    if settings.distributed:
        from pipeline.cluster.coordinator import CeleryExecutor  # Celery and Redis only when distributed

        return CeleryExecutor(settings)
    return EmbeddedExecutor(settings)
