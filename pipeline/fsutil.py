"""Files the pipeline produces appear complete or not at all: written under a temporary name, flushed to
disk, then renamed into place. A crash leaves only a `.partial` name, which nothing ever reads.

Each writer's temporary name is its own (`video_720p.partial-1a2b3c4d.mp4`): two processes that both write
the same output, such as a run that slept through its lease and the run that took the asset over (#7), never
write into one file, and the last complete one to be renamed wins."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

PARTIAL = ".partial"


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _token() -> str:
    return f"{PARTIAL}-{secrets.token_hex(4)}"


def is_partial(path: Path) -> bool:
    return PARTIAL in path.name


def remove_partials(folder: Path, *stems: str) -> None:
    """Delete what killed writers left of these outputs (`poster` for poster.partial-*.jpg); never a
    complete file, and only the named outputs, which the caller alone writes."""
    if not folder.is_dir():
        return
    for stem in stems:
        for leftover in folder.glob(f"{stem}{PARTIAL}*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_file(target: Path, missing_ok: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to `target` that keeps its suffix (ffmpeg picks formats by it). With
    `missing_ok`, a block that wrote nothing there leaves `target` as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.stem}{_token()}{target.suffix}")
    try:
        yield tmp
        if missing_ok and not tmp.exists():
            return
        _fsync_path(tmp)
        os.replace(tmp, target)
        _fsync_path(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces `target` as a whole once the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    token = _token()
    tmp = target.with_name(target.name + token)
    tmp.mkdir()
    try:
        yield tmp
        for child in tmp.rglob("*"):
            if child.is_file():
                _fsync_path(child)
        old = target.with_name(target.name + token + ".old")
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
        _fsync_path(target.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text(target: Path, text: str) -> None:
    with atomic_file(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_private(target: Path, text: str) -> None:
    """Write a secret readable by its owner only (mode 0600) from the first byte."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + _token())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def printable(text: str) -> str:
    """`text` (a file name or path) fit for a one-line message, a log or the catalog: control characters and
    bytes that are not UTF-8 (kept by Python as surrogates) escaped."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def display_name(path: Path) -> str:
    return printable(path.name)
