"""Test media made at test time with ffmpeg's lavfi sources and espeak-ng speech."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def speech_wav(path: Path, text: str) -> Path:
    subprocess.run(["espeak-ng", "-v", "en-gb", "-s", "140", "-w", str(path), text], check=True)
    return path


def speech_video(path: Path, text: str, size: str = "320x240", extra: tuple[str, ...] = ()) -> Path:
    """A test pattern with `text` spoken over it, as H.264/AAC MP4."""
    wav = speech_wav(path.with_suffix(".wav"), text)
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25", "-i", str(wav),
            "-filter_complex", "[1:a]apad=pad_dur=0.5[a]", "-map", "0:v", "-map", "[a]", "-shortest",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", *extra, str(path))
    wav.unlink()
    return path


def silent_video(path: Path, seconds: float = 3, size: str = "320x240", audio: bool = False,
                 extra: tuple[str, ...] = ()) -> Path:
    """A test pattern, optionally with a quiet tone that holds no speech."""
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"anullsrc=r=48000:cl=stereo:d={seconds}"]
    _ffmpeg(*inputs, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            *(["-c:a", "aac"] if audio else []), *extra, str(path))
    return path


def sample_master(path: Path) -> Path:
    """The same recipe as the sample master shipped in masters/."""
    subprocess.run([str(ROOT / "scripts" / "make-sample-master.sh"), str(path)], check=True,
                   capture_output=True)
    return path
