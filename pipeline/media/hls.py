"""HLS playlists the pipeline writes itself (RFC 8216): the master playlist and the subtitles playlist.

ffmpeg writes each rung's media playlist and segments; the master playlist is written here so that it can say
what the segments really hold: BANDWIDTH is the peak segment bit rate, AVERAGE-BANDWIDTH the mean (both
measured from the files), a SUBTITLES group is added whenever captions exist, and an AUDIO group holds the
programme's sound and, once approved, the described soundtrack (#21). It is rebuilt whenever they change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

_AVC_PROFILES = {"Baseline": "4200", "Constrained Baseline": "42E0", "Main": "4D40", "High": "6400"}
AAC_LC = "mp4a.40.2"


@dataclass(frozen=True)
class Variant:
    uri: str  # relative to the master playlist
    width: int
    height: int
    bandwidth: int
    average_bandwidth: int
    codecs: str
    frame_rate: float


@dataclass(frozen=True)
class AudioTrack:
    """An EXT-X-MEDIA TYPE=AUDIO rendition of the "audio" group: the programme's sound (the default), or the
    described soundtrack (#21), which players offer but never pick by themselves."""

    uri: str
    language: str
    name: str
    default: bool
    bandwidth: int
    average_bandwidth: int
    characteristics: str = ""  # e.g. "public.accessibility.describes-video"


DESCRIBES_VIDEO = "public.accessibility.describes-video"


@dataclass(frozen=True)
class SubtitleTrack:
    uri: str
    language: str
    name: str


def avc_codec(profile: str, level: int) -> str:
    """RFC 6381 codec string for H.264, for example avc1.64001f for High profile, level 3.1."""
    return f"avc1.{_AVC_PROFILES.get(profile, '6400')}{level:02x}"


def media_segments(playlist: Path) -> list[tuple[float, Path]]:
    """(duration in seconds, file) of every segment in a media playlist."""
    segments: list[tuple[float, Path]] = []
    duration: float | None = None
    for line in playlist.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:"):].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            segments.append((duration, playlist.parent / line))
            duration = None
    return segments


def measured_bandwidth(playlist: Path) -> tuple[int, int]:
    """(peak, average) bits per second over the segments of a media playlist."""
    segments = [(d, f.stat().st_size * 8) for d, f in media_segments(playlist) if d > 0]
    if not segments:
        return 0, 0
    peak = max(bits / d for d, bits in segments)
    average = sum(bits for _, bits in segments) / sum(d for d, _ in segments)
    return math.ceil(peak), math.ceil(average)


def master_playlist(variants: list[Variant], subtitles: list[SubtitleTrack],
                    audio: list[AudioTrack] | None = None) -> str:
    """With `audio`, the variants are pictures only and each names the "audio" group; their BANDWIDTH then
    adds the group's largest rendition, as RFC 8216 4.3.4.2 asks (the figures of what a player really fetches)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for sound in audio or []:
        flag = "YES" if sound.default else "NO"
        extra = f',CHARACTERISTICS="{sound.characteristics}"' if sound.characteristics else ""
        lines.append(f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="{sound.name}",LANGUAGE="{sound.language}",'
                     f'DEFAULT={flag},AUTOSELECT={flag}{extra},CHANNELS="2",URI="{sound.uri}"')
    for index, track in enumerate(subtitles):
        default = "YES" if index == 0 else "NO"
        lines.append(f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="{track.name}",LANGUAGE="{track.language}",'
                     f'DEFAULT={default},AUTOSELECT=YES,FORCED=NO,URI="{track.uri}"')
    groups = (',AUDIO="audio"' if audio else "") + (',SUBTITLES="subs"' if subtitles else "")
    peak = max((t.bandwidth for t in audio or []), default=0)
    mean = max((t.average_bandwidth for t in audio or []), default=0)
    for v in sorted(variants, key=lambda v: v.bandwidth, reverse=True):
        lines.append(f"#EXT-X-STREAM-INF:BANDWIDTH={v.bandwidth + peak},AVERAGE-BANDWIDTH={v.average_bandwidth + mean},"
                     f'RESOLUTION={v.width}x{v.height},CODECS="{v.codecs}",FRAME-RATE={v.frame_rate:.3f}{groups}')
        lines.append(v.uri)
    return "\n".join(lines) + "\n"


def subtitle_playlist(vtt_name: str, duration_s: float) -> str:
    """A media playlist holding the whole WebVTT file as its one segment."""
    target = max(1, math.ceil(duration_s))
    return "\n".join(["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{target}",
                      "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD", f"#EXTINF:{duration_s:.3f},",
                      vtt_name, "#EXT-X-ENDLIST"]) + "\n"


def with_timestamp_map(vtt_text: str, start_s: float) -> str:
    """The WebVTT text with X-TIMESTAMP-MAP tying cue time 0 to the video's first presentation time."""
    header, _, rest = vtt_text.partition("\n")
    mpegts = round(start_s * 90000)
    return f"{header}\nX-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000\n{rest}"
