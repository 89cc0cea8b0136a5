"""Where the programme has speech (#21): the caption stage's Silero voice activity detection, kept next to the
renditions when the captions are made (`record`), because the editor asks for it on every load. For an asset
captioned before that, it is measured over the review proxy's sound (or the smallest MP4's for assets from
before proxies), streamed in chunks as the caption stage does (#20), and kept by `pipeline review`'s preparation
and the first save of descriptions; reading never writes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pipeline import fsutil
from pipeline.catalog import Catalog
from pipeline.media import ffmpeg
from pipeline.models import Asset, RenditionKind

NAME = "speech.json"
CHUNK_MS = 60_000  # the voice activity detection's window over a long programme (as [captions] chunk_seconds)
Intervals = list[tuple[int, int]]


def _source(out_dir: Path, catalog: Catalog, asset: Asset) -> Path | None:
    renditions = catalog.renditions(asset.id)
    found = ([r for r in renditions if r.kind is RenditionKind.PROXY]
             or sorted((r for r in renditions if r.kind is RenditionKind.MP4), key=lambda r: r.size_bytes))
    paths = [out_dir / r.path for r in found if (out_dir / r.path).is_file()]
    return paths[0] if paths else None


def _cached(out_dir: Path) -> Intervals | None:
    cached = out_dir / NAME
    if not cached.is_file():
        return None
    return [(int(a), int(b)) for a, b in json.loads(cached.read_text(encoding="utf-8"))]


def _measure(out_dir: Path, catalog: Catalog, asset: Asset, timeout_s: int) -> Intervals | None:
    source = _source(out_dir, catalog, asset) if asset.has_audio else None
    if source is None:
        return None
    from pipeline.captions import engines  # here: it loads the speech models' libraries

    pieces = engines.chunks(ffmpeg.audio_blocks(source, engines.SAMPLE_RATE, timeout_s=timeout_s),
                            CHUNK_MS)
    return engines.merge_intervals(interval for chunk in pieces for interval in chunk.speech)


def intervals(out_dir: Path, catalog: Catalog, asset: Asset, timeout_s: int) -> Intervals:
    """The programme's speech, [(start_ms, end_ms)] sorted; [] for a video without sound or renditions yet.
    Reads only: the kept measurement, or one made now and not kept (like review/waveform.py's)."""
    found = _cached(out_dir)
    return found if found is not None else _measure(out_dir, catalog, asset, timeout_s) or []


def record(out_dir: Path, found: Iterable[tuple[int, int]]) -> None:
    """Keep the speech the caption stage heard, so that nothing decodes the sound again for it."""
    fsutil.write_text(out_dir / NAME, json.dumps(sorted(found)))


def keep(out_dir: Path, catalog: Catalog, asset: Asset, timeout_s: int) -> None:
    """Measure the speech and keep it with the asset, once: `pipeline review`'s preparation and the first save
    of descriptions do, so that the editor's reads find it."""
    if _cached(out_dir) is None:
        found = _measure(out_dir, catalog, asset, timeout_s)
        if found is not None:
            fsutil.write_text(out_dir / NAME, json.dumps(found))


def overlaps(start_ms: int, end_ms: int, speech: Intervals) -> bool:
    """Whether [start, end) runs into any speech interval."""
    return any(start_ms < b and a < end_ms for a, b in speech)
