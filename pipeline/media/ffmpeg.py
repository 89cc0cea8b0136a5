"""Finding, probing and running ffmpeg and ffprobe. Only the media package builds ffmpeg commands: this
module runs them, and media/encode.py builds the rendition graphs.

Commands are argument lists built with ffmpeg-python, never shell strings. Input paths carry the `file:`
protocol prefix so that a name starting with a dash or containing a colon is read as a plain file, and inputs
are limited to a container allowlist read from plain files only. Each command runs in its own process group
with a time limit, limits on the memory it may allocate and the size of any file it writes, and dies with the
pipeline if the pipeline is killed (#7); it reports progress through a callback, is logged in full at debug
level, and on failure raises MediaError whose message ends with the tail of ffmpeg's stderr.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

import ffmpeg

from pipeline.errors import MediaError
from pipeline.fsutil import display_name
from pipeline.media import sniff
from pipeline.models import Probe

log = logging.getLogger(__name__)

ProgressHook = Callable[[float], None]
T = TypeVar("T")
MIN_FFMPEG = (5, 0)
# Masters may only be read as these containers, and only from plain files: a playlist or concat file disguised
# as a video would otherwise make ffmpeg open other files or URLs.
INPUT_FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"
MAX_STREAMS = 16  # phones write 2 to 6 (video, audio, metadata, timecode); far more is a crafted file
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a child gets when the thread that started it dies
SIGXFSZ_EXIT = -signal.SIGXFSZ  # a process that wrote past RLIMIT_FSIZE
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded before any fork: a child must not take the import lock
INPUT_OPTIONS: dict[str, str | int] = {
    "format_whitelist": INPUT_FORMATS, "protocol_whitelist": "file",
    "probesize": 50_000_000, "analyzeduration": 30_000_000,
}
INSTALL_HINT = "run `make install` (it installs Debian's ffmpeg) or `sudo apt-get install ffmpeg`"


@dataclass(frozen=True)
class Tools:
    ffmpeg: str
    ffprobe: str
    version: str


@lru_cache(maxsize=1)
def tools() -> Tools:
    """Find ffmpeg and ffprobe once, and check that ffmpeg is new enough."""
    found = {name: shutil.which(name) for name in ("ffmpeg", "ffprobe")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise MediaError(f"{' and '.join(missing)} not found on PATH; {INSTALL_HINT}")
    out = subprocess.run([str(found["ffmpeg"]), "-hide_banner", "-version"], capture_output=True, text=True,
                         check=False).stdout
    match = re.search(r"ffmpeg version n?(\d+)\.(\d+)", out)
    if match and (int(match[1]), int(match[2])) < MIN_FFMPEG:
        raise MediaError(f"ffmpeg {match[1]}.{match[2]} is too old; 5.0 or newer is needed; {INSTALL_HINT}")
    version = f"{match[1]}.{match[2]}" if match else "unknown"
    return Tools(ffmpeg=str(found["ffmpeg"]), ffprobe=str(found["ffprobe"]), version=version)


def input_url(path: Path) -> str:
    return f"file:{path}"


def _stderr_tail(text: str, lines: int = 3) -> str:
    kept = [re.sub(r"^\[[^\]]* @ 0x[0-9a-f]+\]\s*", "", line.strip()) for line in text.strip().splitlines()
            if line.strip()]
    return " | ".join(kept[-lines:]) or "no message from ffmpeg"


def _rotation(stream: dict[str, Any]) -> int:
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return int(round(float(side["rotation"]))) % 360
    tag = stream.get("tags", {}).get("rotate")
    return int(tag) % 360 if tag and tag.lstrip("-").isdigit() else 0


def _fps(stream: dict[str, Any]) -> float:
    for key in ("avg_frame_rate", "r_frame_rate"):
        value = stream.get(key, "0/0")
        num, _, den = value.partition("/")
        if num.isdigit() and den.isdigit() and int(den) and int(num):
            return float(Fraction(int(num), int(den)))
    return 0.0


def _input_flags(own_file: bool = False) -> list[str]:
    """Input restrictions; a file the pipeline made itself (a JPEG poster, say) may be of any format."""
    options = {"protocol_whitelist": "file"} if own_file else INPUT_OPTIONS
    return [item for key, value in options.items() for item in (f"-{key}", str(value))]


def _ffprobe_json(path: Path, entries: list[str], timeout_s: int = 60) -> dict[str, Any]:
    """ffprobe on an output of the pipeline."""
    args = [tools().ffprobe, "-hide_banner", "-v", "error", *entries, "-of", "json", *_input_flags(own_file=True),
            input_url(path)]
    log.debug("running %s", args)
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, check=False,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise MediaError(f"{path.name}: ffprobe failed ({_stderr_tail(done.stderr, 1)})", path=str(path))
    result: dict[str, Any] = json.loads(done.stdout or "{}")
    return result


@dataclass(frozen=True)
class VideoStream:
    codec: str
    profile: str
    level: int
    width: int
    height: int
    fps: float
    start_s: float


def video_stream(path: Path) -> VideoStream:
    """The first video stream of a file the pipeline made, for playlists and checks. Read in-process with PyAV
    (the libav libraries faster-whisper loads anyway): an ffprobe launch costs about 0.15 s, and this is asked
    five times per master (#20). Masters themselves are only ever read by a contained ffprobe (probe)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return VideoStream("", "", 0, 0, 0, 0.0, 0.0)
            s = container.streams.video[0]
            codec = s.codec_context
            extradata = codec.extradata or b""
            # H.264's level as ffprobe gives it: level_idc, the fourth byte of the avcC record MP4 keeps it in.
            level = extradata[3] if codec.name == "h264" and extradata[:1] == b"\x01" and len(extradata) > 3 else 0
            rate = s.average_rate or s.base_rate
            start = float(s.start_time * s.time_base) if s.start_time is not None and s.time_base else 0.0
            return VideoStream(codec=str(codec.name), profile=str(codec.profile or ""), level=int(level),
                               width=int(s.width or 0), height=int(s.height or 0),
                               fps=float(rate) if rate else 0.0, start_s=start)
    except (av.FFmpegError, OSError) as exc:
        raise MediaError(f"{path.name}: could not be read ({exc})", path=str(path)) from exc


def keyframe_times(path: Path) -> list[float]:
    info = _ffprobe_json(path, ["-select_streams", "v:0", "-skip_frame", "nokey", "-show_entries",
                                "frame=pts_time"])
    return [round(float(f["pts_time"]), 3) for f in info.get("frames", []) if "pts_time" in f]


@lru_cache(maxsize=1)
def nvenc_available() -> bool:
    """An NVIDIA GPU is present and this ffmpeg can drive its H.264 encoder."""
    if not Path("/dev/nvidiactl").exists():
        return False
    out = subprocess.run([tools().ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True,
                         check=False).stdout
    return "h264_nvenc" in out


@dataclass(frozen=True)
class Limits:
    """What one ffmpeg or ffprobe process may use; None: no limit of that kind."""

    memory_bytes: int | None = None  # heap (RLIMIT_DATA): counts what it allocates, not mapped libraries
    file_bytes: int | None = None  # the largest file it may write (RLIMIT_FSIZE)


NO_LIMITS = Limits()


@lru_cache(maxsize=1)
def _wrappers() -> tuple[str, str] | None:
    """util-linux's setpriv and prlimit, which every Debian system has: with them a contained process starts
    without a preexec function, so Python starts it with vfork instead of copying its own page tables, about
    20 ms a launch once Whisper is loaded (#20)."""
    found = shutil.which("setpriv"), shutil.which("prlimit")
    return (found[0], found[1]) if found[0] and found[1] else None


def contained(args: Sequence[str], limits: Limits) -> tuple[list[str], Callable[[], None] | None]:
    """The command line and the preexec function (None when not needed) that run `args` contained (#7): the
    process dies with the pipeline (PR_SET_PDEATHSIG, set by `setpriv --pdeathsig` before ffmpeg starts, and
    kept across exec), so that a pipeline killed with SIGKILL leaves no ffmpeg writing behind it, and it runs
    under the resource limits (`prlimit`, set before ffmpeg starts). Without the two tools, a preexec function
    does the same."""
    wrappers = _wrappers()
    if wrappers is None:
        return list(args), _contain(limits)
    setpriv, prlimit = wrappers
    bounds = ([f"--data={limits.memory_bytes}"] if limits.memory_bytes else []) + (
        [f"--fsize={limits.file_bytes}"] if limits.file_bytes else [])
    return [setpriv, "--pdeathsig", "KILL", "--", *([prlimit, *bounds, "--"] if bounds else []), *args], None


def _contain(limits: Limits) -> Callable[[], None]:
    """Runs in the child between fork and exec: die with the pipeline, so that a pipeline killed with
    SIGKILL leaves no ffmpeg writing behind it, and apply the resource limits."""
    parent = os.getpid()

    def preexec() -> None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the pipeline died before prctl took effect
            os._exit(1)
        if limits.memory_bytes:
            resource.setrlimit(resource.RLIMIT_DATA, (limits.memory_bytes, limits.memory_bytes))
        if limits.file_bytes:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    return preexec


def _probe_master(path: Path, entries: list[str], timeout_s: int,
                  limits: Limits = NO_LIMITS) -> subprocess.CompletedProcess[str]:
    """ffprobe on a master, with the input restrictions and the same memory limit as ffmpeg (#16: a 5.5 MB MKV
    declaring 8 streams of 15360x15360 frames made an unlimited ffprobe take 8.4 GB)."""
    args = [tools().ffprobe, "-hide_banner", "-v", "error", *entries, "-of", "json", *_input_flags(),
            input_url(path)]
    log.debug("running %s", args)
    command, preexec = contained(args, limits)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False,
                              stdin=subprocess.DEVNULL, preexec_fn=preexec)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{display_name(path)}: ffprobe took over {timeout_s}s; the file may be damaged: copy "
                         "it again from the original, or export it again as MP4", path=str(path)) from exc
    if done.returncode != 0 and _out_of_memory(done.returncode, done.stderr, limits):
        raise MediaError(f"{display_name(path)}: stopped: reading it needed more than the "
                         f"{(limits.memory_bytes or 0) // 2**20} MB allowed ([limits] ffmpeg_memory_mb); the file "
                         "may be crafted: export it again as MP4, or raise the limit", path=str(path))
    return done


def _out_of_memory(code: int, stderr: str, limits: Limits) -> bool:
    allocation = re.search(r"Cannot allocate memory|malloc of size|[Oo]ut of memory|std::bad_alloc", stderr)
    return bool(limits.memory_bytes) and (bool(allocation) or code in (-signal.SIGSEGV, -signal.SIGABRT))


def _unreadable(path: Path, stderr: str) -> MediaError:
    name = display_name(path)
    if "moov atom not found" in stderr and sniff.sniff(path).kind is sniff.Kind.VIDEO:  # an MP4 cut short
        return MediaError(f"{name}: incomplete or damaged: the index that players need (moov atom) is not in "
                          "the file; it was probably cut off while copying: copy it again from the phone or camera",
                          path=str(path))
    stderr = stderr.replace(f"{input_url(path)}: ", "")  # the path is in the message already
    return MediaError(f"{name}: not a readable video ({_stderr_tail(stderr, 1)}); export it again as MP4 or MOV",
                      path=str(path))


def _check_every_picture(path: Path, streams: list[dict[str, Any]], max_long_side: int | None) -> None:
    """Every video stream counts, not just the one transcoded: each is decoded while probing and transcoding
    (#16: 8 streams of 15360x15360), so together they may hold no more pixels than one of the largest allowed
    pictures, and none may be larger than that."""
    if not max_long_side:
        return
    sizes = [(int(s.get("width") or 0), int(s.get("height") or 0)) for s in streams if s.get("codec_type") == "video"]
    for index, (width, height) in enumerate(sizes):
        if max(width, height) > max_long_side:
            raise MediaError(f"{display_name(path)}: video stream {index} is {width}x{height} pixels, larger than "
                             f"[limits] max_long_side = {max_long_side}; export it again at a smaller size, or "
                             "raise the limit", path=str(path))
    total = sum(width * height for width, height in sizes)
    if total > max_long_side ** 2:
        raise MediaError(f"{display_name(path)}: {len(sizes)} video streams of {total / 1e6:,.0f} megapixels in all, "
                         f"more than one {max_long_side}x{max_long_side} picture ([limits] max_long_side); the file "
                         "may be crafted: export it again as MP4 with one video stream", path=str(path))


class ByFile(Generic[T]):
    """What was learnt about a file, kept by its identity (device, inode, size, change time) and an optional
    further key, for the last few files: a pinned master (media/pin.py) cannot change under it, so what one
    stage learnt spares the next its own ffprobe or ffmpeg run over the same master (#20)."""

    KEEP = 8

    def __init__(self) -> None:
        self._kept: dict[tuple[Any, ...], T] = {}

    def get(self, path: Path, *key: Any) -> T | None:
        return self._kept.get((identity(path), *key))

    def put(self, path: Path, value: T, *key: Any) -> None:
        while len(self._kept) >= self.KEEP:
            del self._kept[next(iter(self._kept))]
        self._kept[(identity(path), *key)] = value


def identity(path: Path) -> tuple[int, int, int, int]:
    found = path.stat()
    return (found.st_dev, found.st_ino, found.st_size, found.st_ctime_ns)


# A master's ffprobe facts: a master is probed once per run although ingest, proxy and transcode each ask.
PROBED: ByFile[dict[str, Any]] = ByFile()


def probe(path: Path, timeout_s: int = 60, max_streams: int = MAX_STREAMS, limits: Limits = NO_LIMITS,
          max_long_side: int | None = None) -> Probe:
    """Describe a master; raise MediaError naming the file when it has no usable video stream."""
    info = PROBED.get(path)
    if info is None:
        done = _probe_master(path, ["-show_format", "-show_streams"], timeout_s, limits)
        if done.returncode != 0:
            raise _unreadable(path, done.stderr)
        info = json.loads(done.stdout or "{}")
        PROBED.put(path, info)
    return describe(path, info, max_streams, max_long_side)


def describe(path: Path, info: dict[str, Any], max_streams: int = MAX_STREAMS,
             max_long_side: int | None = None) -> Probe:
    """ffprobe's streams and format of a master as a Probe, or MediaError saying what is wrong with it."""
    name = display_name(path)
    streams = info.get("streams", [])
    if len(streams) > max_streams:
        raise MediaError(f"{name}: has {len(streams)} streams, more than the {max_streams} allowed "
                         "([limits] max_streams); export it again as MP4 or MOV", path=str(path))
    _check_every_picture(path, streams, max_long_side)
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not s.get("disposition", {}).get("attached_pic")), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None and audio is not None:
        # Audio-only masters are refused rather than given a picture nobody chose (README, "Bad input").
        raise MediaError(f"{name}: sound only, no picture; masters must be videos: add a still picture to it "
                         "in a video editor and export it as MP4 (see README, \"Bad input\")", path=str(path))
    if video is None:
        raise MediaError(f"{name}: has no video stream; masters must be videos", path=str(path))
    duration = float(info.get("format", {}).get("duration") or video.get("duration") or 0)
    if duration <= 0:
        raise MediaError(f"{name}: has no duration; the file may be truncated: copy it again", path=str(path))
    rotation = _rotation(video)
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if rotation in (90, 270):
        width, height = height, width
    if width <= 0 or height <= 0:
        raise MediaError(f"{name}: video stream has no picture size; export it again as MP4", path=str(path))
    return Probe(format_name=str(info.get("format", {}).get("format_name", "")),
                 duration_ms=int(duration * 1000), width=width, height=height, rotation=rotation,
                 fps=_fps(video), has_audio=audio is not None,
                 audio_channels=int(audio.get("channels") or 0) if audio else 0,
                 video_codec=str(video.get("codec_name", "")), pixel_format=str(video.get("pix_fmt", "")),
                 audio_codec=str(audio.get("codec_name", "")) if audio else "")


def _read_progress(stream: IO[str], duration_ms: int, on_progress: ProgressHook | None) -> None:
    for line in stream:
        key, _, value = line.strip().partition("=")
        if key == "out_time_us" and value.isdigit() and duration_ms > 0 and on_progress:
            on_progress(min(1.0, int(value) / 1000 / duration_ms))


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _expire(proc: subprocess.Popen[Any], timed_out: threading.Event) -> None:
    timed_out.set()
    _kill_group(proc)


def _failure(what: str, code: int, stderr: str, limits: Limits) -> MediaError:
    if code == SIGXFSZ_EXIT and limits.file_bytes:
        return MediaError(f"{what}: stopped: an output file grew past {limits.file_bytes // 2**20} MB, more than "
                          "this master can need; the master may be damaged or crafted: export it again as MP4")
    if limits.memory_bytes and re.search(r"Cannot allocate memory|malloc of size|[Oo]ut of memory", stderr):
        return MediaError(f"{what}: stopped: ffmpeg needed more than the {limits.memory_bytes // 2**20} MB "
                          "allowed ([limits] ffmpeg_memory_mb); raise it if the master is a genuine large video")
    return MediaError(f"{what}: ffmpeg failed ({_stderr_tail(stderr)})")


def run(args: Sequence[str], *, what: str, duration_ms: int = 0, on_progress: ProgressHook | None = None,
        timeout_s: int = 3600, loglevel: str = "error", limits: Limits = NO_LIMITS) -> str:
    """Run one ffmpeg command (arguments after the program name) to completion and return its stderr;
    raise MediaError on failure."""
    full = [tools().ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", loglevel,
            "-progress", "pipe:1", *args]
    log.debug("running %s", full)
    if on_progress:
        on_progress(0.0)
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as err:
        command, preexec = contained(full, limits)
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                text=True, start_new_session=True, preexec_fn=preexec)
        assert proc.stdout is not None
        reader = threading.Thread(target=_read_progress, args=(proc.stdout, duration_ms, on_progress),
                                  daemon=True)
        reader.start()
        # A timer enforces the time limit, so that the wait blocks in waitpid: a wait with a timeout polls, and
        # adds up to 50 ms to every command (#20).
        timed_out = threading.Event()
        timer = threading.Timer(timeout_s, _expire, args=(proc, timed_out))
        timer.start()
        try:
            code = proc.wait()
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            timer.cancel()
        if timed_out.is_set():
            raise MediaError(f"{what}: stopped after {timeout_s}s ([transcode] timeout_seconds)")
        reader.join(timeout=5)
        err.seek(0)
        stderr = err.read()
    if code != 0:
        raise _failure(what, code, stderr, limits)
    if on_progress:
        on_progress(1.0)
    return stderr


def compile_args(stream: Any) -> list[str]:
    """ffmpeg-python's graph as an argument list, without the program name and with overwrite on."""
    return [str(a) for a in ffmpeg.compile(stream.global_args("-y"), cmd="ffmpeg")[1:]]


def decode_audio(path: Path, sample_rate: int = 16000, timeout_s: int = 3600) -> bytes:
    """The first audio stream as mono signed 16-bit PCM at `sample_rate`, whole, in memory: for short clips
    (tests, benchmarks). The pipeline streams it (audio_blocks)."""
    return b"".join(audio_blocks(path, sample_rate, timeout_s=timeout_s))


def audio_blocks(path: Path, sample_rate: int = 16000, block_seconds: int = 10, timeout_s: int = 3600,
                 limits: Limits = NO_LIMITS, also: Sequence[str] = (),
                 on_stderr: Callable[[str], None] | None = None) -> Iterator[bytes]:
    """The first audio stream as mono signed 16-bit PCM at `sample_rate`, read from ffmpeg through a pipe in
    blocks of about `block_seconds` as it decodes, so memory does not grow with the master's length (#20).
    MediaError when ffmpeg fails; a consumer that stops early stops ffmpeg. `also`: the arguments of further
    outputs of the same decode, run at log level info; `on_stderr` receives what ffmpeg printed once it
    finished well."""
    stream = ffmpeg.input(input_url(path), **INPUT_OPTIONS).output(
        "pipe:1", map="0:a:0", ac=1, ar=sample_rate, f="s16le", acodec="pcm_s16le")
    full = [tools().ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info" if also else "error",
            *compile_args(stream), *also]
    log.debug("running %s", full)
    what = f"{display_name(path)}: audio extraction"
    timed_out = threading.Event()
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as err:
        command, preexec = contained(full, limits)
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                start_new_session=True, preexec_fn=preexec)
        assert proc.stdout is not None
        timer = threading.Timer(timeout_s, _expire, args=(proc, timed_out))
        timer.start()
        finished = False
        try:
            while block := proc.stdout.read(block_seconds * sample_rate * 2):
                yield block
            finished = True
        finally:
            timer.cancel()
            if finished:
                proc.wait()
            else:
                _kill_group(proc)
            proc.stdout.close()
        err.seek(0)
        stderr = err.read()
    if timed_out.is_set():
        raise MediaError(f"{what}: stopped after {timeout_s}s ([transcode] timeout_seconds)")
    if proc.returncode != 0:
        raise _failure(what, proc.returncode, stderr, limits)
    if on_stderr is not None:
        on_stderr(stderr)
