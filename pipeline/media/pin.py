"""A master opened once and read through that one open file by every step (#16).

Between the checks and the transcode a master could be swapped for another file under the same name; each step
opening the name again would then hash one file and transcode another, under the first one's id and duration.
So the master is opened once, without following a symbolic link (unless `[paths] allow_symlinks`), its size is
checked from that open file before a byte is hashed, and every later step (sniff, ffprobe, ffmpeg) reads the
same open file through a link named like the master in a private folder: a link to /proc/<pid>/fd/<n>, which
opens the file already open, whatever its name now points to.
"""

from __future__ import annotations

import atexit
import errno
import hashlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import MediaError
from pipeline.fsutil import display_name

MB = 1_000_000
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Pinned:
    master: Path  # as the user named it
    path: Path  # what every later step opens: the same open file
    sha256: str
    size: int
    fd: int


_pinned: dict[str, Pinned] = {}  # by SHA-256: one per master being processed by this process


def _open(master: Path, allow_symlinks: bool) -> int:
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | (0 if allow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(master, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise MediaError(f"{display_name(master)}: a symbolic link; masters must be the video files "
                             "themselves: copy the video into the masters folder, or set [paths] allow_symlinks "
                             "= true", path=str(master)) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise MediaError(f"{display_name(master)}: not a regular file; masters must be video files",
                         path=str(master))
    return fd


def _sha256(fd: int) -> str:
    digest = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, _CHUNK, offset):
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()


def pin(master: Path, max_file_mb: int, allow_symlinks: bool) -> Pinned:
    """Open `master` once: refused when it is a link (unless allowed) or too large, before it is hashed."""
    fd = _open(master, allow_symlinks)
    try:
        size = os.fstat(fd).st_size
        if size > max_file_mb * MB:
            raise MediaError(f"{display_name(master)}: {size / MB:,.1f} MB, more than [limits] max_file_mb = "
                             f"{max_file_mb}; export it again at 1080p, or raise the limit", path=str(master))
        digest = _sha256(fd)
    except BaseException:
        os.close(fd)
        raise
    release_all()  # one master at a time per process: the previous one is finished
    folder = Path(tempfile.mkdtemp(prefix="pipeline-master-"))  # mode 0700
    link = folder / master.name
    link.symlink_to(f"/proc/{os.getpid()}/fd/{fd}")
    found = Pinned(master, link, digest, size, fd)
    _pinned[digest] = found
    return found


def pinned(sha256: str) -> Pinned | None:
    return _pinned.get(sha256)


def release_all() -> None:
    for found in _pinned.values():
        os.close(found.fd)
        shutil.rmtree(found.path.parent, ignore_errors=True)
    _pinned.clear()


atexit.register(release_all)
