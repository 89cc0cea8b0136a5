"""The audio waveform the review editor draws under the video: peak levels measured with ffmpeg from the
review proxy (or, for assets from before proxies, the smallest MP4) and kept next to it by the proxy stage
(`keep`), so the browser never decodes the whole soundtrack and the waveform stays the same when the editor
moves from the proxy to the ladder (#19). Reading it (`waveform`) never writes."""

from __future__ import annotations

import array
import json
from dataclasses import dataclass
from pathlib import Path

from pipeline import fsutil
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.errors import NotFoundError
from pipeline.media import ffmpeg
from pipeline.models import Asset, RenditionKind

PEAKS_PER_SECOND = 50  # 20 ms columns: a 10-minute video is 30,000 values
SAMPLE_RATE = 8000
NAME = "waveform.json"


@dataclass(frozen=True)
class Waveform:
    peaks_per_second: int
    peaks: list[int]  # 0..100, the loudest sample of each column


def peaks(pcm: bytes, sample_rate: int = SAMPLE_RATE, per_second: int = PEAKS_PER_SECOND) -> list[int]:
    """Peak level per column of mono signed 16-bit PCM, 0..100."""
    samples = array.array("h")
    samples.frombytes(pcm[:len(pcm) - len(pcm) % 2])
    step = sample_rate // per_second
    return [min(100, max((abs(s) for s in samples[i:i + step]), default=0) * 100 // 32767)
            for i in range(0, len(samples), step)]


def _cached(out_dir: Path) -> Waveform | None:
    cached = out_dir / NAME
    if not cached.is_file():
        return None
    data = json.loads(cached.read_text(encoding="utf-8"))
    return Waveform(data["peaks_per_second"], data["peaks"])


def _measure(out_dir: Path, catalog: Catalog, asset: Asset, timeout_s: int) -> Waveform:
    if not asset.has_audio:
        return Waveform(PEAKS_PER_SECOND, [])
    renditions = catalog.renditions(asset.id)
    mp4s = ([r for r in renditions if r.kind is RenditionKind.PROXY]
            or sorted((r for r in renditions if r.kind is RenditionKind.MP4), key=lambda r: r.size_bytes))
    if not mp4s:
        raise NotFoundError(f"asset {asset.id} has no renditions yet; run `pipeline run` first")
    pcm = ffmpeg.decode_audio(out_dir / mp4s[0].path, sample_rate=SAMPLE_RATE, timeout_s=timeout_s)
    return Waveform(PEAKS_PER_SECOND, peaks(pcm))


def waveform(settings: Settings, catalog: Catalog, asset: Asset) -> Waveform:
    """The asset's waveform, read only: the one the transcode stage kept, or measured now without keeping it."""
    out_dir = settings.output_dir / asset.id
    return _cached(out_dir) or _measure(out_dir, catalog, asset, settings.transcode.timeout_seconds)


def keep(out_dir: Path, catalog: Catalog, asset: Asset, timeout_s: int) -> None:
    """Measure the waveform and keep it next to the renditions, once: the proxy stage's last step, and
    `pipeline review`'s repair for assets made before it was."""
    if _cached(out_dir) is None and catalog.renditions(asset.id):
        made = _measure(out_dir, catalog, asset, timeout_s)
        fsutil.write_text(out_dir / NAME, json.dumps({"peaks_per_second": made.peaks_per_second,
                                                      "peaks": made.peaks}))
