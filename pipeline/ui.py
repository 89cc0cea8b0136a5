"""Terminal output for the CLI: progress bars while stages run, tables and next steps afterwards."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from pipeline.fsutil import display_name, printable
from pipeline.models import Asset
from pipeline.runner import Outcome

BAR_WIDTH = 28


def format_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """Cells escaped (#16): a name holding a newline or a terminal escape sequence cannot forge a row or
    drive the terminal."""
    cells = [[printable(str(cell)) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells]
    return "\n".join(lines)


def rate_and_eta(fraction: float, elapsed_s: float, media_ms: int | None) -> str:
    """ " 2.5x, 0:42 left": speed as a multiple of real time, and the time still to go."""
    if fraction <= 0.02 or elapsed_s <= 0.5:
        return ""
    left = int(elapsed_s * (1 - fraction) / fraction)
    speed = f" {fraction * media_ms / 1000 / elapsed_s:.1f}x," if media_ms else ""
    return f"{speed} {left // 60}:{left % 60:02d} left"


class TerminalReporter:
    """Draws one progress bar per stage on a terminal; prints one line per finished stage otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self._stage: str | None = None
        self._last_draw = 0.0
        self._started = 0.0

    def asset_started(self, master: Path, asset: Asset, index: int, total: int) -> None:
        self._end_stage()
        print(f"[{index}/{total}] {display_name(master)} (asset {asset.id})", file=self.stream, flush=True)

    def stage_progress(self, stage: str, fraction: float, media_ms: int | None = None) -> None:
        if stage != self._stage:
            self._end_stage()
            self._stage = stage
            self._started = time.monotonic()
        if self.live and (fraction >= 1.0 or time.monotonic() - self._last_draw > 0.2):
            filled = int(BAR_WIDTH * fraction)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            eta = rate_and_eta(fraction, time.monotonic() - self._started, media_ms)
            self.stream.write(f"\r  {stage:<10} [{bar}] {fraction:4.0%}{eta}   ")
            self.stream.flush()
            self._last_draw = time.monotonic()

    def _end_stage(self) -> None:
        if self._stage is None:
            return
        seconds = time.monotonic() - self._started
        prefix = "\r" if self.live else ""
        self.stream.write(f"{prefix}  {self._stage:<10} done in {seconds:.1f}s{' ' * BAR_WIDTH}\n")
        self.stream.flush()
        self._stage = None

    def asset_finished(self, outcome: Outcome) -> None:
        self._end_stage()
        if outcome.error:
            print(f"  failed: {printable(outcome.error or '')}", file=self.stream, flush=True)

    def summary(self, outcomes: Sequence[Outcome], out: TextIO) -> None:
        self._end_stage()
        processed = sum(1 for o in outcomes if o.processed and not o.error)
        failed = sum(1 for o in outcomes if o.error)
        known = sum(1 for o in outcomes if not o.processed)
        print(f"\n{len(outcomes)} master(s): {processed} processed, {known} already known, {failed} failed",
              file=out)
        rows = [(o.asset.id if o.asset else "-", o.asset.state.value if o.asset else "failed",
                 o.master.name, o.error or "") for o in outcomes]
        print(format_table(rows, ("ID", "STATE", "MASTER", "ERROR")), file=out)


def print_next_steps(out: TextIO, awaiting: Sequence[str]) -> None:
    if not awaiting:
        return
    example = awaiting[0]
    steps = [
        ("pipeline review", "read the captions in the browser"),
        (f'pipeline approve {example} --reviewer "Your Name"', "after checking them"),
        ("pipeline publish", "upload approved assets"),
        (f"pipeline share {example} --expires 3d", "a link that expires"),
    ]
    width = max(len(command) for command, _ in steps)
    print("\nNext steps:", file=out)
    for command, why in steps:
        print(f"  {command.ljust(width)}  # {why}", file=out)
    print("(`pipeline` is .venv/bin/pipeline; `source .venv/bin/activate` puts it on your PATH.)", file=out)
