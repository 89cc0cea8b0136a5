"""Where the programme has speech (#21): Silero voice activity detection (the caption stage's,
captions/engines.speech_intervals) over the review proxy's sound, or the smallest MP4's for assets from before
proxies. Kept next to the renditions (by `pipeline review`'s preparation and the first save of descriptions),
because the editor asks for it on every load; reading never writes."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline import fsutil
from pipeline.catalog import Catalog
from pipeline.media import ffmpeg
from pipeline.models import Asset, RenditionKind

NAME = "speech.json"
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

    return sorted(engines.speech_intervals(ffmpeg.decode_audio(source, timeout_s=timeout_s)))


def intervals(out_dir: Path, catalog: Catalog, asset: Asset, timeout_s: int) -> Intervals:
    """The programme's speech, [(start_ms, end_ms)] sorted; [] for a video without sound or renditions yet.
    Reads only: the kept measurement, or one made now and not kept (like review/waveform.py's)."""
    found = _cached(out_dir)
    return found if found is not None else _measure(out_dir, catalog, asset, timeout_s) or []


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
