"""Scale (#20): a two-hour film, 1,500 cues and 5,000 assets, against the issue's targets.

Usage: .venv/bin/python benchmarks/scale.py [--only editor|queue|run]

Each part is its own script, which can also run alone and says in its docstring what it measures:
  editor  benchmarks/scale_editor.py  1,500 cues in Chromium: keystroke to updated badge, split, merge, undo,
                                      the autosave request and reply for a one-cue change
  queue   benchmarks/scale_queue.py   5,000 assets: server time and size of the first queue page and API page
  run     benchmarks/scale_run.py     `pipeline run`: peak memory on a two-hour master, fixed cost of a 1 s master

To compare with an older checkout, run this file with PYTHONPATH pointing at that checkout: every part imports
the project as `pipeline`, so the same script measures the code before and after a change.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
from datetime import date
from pathlib import Path

PARTS = {"editor": "scale_editor", "queue": "scale_queue", "run": "scale_run"}


def machine() -> str:
    cpus = os.cpu_count()
    with open("/proc/meminfo") as meminfo:
        kib = int(meminfo.readline().split()[1])
    return f"{platform.machine()}, {cpus} CPUs, {round(kib / 2**20)} GiB, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(PARTS), action="append", help="run only these parts")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import pipeline

    print(f"{date.today()} · {machine()} · code from {Path(pipeline.__file__).resolve().parent.parent}")
    print("| part | figure | value | target |")
    print("|---|---|---|---|")
    for name in args.only or list(PARTS):
        part = importlib.import_module(PARTS[name])
        for figure, value, target in part.measure():
            print(f"| {name} | {figure} | {value} | {target} |", flush=True)


if __name__ == "__main__":
    main()
