"""Burn-in: with [transcode] burn_in_captions, an MP4 of the top rung with the approved captions drawn on the
picture, for venues whose players cannot show captions. Publishing makes it, and makes it again whenever the
captions change.

It is an encode like the transcode stage's, so it runs like one: after a disk-space check, under the asset's
lease (two publishes never encode one asset at once, and a publish that dies leaves a lease that runs out or
is taken over), inside ffmpeg's memory and file-size limits, with progress on the terminal.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from pipeline import fsutil, runner
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.errors import DiskSpaceError, PipelineError
from pipeline.media import encode, ffmpeg, ladder
from pipeline.models import Asset, AssetState, CaptionState, Rendition, RenditionKind

log = logging.getLogger(__name__)
STAGE = "burn-in"
MB = 1_000_000
MIB = 2**20


def burned_name(mp4: str) -> str:
    return mp4.replace(".mp4", "_captions.mp4")


def check_disk_space(settings: Settings, out_dir: Path, top: Rendition) -> None:
    """The burned copy is about the top MP4's size; twice that, plus [limits] min_free_mb, must be free."""
    needed = 2 * top.size_bytes + settings.limits.min_free_mb * MB
    free = shutil.disk_usage(out_dir).free
    if free < needed:
        raise DiskSpaceError(
            f"{out_dir}: burning captions into {top.path} needs up to {2 * top.size_bytes / MB:,.0f} MB, and "
            f"[limits] min_free_mb = {settings.limits.min_free_mb} MB must stay free, but only {free / MB:,.0f} MB "
            "is free; free some space or set [paths] output to a bigger disk", needed_bytes=needed, free_bytes=free)


def _claim(catalog: Catalog, asset: Asset) -> str:
    owner = runner.lease_owner()
    holder = runner.claim_asset(catalog, asset.id, owner, frozenset(AssetState))
    if holder is not None:
        who = runner.describe_holder(holder) if holder else "another command"
        raise PipelineError(f"asset {asset.id}: being worked on by {who}; publish it again when that finishes")
    return owner


def burn_in(settings: Settings, catalog: Catalog, asset: Asset,
            on_progress: Callable[[float], None] | None = None, force: bool = False) -> Rendition | None:
    """The burned-in MP4 of an asset with approved captions (made if missing or older than the captions), or
    None when burn-in is off or there is nothing to burn. `force` (an export, #17) makes it even when
    [transcode] burn_in_captions is off; once made, it is kept current like a configured one, because
    publishing uploads every rendition the catalog lists."""
    track = next((t for t in catalog.caption_tracks(asset.id) if t.state is CaptionState.APPROVED), None)
    renditions = catalog.renditions(asset.id)
    top = next((r for r in renditions if r.kind is RenditionKind.MP4), None)
    wanted = force or settings.transcode.burn_in_captions or any(r.kind is RenditionKind.BURNED for r in renditions)
    if not wanted or track is None or top is None:
        return None
    out_dir = settings.output_dir / asset.id
    vtt_path, mp4, target = out_dir / track.path, out_dir / top.path, out_dir / burned_name(top.path)

    def current() -> bool:
        return target.is_file() and target.stat().st_mtime >= vtt_path.stat().st_mtime

    if not current():
        check_disk_space(settings, out_dir, top)
        owner = _claim(catalog, asset)
        try:
            if not current():  # another publish may have made it while this one waited for the lease
                with runner.Heartbeat(catalog, asset.id, owner).running() as heartbeat:
                    _encode(settings, catalog, asset, top, vtt_path, mp4, target, on_progress)
                    heartbeat.check()
        finally:
            try:
                if catalog.renew_lease(asset.id, owner, runner.lease_until()):  # still ours: clear our progress
                    catalog.set_progress(asset.id, None, None)
            except Exception:  # advisory; the lease below is what matters
                log.warning("asset %s: could not clear the burn-in progress", asset.id, exc_info=True)
            finally:
                catalog.release_lease(asset.id, owner)
    burned = Rendition(asset.id, f"{top.name}-captions", RenditionKind.BURNED, target.name, top.width, top.height,
                       target.stat().st_size)
    catalog.replace_renditions(asset.id, [r for r in renditions if r.kind is not RenditionKind.BURNED] + [burned])
    return burned


def _encode(settings: Settings, catalog: Catalog, asset: Asset, top: Rendition, vtt_path: Path, mp4: Path,
            target: Path, on_progress: Callable[[float], None] | None) -> None:
    transcode = settings.transcode
    stream = ffmpeg.video_stream(mp4)
    rung = ladder.Rung(top.width, top.height, next(
        (rate for size, rate in zip(transcode.ladder, transcode.bitrates_kbps, strict=True)
         if size == min(top.width, top.height)), transcode.bitrates_kbps[0]))
    hook = runner.progress_hook(catalog, asset.id, STAGE, on_progress or (lambda _f: None), None)
    limits = ffmpeg.Limits(memory_bytes=settings.limits.ffmpeg_memory_mb * MIB,
                           file_bytes=2 * top.size_bytes + 64 * MIB)
    with tempfile.TemporaryDirectory(prefix="pipeline-burn-") as tmp, fsutil.atomic_file(target) as partial:
        plain = Path(tmp) / "captions.vtt"  # a name without characters special to filter graphs
        shutil.copyfile(vtt_path, plain)
        ffmpeg.run(encode.burn_in_args(mp4, plain, partial, rung, stream.fps or 30, transcode),
                   what=f"{top.path}: burning in captions", duration_ms=asset.duration_ms or 0, on_progress=hook,
                   timeout_s=transcode.timeout_seconds, limits=limits)
