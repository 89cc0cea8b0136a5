"""A master's packets, read without decoding by a contained ffprobe (media/ffmpeg.py runs it): a file cut off
while copying, or damaged, makes the demuxer complain even when its header looks whole, and a header may lie
about the duration (#16). Ingest reads the header and every packet with one ffprobe (`inspect`, #20): `-of
flat` prints the packets as they are read, then the streams and format, turned back here into the structure
`-of json` gives."""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import MediaError
from pipeline.fsutil import display_name
from pipeline.media.ffmpeg import (
    NO_LIMITS,
    PROBED,
    Limits,
    _input_flags,
    _kill_group,
    _out_of_memory,
    _stderr_tail,
    contained,
    input_url,
    tools,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inspected:
    """A master read through once by one ffprobe (#20): its header, as probe() reads it, and how its packets ran,
    as check_complete() reads them. `info` is None when the packet read was stopped early (too long, or past its
    time limit): ffprobe prints the header after the packets."""

    path: Path
    info: dict[str, Any] | None
    end_ms: int
    video_packets: int
    stderr: str
    returncode: int
    too_long: bool
    timed_out: bool


def inspect(path: Path, timeout_s: int = 600, limits: Limits = NO_LIMITS,
            max_duration_ms: int | None = None) -> Inspected:
    """One ffprobe over a master: every packet read without decoding, then its streams and format."""
    lines = _read_packets(path, ["-show_format", "-show_streams", "-show_entries",
                                 "packet=codec_type,pts_time,duration_time", "-of", "flat"],
                          timeout_s, limits, max_duration_ms, _flat_packet)
    info = _unflatten(lines.rest) if lines.rest and lines.returncode == 0 and not lines.stopped else None
    if info is not None:
        PROBED.put(path, info)
    return Inspected(path, info, lines.end_ms, lines.video_packets, lines.stderr, lines.returncode,
                     lines.too_long, lines.stopped and not lines.too_long)


def check_complete(path: Path, timeout_s: int = 600, limits: Limits = NO_LIMITS,
                   max_duration_ms: int | None = None) -> int:
    """Read every packet of a master without decoding, and return how long its packets run (ms): a file cut off
    while copying, or damaged, makes the demuxer complain even when its header looks whole (a `+faststart` MP4
    or an MKV has its index first); and a header may lie about the duration (#16: one claimed 5 s while its
    packets ran for 20 hours), so the read stops as soon as the packets pass `max_duration_ms`."""
    lines = _read_packets(path, ["-show_entries", "packet=codec_type,pts_time,duration_time", "-of", "csv=p=0"],
                          timeout_s, limits, max_duration_ms, _csv_packet)
    return complete(Inspected(path, None, lines.end_ms, lines.video_packets, lines.stderr, lines.returncode,
                              lines.too_long, lines.stopped and not lines.too_long), timeout_s, max_duration_ms)


def complete(seen: Inspected, timeout_s: int, max_duration_ms: int | None) -> int:
    """How long the master's packets run (ms), or MediaError when the read found it damaged, cut off or longer
    than its header says."""
    path, stderr = seen.path, seen.stderr
    if seen.timed_out:
        raise MediaError(f"{display_name(path)}: reading its packets took over {timeout_s}s ([transcode] "
                         "timeout_seconds); the file may be damaged: export it again as MP4", path=str(path))
    if seen.too_long:
        raise MediaError(f"{display_name(path)}: its packets run past {(max_duration_ms or 0) // 60_000} minutes "
                         "although its header says less ([limits] max_duration_minutes); the file is damaged or "
                         "crafted: export it again as MP4", path=str(path))
    if seen.returncode != 0 or stderr.strip() or seen.video_packets == 0:
        raise MediaError(f"{display_name(path)}: damaged or incomplete ({_stderr_tail(stderr, 1)}); copy it "
                         "again from the phone or camera, or export it again as MP4", path=str(path))
    return seen.end_ms


@dataclass
class _Packets:
    end_ms: int = 0
    video_packets: int = 0
    stderr: str = ""
    returncode: int = 0
    too_long: bool = False
    stopped: bool = False
    rest: list[str] | None = None  # the lines after the packets


def _csv_packet(line: str, packet: dict[str, str]) -> bool:
    kind, _, rest = line.strip().partition(",")
    pts, _, duration = rest.partition(",")
    packet.update(codec_type=kind, pts_time=pts, duration_time=duration)
    return True


def _flat_packet(line: str, packet: dict[str, str]) -> bool | None:
    """A line of `-of flat` about a packet: True when it ends one, None when it is not about packets."""
    if not line.startswith("packets.packet."):
        return None
    key, _, value = line.strip().partition("=")
    packet[key.rsplit(".", 1)[-1]] = value.strip('"')
    return key.endswith(".duration_time")


def _read_packets(path: Path, entries: list[str], timeout_s: int, limits: Limits, max_duration_ms: int | None,
                  parse: Callable[[str, dict[str, str]], bool | None]) -> _Packets:
    args = [tools().ffprobe, "-hide_banner", "-v", "error", *entries, *_input_flags(), input_url(path)]
    log.debug("running %s", args)
    found, end_s, rest = _Packets(), 0.0, []
    packet: dict[str, str] = {}
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as err:
        command, preexec = contained(args, limits)
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True,
                                start_new_session=True, preexec_fn=preexec)
        assert proc.stdout is not None
        timer = threading.Timer(timeout_s, _kill_group, args=(proc,))
        timer.start()
        try:
            for line in proc.stdout:
                ended = parse(line, packet)
                if ended is None:
                    rest.append(line)
                    continue
                if not ended:
                    continue
                found.video_packets += packet.get("codec_type") == "video"
                end_s = max(end_s, _seconds(packet.get("pts_time", "")) + _seconds(packet.get("duration_time", "")))
                packet = {}
                if max_duration_ms is not None and end_s * 1000 > max_duration_ms:
                    found.too_long = True
                    break
        finally:
            timer.cancel()
            if found.too_long:
                _kill_group(proc)
            else:
                proc.wait()
        err.seek(0)
        found.stderr = err.read()
    found.returncode = proc.returncode
    found.stopped = found.too_long or proc.returncode == -signal.SIGKILL
    if _out_of_memory(proc.returncode, found.stderr, limits):
        found.stderr = "out of memory"
    found.end_ms, found.rest = int(end_s * 1000), rest
    return found


def _flat_value(text: str) -> Any:
    if text.startswith('"'):
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m[1], m[1]), text[1:-1])
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _unflatten(lines: list[str]) -> dict[str, Any]:
    """ffprobe's `-of flat` lines (streams.stream.0.side_data_list.side_data.0.rotation=-90) as the structure
    `-of json` prints (streams: [{side_data_list: [{rotation: -90}]}])."""
    root: dict[Any, Any] = {}
    for line in lines:
        key, sep, value = line.rstrip("\n").partition("=")
        if not sep:
            continue
        parts: list[Any] = key.split(".")
        path = [int(p) if p.isdigit() else p for i, p in enumerate(parts)
                if not (i + 1 < len(parts) and parts[i + 1].isdigit())]
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = _flat_value(value)

    def lists(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if node and all(isinstance(k, int) for k in node):
            return [lists(node[k]) for k in sorted(node)]
        return {k: lists(v) for k, v in node.items()}
    result: dict[str, Any] = lists(root)
    return result


def _seconds(value: str) -> float:
    try:
        found = float(value)
    except ValueError:
        return 0.0
    return found if found == found and found >= 0 else 0.0  # NaN and negatives (edit lists) count as 0
