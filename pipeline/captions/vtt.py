"""WebVTT writing and reading (https://www.w3.org/TR/webvtt1/).

Cue text is escaped (`&`, `<`, `>`), which also makes `-->` impossible inside a cue; blank lines and control
characters inside a cue are removed, because a blank line ends a cue. Every file is read back with webvtt-py
and compared with what was meant before it is stored.
"""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import webvtt

from pipeline import fsutil
from pipeline.errors import CaptionError
from pipeline.models import Cue

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def timestamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def parse_timestamp(text: str) -> int:
    parts = text.strip().split(":")
    seconds, _, millis = parts[-1].partition(".")
    hours = int(parts[0]) if len(parts) == 3 else 0
    return ((hours * 60 + int(parts[-2])) * 60 + int(seconds)) * 1000 + int(millis.ljust(3, "0")[:3])


def clean_text(text: str) -> str:
    """Cue text as it may be stored: no control characters, no blank or padded lines."""
    lines = [_CONTROL.sub("", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(line for line in lines if line)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_vtt(cues: list[Cue], note: dict[str, str] | None = None) -> str:
    """WebVTT text; `note` (provenance: engine, model, when, reviewed or not) becomes a NOTE block."""
    blocks = ["WEBVTT\n"]
    if note:
        lines = [f"{key}: {' '.join(clean_text(value).split()).replace('-->', '->')}" for key, value in note.items()]
        blocks.append("NOTE\n" + "\n".join(lines) + "\n")
    for cue in cues:
        if cue.end_ms <= cue.start_ms:
            raise CaptionError(f"cue at {timestamp(cue.start_ms)} ends before it starts")
        blocks.append(f"{timestamp(cue.start_ms)} --> {timestamp(cue.end_ms)}\n{escape(clean_text(cue.text))}\n")
    return "\n".join(blocks)


def parse_vtt(text: str, format: str = "vtt") -> list[Cue]:
    """Cues of a WebVTT (or, with format="srt", SubRip) text."""
    try:
        captions = webvtt.from_buffer(io.StringIO(text), format=format, strict=format == "vtt")
    except Exception as exc:  # webvtt-py raises several unrelated types for malformed files
        raise CaptionError(f"not valid WebVTT: {exc}") from exc
    if format == "srt":  # SubRip has no escaping: its text is taken as it is
        return [Cue(parse_timestamp(c.start), parse_timestamp(c.end), clean_text(c.raw_text))
                for c in captions.captions]
    return [Cue(parse_timestamp(c.start), parse_timestamp(c.end), html.unescape(c.raw_text))
            for c in captions.captions]


def write_vtt(path: Path, cues: list[Cue], note: dict[str, str] | None = None) -> None:
    """Write cues to `path` atomically, after checking that the text reads back as the same cues."""
    text = format_vtt(cues, note)
    expected = [Cue(c.start_ms, c.end_ms, clean_text(c.text)) for c in cues]
    if parse_vtt(text) != expected:
        raise CaptionError(f"{path.name}: WebVTT did not read back as written; not saved")
    fsutil.write_text(path, text)


def read_vtt(path: Path) -> list[Cue]:
    return parse_vtt(path.read_text(encoding="utf-8"))


def format_srt(cues: list[Cue]) -> str:
    """SubRip text, for editors such as Subtitle Edit and Aegisub."""
    blocks = []
    for index, cue in enumerate(cues, start=1):
        start, end = timestamp(cue.start_ms).replace(".", ","), timestamp(cue.end_ms).replace(".", ",")
        blocks.append(f"{index}\n{start} --> {end}\n{clean_text(cue.text).replace('-->', '->')}\n")
    return "\n".join(blocks)


def read_captions_file(path: Path) -> list[Cue]:
    """Cues of a .vtt or .srt file edited elsewhere; a file that cannot be read is refused, naming it."""
    if not path.is_file():
        raise CaptionError(f"{path}: file not found; check the path")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaptionError(f"{path.name}: cannot be read ({exc.strerror}); check the file") from exc
    return parse_captions_file(path.name, data)


def parse_captions_file(name: str, data: bytes) -> list[Cue]:
    """Cues of the contents of a .vtt or .srt file named `name` (from disk or uploaded to the editor)."""
    kind = Path(name).suffix.lower().lstrip(".")
    if kind not in ("vtt", "srt"):
        raise CaptionError(f"{name}: not a .vtt or .srt file; export WebVTT or SubRip from your editor")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaptionError(f"{name}: cannot be read as UTF-8 text ({exc.reason}); save it as UTF-8") from exc
    try:
        cues = parse_vtt(text, format=kind)
    except CaptionError as exc:
        raise CaptionError(f"{name}: {exc}; check the file in your caption editor") from exc
    bad = next((c for c in cues if c.end_ms <= c.start_ms), None)
    if bad is not None:
        raise CaptionError(f"{name}: the cue at {timestamp(bad.start_ms)} ends before it starts; fix its times")
    return cues
