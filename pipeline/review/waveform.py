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
from pipeline.models import RenditionKind

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


def waveform(settings: Settings, catalog: Catalog, asset_id: str) -> Waveform:
    asset = catalog.get(asset_id)
    cached = settings.output_dir / asset.id / NAME
    if cached.is_file():
        data = json.loads(cached.read_text(encoding="utf-8"))
        return Waveform(data["peaks_per_second"], data["peaks"])
    if not asset.has_audio:
        return Waveform(PEAKS_PER_SECOND, [])
    mp4s = sorted((r for r in catalog.renditions(asset.id) if r.kind is RenditionKind.MP4), key=lambda r: r.size_bytes)
    if not mp4s:
        raise NotFoundError(f"asset {asset.id} has no renditions yet; run `pipeline run` first")
    pcm = ffmpeg.decode_audio(Path(settings.output_dir / asset.id / mp4s[0].path), sample_rate=SAMPLE_RATE,
                              timeout_s=settings.transcode.timeout_seconds)
    made = Waveform(PEAKS_PER_SECOND, peaks(pcm))
    fsutil.write_text(cached, json.dumps({"peaks_per_second": made.peaks_per_second, "peaks": made.peaks}))
    return made
