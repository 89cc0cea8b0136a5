"""Time each processing stage on one master and print the figures (no assertions: tests never time).

Usage: .venv/bin/python benchmarks/stages.py [MASTER] [--repeat N]
Default master: masters/sample.mp4. Work happens in a temporary folder; nothing in the project changes.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from pipeline import config
from pipeline.captions.engines import FasterWhisper
from pipeline.catalog import Catalog
from pipeline.media import ffmpeg
from pipeline.stages import caption, ingest, transcode
from pipeline.stages.job import Job

ROOT = Path(__file__).resolve().parent.parent


def _once(master: Path, engine: FasterWhisper) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = config.parse({}, Path(tmp))
        catalog = Catalog.open(settings.state_dir)
        times: dict[str, float] = {}
        start = time.perf_counter()
        asset, _ = ingest.identify(master, settings.masters_dir, catalog)
        job = Job(asset, master, settings, catalog, lambda: engine, lambda _f: None)
        ingest.ingest(job)
        times["ingest (hash + probe)"] = time.perf_counter() - start
        stages = (("transcode (ladder, HLS, poster)", transcode.transcode), ("caption (Whisper)", caption.caption))
        for name, stage in stages:
            start = time.perf_counter()
            stage(job)
            job.refresh()
            times[name] = time.perf_counter() - start
        catalog.close()
        return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("master", nargs="?", default=str(ROOT / "masters" / "sample.mp4"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    master = Path(args.master)
    duration_s = ffmpeg.probe(master).duration_ms / 1000
    engine = FasterWhisper(config.parse({}, ROOT).captions)
    _once(master, engine)  # warm-up: model load, page cache
    runs = [_once(master, engine) for _ in range(args.repeat)]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"ffmpeg {ffmpeg.tools().version}; whisper on {engine.device} ({engine.compute_type})")
    print(f"master: {master.name}, {duration_s:.1f} s; median of {args.repeat} runs after one warm-up")
    print(f"{'stage':<32}{'seconds':>9}{'x real time':>13}")
    for stage in runs[0]:
        median = statistics.median(r[stage] for r in runs)
        print(f"{stage:<32}{median:>9.2f}{duration_s / median:>13.1f}")


if __name__ == "__main__":
    main()
