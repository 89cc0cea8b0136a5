"""Full-ladder encode, three ways, on a generated 1080p30 master (about 60 s):

  (a) the project's graph: one ffmpeg process decodes once and encodes every rung;
  (b) one ffmpeg process per rung, each decoding the master again (what many platforms do);
  (c) decode only: the floor.

Prints speed as a multiple of real time and the ratios a/b and a/c. Usage:
  .venv/bin/python benchmarks/transcode.py [--seconds 60] [--preset veryfast] [--master phone|simple]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

from pipeline import config
from pipeline.media import encode, ffmpeg, ladder

# "phone": HEVC at about 16 Mbit/s with sensor-like noise, as recent phones record 1080p30; "simple": an H.264
# test pattern that costs almost nothing to decode.
MASTERS = {
    "phone": ["-vf", "noise=alls=12:allf=t", "-c:v", "libx265", "-preset", "ultrafast", "-b:v", "16M",
              "-x265-params", "log-level=error", "-tag:v", "hvc1"],
    "simple": ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18"],
}


def make_master(path: Path, seconds: int, kind: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
                    *MASTERS[kind], "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)], check=True)


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    ffmpeg.run(args, what="benchmark", timeout_s=7200)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--master", choices=tuple(MASTERS), default="phone")
    args = parser.parse_args()
    settings = config.parse({"transcode": {"preset": args.preset, "encoder": "libx264"}}, Path.cwd()).transcode
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
        folder = Path(tmp)
        master = folder / "master.mp4"
        make_master(master, args.seconds, args.master)
        found = ffmpeg.probe(master)
        rungs = ladder.plan(found.width, found.height, settings.ladder, settings.bitrates_kbps)
        outputs = [(rung, folder / f"a_{rung.name}.mp4") for rung in rungs]
        single = timed(encode.ladder_args(master, found, outputs, settings, None, nvenc=False))
        separate = sum(timed(encode.ladder_args(master, found, [(rung, folder / f"b_{rung.name}.mp4")], settings,
                                                None, nvenc=False)) for rung in rungs)
        decode = timed(["-i", ffmpeg.input_url(master), "-f", "null", "-"])
    duration = found.duration_ms / 1000
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"ffmpeg {ffmpeg.tools().version}, libx264 preset {args.preset}")
    print(f"master: {args.master}, 1920x1080 30 fps, {duration:.0f} s; ladder {', '.join(r.name for r in rungs)}")
    print(f"{'method':<40}{'seconds':>9}{'x real time':>13}")
    for name, seconds in (("(a) one process, one decode", single), ("(b) one process per rung", separate),
                          ("(c) decode only", decode)):
        print(f"{name:<40}{seconds:>9.1f}{duration / seconds:>13.2f}")
    print(f"a/b speed-up: {separate / single:.2f}x   a/c (share of the floor): {decode / single:.2f}")


if __name__ == "__main__":
    main()
