"""What a file is, from its first bytes, before ffprobe or ffmpeg ever opens it (#7).

Masters come from volunteers' phones and laptops: some are not videos at all, and a playlist or an ffmpeg
concat list renamed to .mp4 would make a media tool open the files it names (another child's video, a server
file). Only files that start like an MP4/MOV or a Matroska/WebM container are passed on to ffprobe, which is
itself limited to those containers and to reading plain files; everything else is named here so that the
volunteer is told what the file is and what to do. Pure functions of bytes, no I/O beyond reading the head.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

HEAD_BYTES = 4096
# ISO base media (MP4, MOV, 3GP) files start with one of these boxes; QuickTime allows a few before `moov`.
_ISO_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot", b"uuid"}
# `ftyp` brands of still images (HEIF/HEIC photos, AVIF) and audio-only MP4s, which share the MP4 container.
_IMAGE_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
MATROSKA = b"\x1a\x45\xdf\xa3"


class Kind(enum.StrEnum):
    VIDEO = "video"  # a container the pipeline reads: ffprobe decides the rest
    EMPTY = "empty"
    PLAYLIST = "playlist"  # HLS or an ffmpeg concat list: names other files
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    OTHER_VIDEO = "other_video"  # a video container the pipeline does not read (AVI, MPEG-TS, FLV, WMV)
    DOCUMENT = "document"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Sniffed:
    kind: Kind
    label: str  # what to call it in a message: "an HLS playlist", "a PNG image"


_MAGIC: tuple[tuple[int, bytes, Kind, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", Kind.IMAGE, "a PNG image"),
    (0, b"\xff\xd8\xff", Kind.IMAGE, "a JPEG image"),
    (0, b"GIF87a", Kind.IMAGE, "a GIF image"),
    (0, b"GIF89a", Kind.IMAGE, "a GIF image"),
    (0, b"II*\x00", Kind.IMAGE, "a TIFF image"),
    (0, b"MM\x00*", Kind.IMAGE, "a TIFF image"),
    (8, b"WEBP", Kind.IMAGE, "a WebP image"),
    (8, b"WAVE", Kind.AUDIO, "a WAV audio file"),
    (8, b"AVI ", Kind.OTHER_VIDEO, "an AVI video"),
    (0, b"ID3", Kind.AUDIO, "an MP3 audio file"),
    (0, b"fLaC", Kind.AUDIO, "a FLAC audio file"),
    (0, b"OggS", Kind.AUDIO, "an Ogg file"),
    (0, b"#!AMR", Kind.AUDIO, "an AMR voice recording"),
    (0, b"FLV\x01", Kind.OTHER_VIDEO, "a Flash (FLV) video"),
    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", Kind.OTHER_VIDEO, "a Windows Media (WMV/ASF) file"),
    (0, b"\x00\x00\x01\xba", Kind.OTHER_VIDEO, "an MPEG program stream (VOB/MPG)"),
    (0, b"%PDF", Kind.DOCUMENT, "a PDF document"),
    (0, b"PK\x03\x04", Kind.DOCUMENT, "a ZIP archive or office document"),
)


def _iso(head: bytes) -> Sniffed | None:
    if head[4:8] not in _ISO_BOXES:
        return None
    brand = head[8:12] if head[4:8] == b"ftyp" else b""
    if brand in _IMAGE_BRANDS:
        return Sniffed(Kind.IMAGE, "a HEIF/AVIF photo")
    if brand in _AUDIO_BRANDS:
        return Sniffed(Kind.AUDIO, "an M4A audio file")
    return Sniffed(Kind.VIDEO, "an MP4/MOV video")


def _text(head: bytes) -> Sniffed | None:
    """Text, and which: a playlist or concat list is called out, because it names other files."""
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the head
            return None
        text = head[:exc.start].decode("utf-8")
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("#EXT"):
        return Sniffed(Kind.PLAYLIST, "an HLS playlist")
    if stripped.lower().startswith(("ffconcat", "file ", "file\t", "file'")):
        return Sniffed(Kind.PLAYLIST, "an ffmpeg concat list")
    if any(ord(c) < 32 and c not in "\t\r\n\f" for c in text):
        return None
    return Sniffed(Kind.TEXT, "a text file")


def sniff_bytes(head: bytes) -> Sniffed:
    if not head:
        return Sniffed(Kind.EMPTY, "an empty file")
    if head.startswith(MATROSKA):
        return Sniffed(Kind.VIDEO, "a Matroska/WebM video")
    found = _iso(head)
    if found:
        return found
    for offset, magic, kind, label in _MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return Sniffed(kind, label)
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:
        return Sniffed(Kind.OTHER_VIDEO, "an MPEG transport stream (TS/MTS)")
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return Sniffed(Kind.AUDIO, "an MP3 or AAC audio file")
    return _text(head) or Sniffed(Kind.UNKNOWN, "content the pipeline does not recognise")


def sniff(path: Path) -> Sniffed:
    with path.open("rb") as handle:
        return sniff_bytes(handle.read(HEAD_BYTES))
