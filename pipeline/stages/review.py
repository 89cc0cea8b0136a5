"""Review: a person approves the captions. The web editor (pipeline review) calls the same function."""

from __future__ import annotations

from pathlib import Path

from pipeline import fsutil
from pipeline.catalog import Catalog
from pipeline.errors import PipelineError, UsageError
from pipeline.models import Asset


def approve(catalog: Catalog, out_dir: Path, asset_id: str, reviewer: str) -> Asset:
    """Approve the captions as they are on disk now; publish checks that they have not changed since."""
    name = " ".join(reviewer.split())
    if not name:
        raise UsageError("--reviewer: give the name of the person who checked the captions")
    asset = catalog.get(asset_id)
    digests = {}
    for track in catalog.caption_tracks(asset.id):
        path = out_dir / asset.id / track.path
        if not path.is_file():
            raise PipelineError(f"{path}: caption file missing; run `pipeline run` to make it again")
        digests[track.language] = fsutil.sha256_file(path)
    return catalog.approve_captions(asset.id, name, digests)
