"""The audio waveform the review editor draws under the video: peak levels of the master's soundtrack, measured
by the caption stage from the same decode that Whisper hears (#20: one ffmpeg pass, streamed, so memory does not
grow with the length) and kept next to the renditions (`keep_peaks`), so the browser never decodes the whole
soundtrack and the waveform stays the same when the editor moves from the proxy to the ladder (#19). For assets
from before that, `keep` measures it from the review proxy (or the smallest MP4). Reading it (`waveform`) never
writes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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


class PeakMeter:
    """Peak level per column of mono signed 16-bit PCM, 0..100, from blocks as they arrive (any size)."""

    def __init__(self, sample_rate: int = SAMPLE_RATE, per_second: int = PEAKS_PER_SECOND) -> None:
        self.step = sample_rate // per_second
        self.found: list[int] = []
        self._rest = np.zeros(0, dtype=np.int32)
        self._odd = b""

    def add(self, pcm: bytes) -> None:
        data, self._odd = self._odd + pcm, b""
        if len(data) % 2:
            data, self._odd = data[:-1], data[-1:]
        samples = np.concatenate([self._rest, np.abs(np.frombuffer(data, dtype=np.int16).astype(np.int32))])
        whole = len(samples) - len(samples) % self.step
        self.found += self._columns(samples[:whole])
        self._rest = samples[whole:]

    def through(self, blocks: Iterable[bytes]) -> Iterator[bytes]:
        """The blocks passed on unchanged, measured on the way."""
        for block in blocks:
            self.add(block)
            yield block

    def peaks(self) -> list[int]:
        return self.found + self._columns(self._rest) if len(self._rest) else list(self.found)

    def _columns(self, samples: np.ndarray) -> list[int]:
        if not len(samples):
            return []
        width = self.step if len(samples) >= self.step else len(samples)
        loudest = samples.reshape(-1, width).max(axis=1)
        return [min(100, int(v) * 100 // 32767) for v in loudest]


def peaks(pcm: bytes, sample_rate: int = SAMPLE_RATE, per_second: int = PEAKS_PER_SECOND) -> list[int]:
    """Peak level per column of mono signed 16-bit PCM, 0..100."""
    meter = PeakMeter(sample_rate, per_second)
    meter.add(pcm)
    return meter.peaks()


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
    meter = PeakMeter()
    for block in ffmpeg.audio_blocks(out_dir / mp4s[0].path, sample_rate=SAMPLE_RATE, timeout_s=timeout_s):
        meter.add(block)
    return Waveform(PEAKS_PER_SECOND, meter.peaks())


def waveform(settings: Settings, catalog: Catalog, asset: Asset) -> Waveform:
    """The asset's waveform, read only: the one the transcode stage kept, or measured now without keeping it."""
    out_dir = settings.output_dir / asset.id
    return _cached(out_dir) or _measure(out_dir, catalog, asset, settings.transcode.timeout_seconds)


def keep(out_dir: Path, catalog: Catalog, asset: Asset, timeout_s: int) -> None:
    """Measure the waveform from the proxy and keep it next to the renditions, once: `pipeline review`'s
    repair for assets made before the caption stage kept it."""
    if _cached(out_dir) is None and catalog.renditions(asset.id):
        keep_peaks(out_dir, _measure(out_dir, catalog, asset, timeout_s).peaks)


def keep_peaks(out_dir: Path, found: list[int]) -> None:
    """Keep a waveform measured elsewhere (the caption stage's decode), PEAKS_PER_SECOND columns a second."""
    fsutil.write_text(out_dir / NAME, json.dumps({"peaks_per_second": PEAKS_PER_SECOND, "peaks": found}))
