"""Time to reviewable and time to everything, today's order against review-first (#19), on the same masters.

Usage: .venv/bin/python benchmarks/review_first.py [--seconds 60] [--only hevc|h264]
Makes two 1080p30 phone-like masters with ffmpeg (lavfi test pattern with noise, espeak-ng speech): HEVC
(libx265, as iPhones record) and H.264 (as most Android phones and cameras record, which browsers play). Each
order runs in a fresh temporary folder with the Whisper model already loaded; nothing in the project changes.

  before: ingest -> transcode (ladder) -> caption; reviewable when all is done
  after:  ingest -> proxy -> caption (reviewable) -> transcode (ladder)
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipeline import config
from pipeline.captions.engines import FasterWhisper
from pipeline.catalog import Catalog
from pipeline.media import ffmpeg
from pipeline.stages import caption, ingest, proxy, transcode
from pipeline.stages.job import Job

TEXT = ("Welcome to the community centre. Today we talk about staying safe online, about passwords, about "
        "what to do when a message worries you, and about who you can call for help at any time of day. ")
BEFORE = (("transcode", transcode.transcode), ("caption", caption.caption))
AFTER = (("proxy", proxy.proxy), ("caption", caption.caption), ("transcode", transcode.transcode))


def make_master(folder: Path, codec: str, seconds: int) -> Path:
    wav = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-s", "150", "-w", str(wav), TEXT * 4], check=True)
    target = folder / f"phone-{codec}.mp4"
    hevc = ["-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1", "-b:v", "8M",
            "-x265-params", "log-level=error"]
    video = hevc if codec == "hevc" else ["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "10M"]
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds},noise=alls=8:allf=t",
                    "-i", str(wav), "-filter_complex", f"[1:a]apad,atrim=0:{seconds}[a]", "-map", "0:v",
                    "-map", "[a]", *video, "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
                    str(target)], check=True)
    return target


def _cpu_seconds() -> float:
    """CPU time of this process (Whisper) and its finished children (ffmpeg): on a shared machine wall-clock
    time follows the other users' load, CPU time much less."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def one_order(master: Path, engine: FasterWhisper, order: tuple[tuple[str, Callable[[Job], None]], ...],
              reviewable_after: str) -> tuple[float, float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = config.parse({}, Path(tmp))
        catalog = Catalog.open(settings.state_dir)
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        asset, _ = ingest.identify(master, settings.masters_dir, catalog)
        job = Job(asset, master, settings, catalog, lambda: engine, lambda _f: None)
        ingest.ingest(job)
        job.refresh()
        reviewable = reviewable_cpu = 0.0
        for name, stage in order:
            stage(job)
            job.refresh()
            if name == reviewable_after:
                reviewable, reviewable_cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
        everything, everything_cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
        catalog.close()
        return reviewable, everything, reviewable_cpu, everything_cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--only", choices=("hevc", "h264"))
    args = parser.parse_args()
    engine = FasterWhisper(config.parse({}, Path.cwd()).captions)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"ffmpeg {ffmpeg.tools().version}; whisper on {engine.device} ({engine.compute_type}); "
          f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"{'master':<16}{'order':<8}{'reviewable s':>14}{'x length':>10}{'everything s':>14}{'x length':>10}"
          f"{'CPU s to reviewable':>21}{'CPU s to everything':>21}{'load':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for codec in (args.only,) if args.only else ("hevc", "h264"):
            master = make_master(Path(tmp), codec, args.seconds)
            # The model loads on first use: warm it outside the timings.
            engine.transcribe(ffmpeg.decode_audio(master)[:16000 * 2 * 5], on_progress=lambda _f: None,
                              language="en")
            for label, order, after in (("before", BEFORE, "caption"), ("after", AFTER, "caption")):
                reviewable, everything, reviewable_cpu, everything_cpu = one_order(master, engine, order, after)
                print(f"{codec + f' {args.seconds}s 1080p':<16}{label:<8}{reviewable:>14.1f}"
                      f"{reviewable / args.seconds:>10.2f}{everything:>14.1f}{everything / args.seconds:>10.2f}"
                      f"{reviewable_cpu:>21.1f}{everything_cpu:>21.1f}{os.getloadavg()[0]:>6.1f}", flush=True)


if __name__ == "__main__":
    main()
