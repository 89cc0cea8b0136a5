"""The rendition ladder: which sizes and bitrates a master gets. Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rung:
    width: int
    height: int
    maxrate_kbps: int

    @property
    def name(self) -> str:
        return f"{min(self.width, self.height)}p"

    @property
    def bufsize_kbps(self) -> int:
        # A one-second VBV buffer: over any stretch of T seconds a rung sends at most maxrate × (T + 1).
        return self.maxrate_kbps


def target_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """Display size for a rung: the short side capped (never upscaled), both sides even, aspect kept."""
    short, long = min(width, height), max(width, height)
    new_short = max(2, min(short_side, short) // 2 * 2)
    new_long = max(2, round(long * new_short / short / 2) * 2)
    return (new_long, new_short) if width >= height else (new_short, new_long)


def plan(width: int, height: int, ladder: tuple[int, ...], bitrates_kbps: tuple[int, ...]) -> list[Rung]:
    """Rungs for a master of this display size: every ladder size that needs no upscaling, largest first.

    A master smaller than the smallest rung still gets one rung, at its own size.
    """
    short = min(width, height)
    chosen = [(size, rate) for size, rate in zip(ladder, bitrates_kbps, strict=True) if size <= short]
    if not chosen:
        chosen = [(short, bitrates_kbps[-1])]
    return [Rung(*target_size(width, height, size), rate) for size, rate in chosen]
