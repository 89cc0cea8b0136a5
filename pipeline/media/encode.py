"""ffmpeg graphs for the web renditions, built with ffmpeg-python and run through media.ffmpeg.

One process decodes the master once and encodes every rung: the decoded video is split, each branch scaled
to its rung, and every rung gets the same forced keyframes (closed GOPs every `keyframe_seconds`), so the HLS
variants switch cleanly. Only the first video and audio streams are mapped and all metadata and chapters are
dropped: phone footage carries the GPS position where it was filmed.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg as ffmpeg_python

from pipeline.config import TranscodeSettings
from pipeline.media import ffmpeg
from pipeline.media.ladder import Rung
from pipeline.models import Probe

LOUDNESS_RANGE = 11  # LU; EBU R128's loudnorm default, fine for speech
SILENCE_LUFS = -70.0  # below this a track is silence: there is nothing to normalise
BLACK_LUMA = 24  # average luma (8-bit, limited range) under which a frame counts as black


@dataclass(frozen=True)
class Loudness:
    """The first loudnorm pass: what the master measures."""

    input_i: float
    input_tp: float
    input_lra: float
    input_thresh: float
    target_offset: float

    @property
    def silent(self) -> bool:
        return not math.isfinite(self.input_i) or self.input_i < SILENCE_LUFS


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return -math.inf


def measure_loudness(master: Path, settings: TranscodeSettings, limits: ffmpeg.Limits = ffmpeg.NO_LIMITS) -> Loudness:
    """EBU R128 first pass over the master's first audio stream."""
    graph = (ffmpeg_python.input(ffmpeg.input_url(master), **ffmpeg.INPUT_OPTIONS)["a:0"]
             .filter("loudnorm", I=settings.loudness_lufs, TP=settings.true_peak_dbtp, LRA=LOUDNESS_RANGE,
                     print_format="json")
             .output("-", f="null"))
    stderr = ffmpeg.run(ffmpeg.compile_args(graph), what=f"{master.name}: loudness measurement",
                        timeout_s=settings.timeout_seconds, loglevel="info", limits=limits)
    found = re.search(r"\{[^{}]*\"input_i\"[^{}]*\}", stderr)
    data = json.loads(found.group(0)) if found else {}
    return Loudness(_number(data.get("input_i")), _number(data.get("input_tp")), _number(data.get("input_lra")),
                    _number(data.get("input_thresh")), _number(data.get("target_offset")))


def _encoder_options(rung: Rung, fps: float, settings: TranscodeSettings, nvenc: bool) -> dict[str, Any]:
    gop = max(1, round(fps * settings.keyframe_seconds))
    common = {
        "maxrate": f"{rung.maxrate_kbps}k", "bufsize": f"{rung.bufsize_kbps}k", "g": gop,
        "force_key_frames": f"expr:gte(t,n_forced*{settings.keyframe_seconds})", "profile:v": "high",
    }
    if nvenc:
        return {"vcodec": "h264_nvenc", "preset": "p5", "rc": "vbr", "cq": settings.crf, "b:v": "0",
                "forced-idr": 1, "no-scenecut": 1, "strict_gop": 1, **common}
    return {"vcodec": "libx264", "preset": settings.preset, "crf": settings.crf, "keyint_min": gop,
            "sc_threshold": 0, "x264-params": "open-gop=0", **common}


def ladder_args(master: Path, found: Probe, outputs: list[tuple[Rung, Path]], settings: TranscodeSettings,
                loudness: Loudness | None, nvenc: bool) -> list[str]:
    """One ffmpeg command: decode `master` once, write one progressive MP4 per rung."""
    # Never past the probed duration and a margin (#16): a header that lies about the length cannot make the
    # transcode run on for hours; the margin covers streams that end a little after the container says.
    cap_s = found.duration_ms / 1000 * 1.1 + 5
    source = ffmpeg_python.input(ffmpeg.input_url(master), t=f"{cap_s:.3f}", **ffmpeg.INPUT_OPTIONS)
    video = source["v:0"]
    fps = min(found.fps or settings.max_fps, settings.max_fps)
    if found.fps > settings.max_fps or found.fps <= 0:
        video = video.filter("fps", fps=fps)
    videos = video.filter_multi_output("split", len(outputs))
    audios = None
    if found.has_audio:
        audio = source["a:0"]
        if loudness is not None and not loudness.silent:
            audio = audio.filter(
                "loudnorm", I=settings.loudness_lufs, TP=settings.true_peak_dbtp, LRA=LOUDNESS_RANGE,
                measured_I=loudness.input_i, measured_TP=loudness.input_tp, measured_LRA=loudness.input_lra,
                measured_thresh=loudness.input_thresh, offset=loudness.target_offset, linear="true")
        # Mono, 5.1 and anything else come out as 48 kHz stereo.
        audio = audio.filter("aformat", sample_fmts="fltp", sample_rates=48000, channel_layouts="stereo")
        audios = audio.filter_multi_output("asplit", len(outputs))
    streams = []
    for index, (rung, path) in enumerate(outputs):
        scaled = (videos.stream(index).filter("scale", rung.width, rung.height).filter("setsar", "1")
                  .filter("format", "yuv420p"))
        parts = [scaled] + ([audios.stream(index)] if audios is not None else [])
        audio_options = ({"acodec": "aac", "b:a": f"{settings.audio_bitrate_kbps}k", "ac": 2}
                         if audios is not None else {"an": None})
        streams.append(ffmpeg_python.output(
            *parts, ffmpeg.input_url(path), f="mp4", movflags="+faststart", map_metadata=-1, map_chapters=-1,
            **_encoder_options(rung, fps, settings, nvenc), **audio_options))
    return ffmpeg.compile_args(ffmpeg_python.merge_outputs(*streams))


# What Chromium, Firefox and Safari all play in an MP4 (#19): 8-bit 4:2:0 H.264, and AAC or MP3 sound.
BROWSER_VIDEO = frozenset({"h264"})
BROWSER_PIXELS = frozenset({"yuv420p", "yuvj420p"})
BROWSER_AUDIO = frozenset({"aac", "mp3"})
PROXY_SHORT_SIDE = 360  # the editor's picture: enough to see who speaks, quick to decode and to seek in
PROXY_MAXRATE_KBPS = 1200
PROXY_AUDIO_KBPS = 128


def browser_plays(found: Probe) -> bool:
    """Whether the master's own streams play in the editor once copied into an MP4."""
    return (found.video_codec in BROWSER_VIDEO and found.pixel_format in BROWSER_PIXELS
            and (not found.has_audio or found.audio_codec in BROWSER_AUDIO))


def proxy_size(found: Probe) -> tuple[int, int]:
    """The proxy's picture: the master's shape with its short side PROXY_SHORT_SIDE (never enlarged), even."""
    short, long = sorted((found.width, found.height))
    scale = min(1.0, PROXY_SHORT_SIDE / short)
    sides = (max(2, round(short * scale / 2) * 2), max(2, round(long * scale / 2) * 2))
    return (sides[1], sides[0]) if found.width >= found.height else sides


def proxy_copy_args(master: Path, target: Path) -> list[str]:
    """The master's first video and audio streams copied into an MP4, without metadata (a phone's GPS position
    stays out): a playable master is its own proxy, made in the time it takes to read it."""
    source = ffmpeg_python.input(ffmpeg.input_url(master), **ffmpeg.INPUT_OPTIONS)
    output = ffmpeg_python.output(source["v:0"], source["a:0?"], ffmpeg.input_url(target), f="mp4", c="copy",
                                  movflags="+faststart", map_metadata=-1, map_chapters=-1)
    return ffmpeg.compile_args(output)


def proxy_encode_args(master: Path, found: Probe, target: Path, settings: TranscodeSettings) -> list[str]:
    """A small, fast H.264/AAC proxy of a master a browser cannot play (HEVC from a phone, ProRes): one
    keyframe a second, so the editor seeks at once; quality is for following speech, not for viewing."""
    source = ffmpeg_python.input(ffmpeg.input_url(master), **ffmpeg.INPUT_OPTIONS)
    width, height = proxy_size(found)
    video = source["v:0"]
    fps = min(found.fps or settings.max_fps, settings.max_fps)
    if found.fps > settings.max_fps or found.fps <= 0:
        video = video.filter("fps", fps=fps)
    video = video.filter("scale", width, height).filter("setsar", "1").filter("format", "yuv420p")
    streams = [video]
    options: dict[str, Any] = {"an": None}
    if found.has_audio:
        streams.append(source["a:0"].filter("aformat", sample_fmts="fltp", sample_rates=48000,
                                            channel_layouts="stereo"))
        options = {"acodec": "aac", "b:a": f"{PROXY_AUDIO_KBPS}k", "ac": 2}
    gop = max(1, round(fps))
    output = ffmpeg_python.output(
        *streams, ffmpeg.input_url(target), f="mp4", movflags="+faststart", map_metadata=-1, map_chapters=-1,
        vcodec="libx264", preset="ultrafast", crf=28, maxrate=f"{PROXY_MAXRATE_KBPS}k",
        bufsize=f"{2 * PROXY_MAXRATE_KBPS}k", g=gop, keyint_min=gop, **options)
    return ffmpeg.compile_args(output)


def _hls_output(source: Any, folder: Path, settings: TranscodeSettings, stream: str | None) -> Any:
    return (source[stream] if stream else source).output(
        ffmpeg.input_url(folder / "stream.m3u8"), c="copy", f="hls", hls_time=settings.hls_segment_seconds,
        hls_playlist_type="vod", hls_segment_type="fmp4", hls_fmp4_init_filename="init.mp4",
        hls_segment_filename=str(folder / "segment_%05d.m4s"), hls_flags="independent_segments",
        map_metadata=-1)


def hls_args(mp4: Path, folder: Path, settings: TranscodeSettings, stream: str | None = None) -> list[str]:
    """Repackage one rung's MP4 as an HLS media playlist with fMP4 segments, without re-encoding: every stream,
    or only `stream` ("v:0": the picture of a variant; "a:0": the sound, its own rendition since #21)."""
    return hls_many_args([(mp4, folder, stream)], settings)


def hls_many_args(packages: Sequence[tuple[Path, Path, str | None]], settings: TranscodeSettings) -> list[str]:
    """Several HLS media playlists (MP4, folder, stream as in hls_args) in one ffmpeg run: the ladder's
    variants and its sound are packaged by one program launch, not one each (#20)."""
    sources: dict[Path, Any] = {}
    outputs = []
    for mp4, folder, stream in packages:
        if mp4 not in sources:
            sources[mp4] = ffmpeg_python.input(ffmpeg.input_url(mp4), **ffmpeg.INPUT_OPTIONS)
        outputs.append(_hls_output(sources[mp4], folder, settings, stream))
    return ffmpeg.compile_args(ffmpeg_python.merge_outputs(*outputs))


def _poster_candidate(mp4: Path, at_s: float, target: Path, timeout_s: int, limits: ffmpeg.Limits) -> float:
    """Write the most representative frame of a few seconds from `at_s`; return its average luma."""
    with tempfile.TemporaryDirectory(prefix="pipeline-poster-") as tmp:
        stats = Path(tmp) / "stats.txt"
        graph = (ffmpeg_python.input(ffmpeg.input_url(mp4), ss=f"{at_s:.3f}", **ffmpeg.INPUT_OPTIONS)["v:0"]
                 .filter("thumbnail", n=50).filter("signalstats")
                 .filter("metadata", mode="print", key="lavfi.signalstats.YAVG", file=str(stats))
                 .output(ffmpeg.input_url(target), vframes=1, **{"q:v": 3}, map_metadata=-1))
        ffmpeg.run(ffmpeg.compile_args(graph), what=f"{mp4.name}: poster", timeout_s=timeout_s, limits=limits)
        found = re.findall(r"YAVG=([\d.]+)", stats.read_text() if stats.exists() else "")
        return float(found[-1]) if found else 0.0


def poster(mp4: Path, duration_ms: int, target: Path, timeout_s: int, limits: ffmpeg.Limits = ffmpeg.NO_LIMITS) -> None:
    """A representative, non-black frame: tried a third of the way in, then half-way, then near the start."""
    duration_s = duration_ms / 1000
    for fraction in (1 / 3, 1 / 2, 1 / 10, 0.0):
        if _poster_candidate(mp4, duration_s * fraction, target, timeout_s, limits) >= BLACK_LUMA:
            return
    # Every candidate is dark: the last one written stays, a dark video gets a dark poster.


def thumbnail(poster_jpg: Path, target: Path, width: int, timeout_s: int,
              limits: ffmpeg.Limits = ffmpeg.NO_LIMITS) -> None:
    graph = (ffmpeg_python.input(ffmpeg.input_url(poster_jpg), f="image2", protocol_whitelist="file")
             .filter("scale", width, -2)
             .output(ffmpeg.input_url(target), vframes=1, **{"q:v": 4}, map_metadata=-1))
    ffmpeg.run(ffmpeg.compile_args(graph), what=f"{poster_jpg.name}: thumbnail", timeout_s=timeout_s,
               limits=limits)


def burn_in_args(mp4: Path, vtt_file: Path, target: Path, rung: Rung, fps: float,
                 settings: TranscodeSettings) -> list[str]:
    """Re-encode one rung with the captions drawn onto the picture (libass), the sound copied.

    `vtt_file` must have a plain name: the subtitles filter reads it through filter-graph syntax.
    """
    source = ffmpeg_python.input(ffmpeg.input_url(mp4), **ffmpeg.INPUT_OPTIONS)
    # Large, boxed text low in the frame: readable on a projector at the back of a hall.
    style = "FontName=DejaVu Sans,FontSize=22,BorderStyle=3,Outline=1,Shadow=0,MarginV=24"
    video = source["v:0"].filter("subtitles", filename=str(vtt_file), force_style=style)
    streams = [video, source["a:0?"]]
    output = ffmpeg_python.output(*streams, ffmpeg.input_url(target), f="mp4", movflags="+faststart",
                                  map_metadata=-1, map_chapters=-1, acodec="copy",
                                  **_encoder_options(rung, fps, settings, nvenc=False))
    return ffmpeg.compile_args(output)


def soft_captions_args(mp4: Path, srt_file: Path, target: Path, language: str, label: str) -> list[str]:
    """One rung's picture and sound copied, with the captions added as a mov_text track that VLC, QuickTime
    and PowerPoint can switch on; the track carries its ISO 639-2 `language` and is on by default."""
    source = ffmpeg_python.input(ffmpeg.input_url(mp4), **ffmpeg.INPUT_OPTIONS)
    captions = ffmpeg_python.input(ffmpeg.input_url(srt_file), f="srt", protocol_whitelist="file")
    output = ffmpeg_python.output(
        source["v:0"], source["a:0?"], captions["s:0"], ffmpeg.input_url(target), f="mp4", vcodec="copy",
        acodec="copy", scodec="mov_text", movflags="+faststart", map_metadata=-1, map_chapters=-1,
        # Two spellings of the same stream, because ffmpeg-python takes each option once.
        **{"metadata:s:s:0": f"language={language}", "metadata:s:s": f"title={label}", "disposition:s:0": "default"})
    return ffmpeg.compile_args(output)
