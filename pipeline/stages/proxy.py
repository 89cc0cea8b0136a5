"""Proxy: something the review editor plays while the ladder is still encoding (#19).

A master the browser plays (H.264 in 8-bit 4:2:0, AAC or MP3 sound) is its own proxy: its streams are copied
into an MP4 without metadata, in the time it takes to read the file. Any other master (HEVC from a phone,
ProRes, 10-bit) gets a small ultrafast H.264 encode. The waveform and the captions' word times come from the
master's own audio (stages/caption.py), so neither changes when the editor moves to the ladder.
"""

from __future__ import annotations

from pipeline import fsutil
from pipeline.media import encode, ffmpeg
from pipeline.models import Probe, Rendition, RenditionKind
from pipeline.stages.job import Job

NAME = "proxy.mp4"
MIB = 2**20


def _done(job: Job) -> bool:
    if job.catalog.ladder_done(job.asset.id):  # an asset from before proxies: the editor plays the ladder
        return True
    return any(r.kind is RenditionKind.PROXY and (job.out_dir / r.path).is_file()
               for r in job.catalog.renditions(job.asset.id))


def _limits(job: Job, found: Probe, copied: bool) -> ffmpeg.Limits:
    """A copy is at most the master's size; an encode at most its bit-rate cap: larger means a runaway (#7)."""
    kbps = encode.PROXY_MAXRATE_KBPS + encode.PROXY_AUDIO_KBPS
    cap = job.master.stat().st_size if copied else int(kbps * 1000 / 8 * (found.duration_ms / 1000 + 2))
    return ffmpeg.Limits(memory_bytes=job.settings.limits.ffmpeg_memory_mb * MIB, file_bytes=2 * cap + 64 * MIB)


def proxy(job: Job) -> None:
    """The proxy stage: `proxy.mp4` recorded as the asset's PROXY rendition."""
    timeout = job.settings.transcode.timeout_seconds
    if not _done(job):
        found = ffmpeg.probe(job.master, max_streams=job.settings.limits.max_streams)
        copied = encode.browser_plays(found)
        target = job.out_dir / NAME
        fsutil.remove_partials(job.out_dir, target.stem)
        with fsutil.atomic_file(target) as tmp:
            args = (encode.proxy_copy_args(job.master, tmp) if copied
                    else encode.proxy_encode_args(job.master, found, tmp, job.settings.transcode))
            ffmpeg.run(args, what=f"{fsutil.display_name(job.master)}: review proxy", duration_ms=found.duration_ms,
                       on_progress=lambda f: job.on_progress(0.9 * f), timeout_s=timeout,
                       limits=_limits(job, found, copied))
        stream = ffmpeg.video_stream(target)
        job.catalog.set_proxy(job.asset.id, Rendition(job.asset.id, "proxy", RenditionKind.PROXY, NAME,
                                                      stream.width, stream.height, target.stat().st_size))
    job.on_progress(1.0)
