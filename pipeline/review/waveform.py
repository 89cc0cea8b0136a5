"""The audio waveform the review editor draws under the video: peak levels computed once with ffmpeg and kept
next to the renditions, so the browser never decodes the whole soundtrack."""

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


def _cached(settings: Settings, asset: Asset) -> Waveform | None:
    cached = settings.output_dir / asset.id / NAME
    if not cached.is_file():
        return None
    data = json.loads(cached.read_text(encoding="utf-8"))
    return Waveform(data["peaks_per_second"], data["peaks"])


def _measure(settings: Settings, catalog: Catalog, asset: Asset) -> Waveform:
    if not asset.has_audio:
        return Waveform(PEAKS_PER_SECOND, [])
    mp4s = sorted((r for r in catalog.renditions(asset.id) if r.kind is RenditionKind.MP4), key=lambda r: r.size_bytes)
    if not mp4s:
        raise NotFoundError(f"asset {asset.id} has no renditions yet; run `pipeline run` first")
    pcm = ffmpeg.decode_audio(Path(settings.output_dir / asset.id / mp4s[0].path), sample_rate=SAMPLE_RATE,
                              timeout_s=settings.transcode.timeout_seconds)
    return Waveform(PEAKS_PER_SECOND, peaks(pcm))


def waveform(settings: Settings, catalog: Catalog, asset: Asset) -> Waveform:
    """The asset's waveform, read only: the one `prepare` kept, or measured now without keeping it."""
    return _cached(settings, asset) or _measure(settings, catalog, asset)


def prepare(settings: Settings, catalog: Catalog, asset: Asset) -> None:
    """Measure and keep the waveform next to the renditions, once (`pipeline review` does it on start)."""
    if _cached(settings, asset) is None and catalog.renditions(asset.id):
        made = _measure(settings, catalog, asset)
        fsutil.write_text(settings.output_dir / asset.id / NAME,
                          json.dumps({"peaks_per_second": made.peaks_per_second, "peaks": made.peaks}))
