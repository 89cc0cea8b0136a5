"""What every processing stage receives: one asset, its master file, where its outputs go, and the shared
services. (Not the distributed mode's queued jobs: those are catalog.jobs.JobBook's rows.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.captions.engines import Transcriber
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.models import Asset

ProgressHook = Callable[[float], None]


@dataclass
class Job:
    asset: Asset
    master: Path
    settings: Settings
    catalog: Catalog
    transcriber: Callable[[], Transcriber]  # loaded on first use: most runs find nothing new
    on_progress: ProgressHook
    # The folder that holds each asset's output folder: [paths] output, or a worker's workspace (cluster/).
    output_root: Path | None = None
    # The ladder runs next in this same process (the embedded runner), so that what the captions' decode
    # measures for it (stages/caption.py) is not lost; a caption worker's ladder runs elsewhere.
    ladder_follows: bool = False

    @property
    def out_dir(self) -> Path:
        return (self.output_root or self.settings.output_dir) / self.asset.id

    def refresh(self) -> None:
        self.asset = self.catalog.get(self.asset.id)
