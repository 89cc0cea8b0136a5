"""ffmpeg graphs for the web renditions, built with ffmpeg-python and run through media.ffmpeg.

One process decodes the master once and encodes every rung: the decoded video is split, each branch scaled
to its rung, and every rung gets the same forced keyframes (closed GOPs every `keyframe_seconds`), so the HLS
variants switch cleanly; the tee muxer writes each rung's packets as its MP4 and its HLS playlist, and a branch
of the top rung's pictures gives the poster and the thumbnail (#20). Only the first video and audio streams
are mapped and all metadata and chapters are dropped: phone footage carries the GPS position where it was
filmed.
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


def _loudnorm_measure(settings: TranscodeSettings) -> dict[str, Any]:
    return {"I": settings.loudness_lufs, "TP": settings.true_peak_dbtp, "LRA": LOUDNESS_RANGE,
            "print_format": "json"}


def loudness_output(settings: TranscodeSettings) -> list[str]:
    """The first loudnorm pass as a further output of a command whose input 0 is the master (the captions'
    decode, stages/caption.py), run at log level info; keep_loudness reads what it printed."""
    graph = ":".join(f"{key}={value}" for key, value in _loudnorm_measure(settings).items())
    return ["-map", "0:a:0", "-filter:a", f"loudnorm={graph}", "-f", "null", "-"]


# Measurements by master and target, so that one made during the captions' decode spares the ladder its own
# pass over the same pinned master in the same run (#20).
_MEASURED: ffmpeg.ByFile[Loudness] = ffmpeg.ByFile()


def _parse_loudness(stderr: str) -> Loudness:
    found = re.search(r"\{[^{}]*\"input_i\"[^{}]*\}", stderr)
    data = json.loads(found.group(0)) if found else {}
    return Loudness(_number(data.get("input_i")), _number(data.get("input_tp")), _number(data.get("input_lra")),
                    _number(data.get("input_thresh")), _number(data.get("target_offset")))


def keep_loudness(master: Path, settings: TranscodeSettings, stderr: str) -> None:
    """Remember what a command with loudness_output measured, for measure_loudness."""
    measured = _parse_loudness(stderr)
    if math.isfinite(measured.input_thresh):  # a whole pass, not a stopped one
        _MEASURED.put(master, measured, settings.loudness_lufs, settings.true_peak_dbtp)


def measure_loudness(master: Path, settings: TranscodeSettings, limits: ffmpeg.Limits = ffmpeg.NO_LIMITS) -> Loudness:
    """EBU R128 first pass over the master's first audio stream, unless this run has measured it already."""
    kept = _MEASURED.get(master, settings.loudness_lufs, settings.true_peak_dbtp)
    if kept is not None:
        return kept
    graph = (ffmpeg_python.input(ffmpeg.input_url(master), **ffmpeg.INPUT_OPTIONS)["a:0"]
             .filter("loudnorm", **_loudnorm_measure(settings))
             .output("-", f="null"))
    stderr = ffmpeg.run(ffmpeg.compile_args(graph), what=f"{master.name}: loudness measurement",
                        timeout_s=settings.timeout_seconds, loglevel="info", limits=limits)
    return _parse_loudness(stderr)


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


@dataclass(frozen=True)
class Still:
    """An image to write: where, how wide (None: the frame's own size) and at what JPEG quality (`-q:v`)."""

    target: Path
    width: int | None
    quality: int


@dataclass(frozen=True)
class Frames:
    """The poster and its thumbnail made by the ladder's own encode (#20): the most representative of the
    POSTER_FRAMES pictures of the top rung from `at_s`, written as every one of `stills`, its average luma
    printed to `stats` (luma reads it)."""

    at_s: float
    stills: Sequence[Still]
    stats: Path


POSTER_FRAMES = 50  # the thumbnail filter's batch: the pictures it chooses the most representative among


def _stills(frame: Any, stills: Sequence[Still], stats: Path) -> list[Any]:
    """The outputs that write `frame` (a stream of pictures) as the thumbnail filter's choice, one per still."""
    chosen = (frame.filter("thumbnail", n=POSTER_FRAMES).filter("signalstats")
              .filter("metadata", mode="print", key="lavfi.signalstats.YAVG", file=str(stats)))
    copies = chosen.filter_multi_output("split", len(stills)) if len(stills) > 1 else None
    outputs = []
    for index, still in enumerate(stills):
        picture = copies.stream(index) if copies is not None else chosen
        if still.width is not None:
            picture = picture.filter("scale", still.width, -2)
        outputs.append(picture.output(ffmpeg.input_url(still.target), vframes=1, **{"q:v": still.quality},
                                      map_metadata=-1))
    return outputs


def luma(stats: Path) -> float:
    """The average luma of the chosen frame, from the stats file of _stills (0 if none was written)."""
    found = re.findall(r"YAVG=([\d.]+)", stats.read_text() if stats.exists() else "")
    return float(found[-1]) if found else 0.0


# Characters that the tee muxer's slave list reads as syntax (`|`, `[...]`, `key=value:key=value`, quoting).
_TEE_SYNTAX = re.compile(r"[|\[\]:=\\']")


def tee_safe(*paths: Path) -> bool:
    """Whether these paths can be written into a tee muxer's slave list as they are; a folder whose name has
    one of its special characters gets its HLS from the MP4s in a second run instead."""
    return not any(_TEE_SYNTAX.search(str(path)) for path in paths)


def _hls_options(folder: Path, settings: TranscodeSettings) -> dict[str, Any]:
    """An HLS media playlist in `folder` with fMP4 segments: packaged from an MP4 (_hls_output) or written by
    the ladder's encode (_hls_slave)."""
    return {"f": "hls", "hls_time": settings.hls_segment_seconds, "hls_playlist_type": "vod",
            "hls_segment_type": "fmp4", "hls_fmp4_init_filename": "init.mp4",
            "hls_segment_filename": str(folder / "segment_%05d.m4s"), "hls_flags": "independent_segments"}


def _hls_slave(folder: Path, settings: TranscodeSettings, select: str) -> str:
    """One tee slave: the `select`ed stream ("v" or "a") as an HLS media playlist (_hls_options)."""
    options = {**_hls_options(folder, settings), "select": select}
    return "[" + ":".join(f"{key}={value}" for key, value in options.items()) + "]" + ffmpeg.input_url(
        folder / "stream.m3u8")


def _tee(path: Path, hls: Sequence[tuple[Path, str]], settings: TranscodeSettings) -> str:
    """The tee muxer's slave list: the rung's MP4, and the same encoded packets as HLS playlists (#20)."""
    slaves = [f"[f=mp4:movflags=+faststart]{ffmpeg.input_url(path)}"]
    slaves += [_hls_slave(folder, settings, select) for folder, select in hls]
    return "|".join(slaves)


def ladder_args(master: Path, found: Probe, outputs: list[tuple[Rung, Path]], settings: TranscodeSettings,
                loudness: Loudness | None, nvenc: bool, hls: Sequence[Sequence[tuple[Path, str]]] | None = None,
                frames: Frames | None = None) -> list[str]:
    """One ffmpeg command: decode `master` once, write one progressive MP4 per rung. With `hls` (for each rung,
    the folders and streams, "v" or "a", of its HLS playlists; every path tee_safe), the same run also writes
    them through the tee muxer, so the ladder needs no second ffmpeg to package its HLS (#20); with `frames`,
    it writes the poster and the thumbnail from the top rung's pictures too."""
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
        if index == 0 and frames is not None:  # the top rung's pictures, counted from its first
            pictures = scaled.filter_multi_output("split", 2)
            scaled = pictures.stream(0)
            window = (pictures.stream(1).filter("setpts", "PTS-STARTPTS")
                      .filter("trim", start=f"{frames.at_s:.3f}", duration=f"{POSTER_FRAMES / fps:.3f}"))
            streams += _stills(window, frames.stills, frames.stats)
        parts = [scaled] + ([audios.stream(index)] if audios is not None else [])
        audio_options = ({"acodec": "aac", "b:a": f"{settings.audio_bitrate_kbps}k", "ac": 2}
                         if audios is not None else {"an": None})
        if hls is None:
            muxer: dict[str, Any] = {"f": "mp4", "movflags": "+faststart"}
            target = ffmpeg.input_url(path)
        else:  # the tee muxer cannot tell its encoders that MP4 wants the headers out of band: it is said here
            muxer = {"f": "tee", "flags:v": "+global_header",
                     **({"flags:a": "+global_header"} if audios is not None else {})}
            target = _tee(path, hls[index], settings)
        streams.append(ffmpeg_python.output(
            *parts, target, map_metadata=-1, map_chapters=-1, **muxer,
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
        ffmpeg.input_url(folder / "stream.m3u8"), c="copy", **_hls_options(folder, settings), map_metadata=-1)


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


def _poster_candidate(mp4: Path, at_s: float, stills: Sequence[Still], timeout_s: int,
                      limits: ffmpeg.Limits) -> float:
    """Write the most representative frame of a few seconds from `at_s` as every one of `stills` (the poster
    and its thumbnail from one run, #20); return its average luma."""
    with tempfile.TemporaryDirectory(prefix="pipeline-poster-") as tmp:
        stats = Path(tmp) / "stats.txt"
        frame = ffmpeg_python.input(ffmpeg.input_url(mp4), ss=f"{at_s:.3f}", **ffmpeg.INPUT_OPTIONS)["v:0"]
        ffmpeg.run(ffmpeg.compile_args(ffmpeg_python.merge_outputs(*_stills(frame, stills, stats))),
                   what=f"{mp4.name}: poster", timeout_s=timeout_s, limits=limits)
        return luma(stats)


POSTER_QUALITY, THUMBNAIL_QUALITY = 3, 4  # JPEG quality (-q:v, lower is better)
POSTER_AT = (1 / 3, 1 / 2, 1 / 10, 0.0)  # where a poster is looked for, as fractions of the duration, in turn


def poster_stills(target: Path, thumbnail: tuple[Path, int] | None = None) -> list[Still]:
    """The poster at `target`, and with `thumbnail` (target, width) the same frame scaled down."""
    stills = [Still(target, None, POSTER_QUALITY)]
    if thumbnail is not None:
        stills.append(Still(thumbnail[0], thumbnail[1], THUMBNAIL_QUALITY))
    return stills


def poster(mp4: Path, duration_ms: int, target: Path, timeout_s: int, limits: ffmpeg.Limits = ffmpeg.NO_LIMITS,
           thumbnail: tuple[Path, int] | None = None, tried: int = 0) -> None:
    """A representative, non-black frame: tried a third of the way in, then half-way, then near the start
    (POSTER_AT, less the first `tried` places, which the ladder's encode looked at). With `thumbnail`
    (target, width), the same frame scaled down is written there by the same run."""
    stills = poster_stills(target, thumbnail)
    duration_s = duration_ms / 1000
    for fraction in POSTER_AT[tried:]:
        if _poster_candidate(mp4, duration_s * fraction, stills, timeout_s, limits) >= BLACK_LUMA:
            return
    # Every candidate is dark: the last one written stays, a dark video gets a dark poster.


def thumbnail(poster_jpg: Path, target: Path, width: int, timeout_s: int,
              limits: ffmpeg.Limits = ffmpeg.NO_LIMITS) -> None:
    """The thumbnail alone, from a poster already made (a run that stopped between the two)."""
    graph = (ffmpeg_python.input(ffmpeg.input_url(poster_jpg), f="image2", protocol_whitelist="file")
             .filter("scale", width, -2)
             .output(ffmpeg.input_url(target), vframes=1, **{"q:v": THUMBNAIL_QUALITY}, map_metadata=-1))
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
