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


def phone_video(path: Path, size: str = "1280x720", seconds: float = 6, rate: int = 30, audio: str | None = "stereo",
                rotate: int | None = None, noise: bool = False, tags: dict[str, str] | None = None,
                timecode: str | None = None) -> Path:
    """Phone-style footage: a test pattern (optionally noisy, so encoders hit their bitrate caps), a tone at
    about -30 LUFS in mono, stereo or 5.1, display rotation and metadata tags as phones write them."""
    video = f"testsrc2=size={size}:rate={rate}:duration={seconds}" + (",noise=alls=60:allf=t" if noise else "")
    inputs = ["-f", "lavfi", "-i", video]
    if audio:
        layout = {"mono": "mono", "stereo": "stereo", "5.1": "5.1"}[audio]
        inputs += ["-f", "lavfi", "-i",
                   f"sine=frequency=440:sample_rate=48000:duration={seconds},volume=0.03,"
                   f"aformat=channel_layouts={layout}"]
    metadata = [item for key, value in (tags or {}).items() for item in ("-metadata", f"{key}={value}")]
    plain = path.with_name("plain-" + path.name)
    _ffmpeg(*inputs, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            *(["-c:a", "aac"] if audio else []), str(plain))
    rotation = ["-metadata:s:v:0", f"rotate={rotate}"] if rotate is not None else []
    stamp = ["-timecode", timecode] if timecode else []  # MOV writes it as a separate tmcd data stream
    _ffmpeg("-i", str(plain), "-map", "0", "-c", "copy", *metadata, *rotation, *stamp, str(path))
    plain.unlink()
    return path


# -- bad inputs (#7): files a volunteer might drop into masters/ by mistake, or made to attack ffmpeg ---------


def still_image(path: Path, size: str = "320x240") -> Path:
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}", "-frames:v", "1", str(path))
    return path


def audio_only(path: Path, seconds: float = 1) -> Path:
    """A tone with no picture, as AAC in an MP4 container (a voice memo exported as .mp4)."""
    _ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac", "-f", "mp4", str(path))
    return path


def avi_video(path: Path, seconds: float = 1) -> Path:
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=25:duration={seconds}", "-c:v", "mpeg4", str(path))
    return path


def many_streams_video(path: Path, audio_streams: int, seconds: float = 1) -> Path:
    """A Matroska file with one video stream and `audio_streams` silent audio streams."""
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=25:duration={seconds}",
              "-f", "lavfi", "-i", f"anullsrc=r=8000:cl=mono:d={seconds}"]
    maps = ["-map", "0:v", *[item for _ in range(audio_streams) for item in ("-map", "1:a")]]
    _ffmpeg(*inputs, *maps, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
            "-f", "matroska", str(path))
    return path


def truncated_copy(source: Path, target: Path, fraction: float = 0.5) -> Path:
    """The first part of `source`, as a copy cut off midway leaves it."""
    data = source.read_bytes()
    target.write_bytes(data[:int(len(data) * fraction)])
    return target


def hls_playlist_disguised(path: Path, points_at: Path) -> Path:
    """An HLS playlist renamed to look like a video, whose only segment is another file on the machine."""
    path.write_text("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
                    f"#EXTINF:10.0,\nfile:{points_at}\n#EXTINF:10.0,\n{points_at.name}\n#EXT-X-ENDLIST\n")
    return path


def concat_list_disguised(path: Path, points_at: Path) -> Path:
    """An ffmpeg concat list renamed to look like a video, naming another master by its absolute path."""
    quoted = "'" + str(points_at).replace("'", "'\\''") + "'"
    path.write_text(f"ffconcat version 1.0\nfile {quoted}\nfile {points_at.name!r}\n")
    return path


def programme_video(path: Path, text: str, seconds: float = 8, tone_hz: int = 3000) -> Path:
    """Audio description's programme (#21): `text` spoken at the start over a steady tone of `tone_hz` that
    lasts the whole video, so that a narrow band-pass measures the programme apart from any voice added later."""
    wav = speech_wav(path.with_suffix(".wav"), text)
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}", "-i", str(wav),
            "-f", "lavfi", "-i", f"sine=frequency={tone_hz}:sample_rate=48000:duration={seconds}",
            "-filter_complex", "[1:a]aresample=48000,apad[s];[2:a]volume=0.3[t];"
                               "[s][t]amix=inputs=2:normalize=0:duration=longest[a]",
            "-map", "0:v", "-map", "[a]", "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
            "-pix_fmt", "yuv420p", "-c:a", "aac", str(path))
    wav.unlink()
    return path
