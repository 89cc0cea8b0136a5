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


def format_vtt(cues: list[Cue]) -> str:
    blocks = ["WEBVTT\n"]
    for cue in cues:
        if cue.end_ms <= cue.start_ms:
            raise CaptionError(f"cue at {timestamp(cue.start_ms)} ends before it starts")
        blocks.append(f"{timestamp(cue.start_ms)} --> {timestamp(cue.end_ms)}\n{escape(clean_text(cue.text))}\n")
    return "\n".join(blocks)


def parse_vtt(text: str) -> list[Cue]:
    try:
        captions = webvtt.from_buffer(io.StringIO(text), strict=True)
    except Exception as exc:  # webvtt-py raises several unrelated types for malformed files
        raise CaptionError(f"not valid WebVTT: {exc}") from exc
    return [Cue(parse_timestamp(c.start), parse_timestamp(c.end), html.unescape(c.raw_text))
            for c in captions.captions]


def write_vtt(path: Path, cues: list[Cue]) -> None:
    """Write cues to `path` atomically, after checking that the text reads back as the same cues."""
    text = format_vtt(cues)
    expected = [Cue(c.start_ms, c.end_ms, clean_text(c.text)) for c in cues]
    if parse_vtt(text) != expected:
        raise CaptionError(f"{path.name}: WebVTT did not read back as written; not saved")
    fsutil.write_text(path, text)


def read_vtt(path: Path) -> list[Cue]:
    return parse_vtt(path.read_text(encoding="utf-8"))
