"""Transcode: one H.264/AAC MP4 rendition with +faststart, and HLS (fMP4 segments) remuxed from it.

Nothing from the master's metadata is carried over (`-map_metadata -1`, `-map_chapters -1`, only the first
video and audio streams mapped): phone footage carries the GPS position where it was filmed.
"""

from __future__ import annotations

from pathlib import Path

import ffmpeg as ffmpeg_python

from pipeline import fsutil
from pipeline.config import TranscodeSettings
from pipeline.media import ffmpeg
from pipeline.models import Probe, Rendition
from pipeline.stages.job import Job

HLS_DIR = "hls"
HLS_MASTER = "master.m3u8"


def target_size(width: int, height: int, max_short_side: int) -> tuple[int, int]:
    """Display size of the rendition: the short side capped (never upscaled), both sides even."""
    short, long = min(width, height), max(width, height)
    new_short = max(2, min(max_short_side, short) // 2 * 2)
    new_long = max(2, round(long * new_short / short / 2) * 2)
    return (new_long, new_short) if width >= height else (new_short, new_long)


def mp4_name(height: int, width: int) -> str:
    return f"video_{min(width, height)}p.mp4"


def _encode_args(master: Path, target: Path, found: Probe, size: tuple[int, int],
                 settings: TranscodeSettings) -> list[str]:
    source = ffmpeg_python.input(ffmpeg.input_url(master))
    video = source["v:0"].filter("scale", size[0], size[1]).filter("setsar", "1")
    fps = min(found.fps or settings.max_fps, settings.max_fps)
    if found.fps > settings.max_fps:
        video = video.filter("fps", fps=settings.max_fps)
    video = video.filter("format", "yuv420p")
    streams = [video]
    audio_args: dict[str, object] = {"an": None}
    if found.has_audio:
        streams.append(source["a:0"])
        audio_args = {"acodec": "aac", "b:a": f"{settings.audio_bitrate_kbps}k", "ac": 2, "ar": 48000}
    output = ffmpeg_python.output(
        *streams, ffmpeg.input_url(target), f="mp4", vcodec="libx264", preset=settings.preset,
        crf=settings.crf, maxrate=f"{settings.max_bitrate_kbps}k", bufsize=f"{2 * settings.max_bitrate_kbps}k",
        g=max(1, round(fps * settings.keyframe_seconds)), sc_threshold=0,
        force_key_frames=f"expr:gte(t,n_forced*{settings.keyframe_seconds})",
        movflags="+faststart", map_metadata=-1, map_chapters=-1, **audio_args)
    return ffmpeg.compile_args(output)


def _hls_args(mp4: Path, folder: Path, settings: TranscodeSettings) -> list[str]:
    output = ffmpeg_python.input(ffmpeg.input_url(mp4)).output(
        ffmpeg.input_url(folder / "stream.m3u8"), c="copy", f="hls", hls_time=settings.hls_segment_seconds,
        hls_playlist_type="vod", hls_segment_type="fmp4", hls_fmp4_init_filename="init.mp4",
        hls_segment_filename=str(folder / "segment_%05d.m4s"), master_pl_name=HLS_MASTER,
        map_metadata=-1)
    return ffmpeg.compile_args(output)


def _done(job: Job) -> bool:
    recorded = job.catalog.renditions(job.asset.id)
    return bool(recorded) and all((job.out_dir / r.path).is_file() for r in recorded)


def transcode(job: Job) -> None:
    if _done(job):
        return
    settings = job.settings.transcode
    found = ffmpeg.probe(job.master)
    width, height = target_size(found.width, found.height, settings.max_height)
    mp4 = job.out_dir / mp4_name(height, width)
    label = job.master.name

    def encode_progress(fraction: float) -> None:
        job.on_progress(fraction * 0.95)

    with fsutil.atomic_file(mp4) as tmp:
        ffmpeg.run(_encode_args(job.master, tmp, found, (width, height), settings),
                   what=f"{label}: transcode", duration_ms=found.duration_ms, on_progress=encode_progress,
                   timeout_s=settings.timeout_seconds)
    with fsutil.atomic_dir(job.out_dir / HLS_DIR) as folder:
        ffmpeg.run(_hls_args(mp4, folder, settings), what=f"{label}: HLS packaging",
                   timeout_s=settings.timeout_seconds)
    job.on_progress(1.0)
    hls_size = sum(p.stat().st_size for p in (job.out_dir / HLS_DIR).iterdir())
    job.catalog.replace_renditions(job.asset.id, [
        Rendition(job.asset.id, f"mp4-{min(width, height)}p", "mp4", mp4.name, width, height,
                  mp4.stat().st_size),
        Rendition(job.asset.id, "hls", "hls", f"{HLS_DIR}/{HLS_MASTER}", width, height, hls_size),
    ])
