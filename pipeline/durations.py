"""Durations written by people: "90s", "30m", "12h", "7d", or combinations such as "1d12h"."""

from __future__ import annotations

import re

from pipeline.errors import ConfigError, UsageError

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+)([smhd])")


def parse_duration(text: str, *, setting: str | None = None, option: str | None = None) -> int:
    """Seconds in `text`; a bad value raises naming the setting or option it came from."""
    cleaned = text.strip().lower()
    parts = _PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        where = setting or option or "duration"
        message = f"{where} = {text!r} is not a duration; write it like 90m, 12h or 7d"
        if setting:
            raise ConfigError(message, key=setting)
        raise UsageError(message)
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds <= 0:
        raise UsageError(f"{setting or option or 'duration'} = {text!r} must be longer than zero")
    return seconds


def format_duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
