"""Ingest: identify a master by its content and record it; check it before anything transcodes it.

Masters come from volunteers' phones and laptops, so every check below ends in one line that names the file,
says what is wrong with it and what to do (#7). A rejected master fails alone; the others go on.
The checks run cheapest first: the file's size and first bytes (media/sniff.py; a playlist or concat list
disguised as a video is never given to ffprobe), then ffprobe restricted to the accepted containers, then
the [limits], then a read of every packet, which finds a file cut off while copying.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline import fsutil
from pipeline.catalog import Catalog
from pipeline.config import LimitSettings, Settings
from pipeline.errors import MediaError
from pipeline.media import ffmpeg, packets, pin, sniff
from pipeline.models import Asset, Probe
from pipeline.stages.job import Job

MB = 1_000_000
_WHAT_TO_DO = {
    sniff.Kind.EMPTY: "copy it again from the phone or camera",
    sniff.Kind.PLAYLIST: "it was not opened, nor any file it names: put the video itself in the masters folder",
    sniff.Kind.TEXT: "remove it from the masters folder",
    sniff.Kind.DOCUMENT: "remove it from the masters folder",
    sniff.Kind.IMAGE: "remove it from the masters folder, or make a video of it in a video editor",
    sniff.Kind.AUDIO: "sound only, no picture; masters must be videos: add a still picture to it in a video "
                      "editor and export it as MP4 (see README, \"Bad input\")",
    sniff.Kind.OTHER_VIDEO: "only MP4, MOV, MKV and WebM are read: convert it to MP4 (for example with "
                            "HandBrake) and put that in the masters folder",
    sniff.Kind.UNKNOWN: "only MP4, MOV, MKV and WebM are read: export it again as MP4",
}


def source_name(master: Path, masters_dir: Path) -> str:
    """How the catalog names a master: relative to the masters folder when inside it. A name that is not
    valid UTF-8 is stored with the odd bytes escaped (the catalog holds text; the file is read by its path).
    The name as given, never a link's target (#16: an allowed link must not reveal where it points)."""
    given = Path(os.path.abspath(master))
    try:
        name = str(given.relative_to(Path(os.path.abspath(masters_dir))))
    except ValueError:
        name = str(given)
    return fsutil.printable(name)


def identify(master: Path, settings: Settings, catalog: Catalog) -> tuple[Asset, bool]:
    """The asset for this master's content, and whether it is new. A renamed or copied master is known. The
    master is opened once here (media/pin.py): a link is refused, the size checked before hashing, and the
    later steps read the bytes that were hashed."""
    found = pin.pin(master, settings.limits.max_file_mb, settings.paths.allow_symlinks)
    known = catalog.find_by_sha256(found.sha256)
    if known is not None:
        return known, False
    try:
        return catalog.add_asset(found.sha256, source_name(master, settings.masters_dir), found.size), True
    except Exception:  # another `pipeline run` recorded the same content a moment ago (#7)
        known = catalog.find_by_sha256(found.sha256)
        if known is None:
            raise
        return known, False


def _pinned_master(job: Job) -> Path:
    """The open file identify() hashed, or (a worker, a later run) the master opened and hashed now; refused when
    its bytes are no longer those of the asset (#16: a swap between the checks and the transcode)."""
    found = pin.pinned(job.asset.sha256)
    if found is None:
        found = pin.pin(job.master, job.settings.limits.max_file_mb, job.settings.paths.allow_symlinks)
    if found.sha256 != job.asset.sha256:
        raise _reject(job.master, "changed while it was being processed (its content is not what was identified "
                                  f"as asset {job.asset.id}); leave masters alone during `pipeline run`, then run "
                                  "again: the new content becomes a new asset")
    return found.path


def _reject(master: Path, message: str) -> MediaError:
    return MediaError(f"{fsutil.display_name(master)}: {message}", path=str(master))


def check_file(master: Path, limits: LimitSettings) -> None:
    """Size and content type, from the file itself: nothing has opened it as media yet."""
    size = master.stat().st_size
    if size > limits.max_file_mb * MB:
        raise _reject(master, f"{size / MB:,.1f} MB, more than [limits] max_file_mb = {limits.max_file_mb}; "
                              "export it again at 1080p, or raise the limit")
    found = sniff.sniff(master)
    if found.kind is sniff.Kind.VIDEO:
        return
    what = "an empty file (0 bytes)" if found.kind is sniff.Kind.EMPTY else found.label
    raise _reject(master, f"not a readable video: {what}; {_WHAT_TO_DO[found.kind]}")


def check_limits(master: Path, found: Probe, limits: LimitSettings) -> None:
    seconds = found.duration_ms // 1000
    if found.duration_ms > limits.max_duration_minutes * 60_000:
        raise _reject(master, f"{seconds // 60}:{seconds % 60:02d} long, more than [limits] max_duration_minutes = "
                              f"{limits.max_duration_minutes}; trim it, or raise the limit")
    if max(found.width, found.height) > limits.max_long_side:
        raise _reject(master, f"{found.width}x{found.height} pixels, larger than [limits] max_long_side = "
                              f"{limits.max_long_side}; export it again at a smaller size, or raise the limit")


def validate(master: Path, settings: Settings) -> Probe:
    """What the master holds, or MediaError naming the file, what is wrong and what to do. ffprobe runs under
    ffmpeg's memory limit, and the duration limit applies to how long the packets run, not what the header
    says (#16)."""
    limits = settings.limits
    check_file(master, limits)
    contained = ffmpeg.Limits(memory_bytes=limits.ffmpeg_memory_mb * 2**20)
    timeout, longest = settings.transcode.timeout_seconds, limits.max_duration_minutes * 60_000
    # One ffprobe reads the header and every packet (#20); the checks still run in the order above.
    seen = packets.inspect(master, timeout_s=timeout, limits=contained, max_duration_ms=longest)
    if seen.info is None:  # the read failed or was stopped: the header's own reading says why, as before
        found = ffmpeg.probe(master, max_streams=limits.max_streams, limits=contained,
                             max_long_side=limits.max_long_side)
    else:
        found = ffmpeg.describe(master, seen.info, limits.max_streams, limits.max_long_side)
    check_limits(master, found, limits)
    packets.complete(seen, timeout, longest)
    return found


def ingest(job: Job) -> None:
    """The ingest stage: the master checked and its facts (duration, size, audio) recorded, once. From here on
    every stage reads the open file that was hashed (job.master points at it)."""
    job.master = _pinned_master(job)
    if job.asset.width is not None:
        return
    found = validate(job.master, job.settings)
    job.catalog.set_probe(job.asset.id, found.duration_ms, found.width, found.height, found.has_audio)
    job.refresh()
