"""Ingest: identify a master by its content and record it; probe it with ffprobe."""

from __future__ import annotations

from pathlib import Path

from pipeline import fsutil
from pipeline.catalog import Catalog
from pipeline.media import ffmpeg
from pipeline.models import Asset
from pipeline.stages.job import Job


def source_name(master: Path, masters_dir: Path) -> str:
    """How the catalog names a master: relative to the masters folder when inside it."""
    resolved = master.resolve()
    try:
        return str(resolved.relative_to(masters_dir.resolve()))
    except ValueError:
        return str(resolved)


def identify(master: Path, masters_dir: Path, catalog: Catalog) -> tuple[Asset, bool]:
    """The asset for this master's content, and whether it is new. A renamed or copied master is known."""
    digest = fsutil.sha256_file(master)
    known = catalog.find_by_sha256(digest)
    if known is not None:
        return known, False
    return catalog.add_asset(digest, source_name(master, masters_dir), master.stat().st_size), True


def probe(job: Job) -> None:
    if job.asset.width is not None:
        return
    found = ffmpeg.probe(job.master)
    job.catalog.set_probe(job.asset.id, found.duration_ms, found.width, found.height, found.has_audio)
    job.refresh()
