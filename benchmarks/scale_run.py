"""`pipeline run` at scale (#20): peak memory on a two-hour master, and the fixed cost of a one-second master.

Runs the real CLI (`python -m pipeline run`) of whatever checkout PYTHONPATH names (so the same script measures
before and after a change) in a temporary project with its own config.toml; nothing in the repository changes.

(a) Peak memory: a generated two-hour master (160x90 grey picture at 1 fps, AAC mono 16 kHz: a quiet tone with a
    few espeak-ng phrases 20 minutes apart) through ingest, proxy and caption, the stages that held the whole
    soundtrack in memory before #20 (the run is stopped once the draft captions exist; `--ladder` runs the ladder
    too, which takes most of an hour on a two-hour master here: loudnorm's passes, ffmpeg streaming in bounded
    memory). The figure is the largest sum of the resident set sizes of `pipeline run` and all its children
    (ffmpeg, ffprobe), sampled every 0.2 s over /proc: ru_maxrss of children is only the largest single child.
    The picture is tiny, so the figure is the pipeline's own memory (audio, Whisper, waveform), not x264's.
    `--minutes 20` for a shorter master.
(b) Fixed cost: N one-second masters (160x90, a tone) in one run, against one master in another run: the seconds
    and the program launches (every subprocess the pipeline starts, counted by a sitecustomize hook that wraps
    subprocess.Popen without changing what runs; the program behind the setpriv and prlimit that contain it)
    that each extra master adds. The default config otherwise.

Usage: PYTHONPATH=CHECKOUT .venv/bin/python benchmarks/scale_run.py [--minutes 120] [--masters 12] [--skip-long]
       [--ladder]
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
PHRASES = ["Welcome to our short film about staying safe online.",
           "If something online worries you, talk to an adult you trust.",
           "You are not alone, and it is never your fault.",
           "Ask permission before posting pictures of your friends.",
           "Check your privacy settings every few months.",
           "Thank you for watching, and stay safe."]
HOOK = '''
import os, subprocess
_LOG = os.environ.get("SCALE_RUN_LAUNCHES")
if _LOG:
    _init = subprocess.Popen.__init__
    def _counted(self, args, *rest, **options):
        _init(self, args, *rest, **options)
        words = [str(a) for a in args] if isinstance(args, (list, tuple)) else str(args).split()
        while words and os.path.basename(words[0]) in ("setpriv", "prlimit"):  # the wrappers that contain it
            words = words[words.index("--") + 1:] if "--" in words else words[1:]
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(os.path.basename(words[0] if words else "?") + "\\n")
    subprocess.Popen.__init__ = _counted
'''


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def long_master(path: Path, minutes: int) -> Path:
    """A long, tiny master: PHRASES spread evenly over a quiet tone, made in one ffmpeg pass."""
    seconds = minutes * 60
    inputs: list[str] = ["-f", "lavfi", "-i", f"color=c=gray:s=160x90:r=1:d={seconds}",
                         "-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=16000:d={seconds},volume=0.01"]
    mixes = []
    for index, text in enumerate(PHRASES):
        wav = path.parent.parent / f"phrase{index}.wav"  # outside the masters folder
        subprocess.run(["espeak-ng", "-v", "en-gb", "-s", "140", "-w", str(wav), text], check=True)
        inputs += ["-i", str(wav)]
        at_ms = int((index + 0.5) * seconds / len(PHRASES) * 1000)
        mixes.append(f"[{index + 2}:a]aresample=16000,adelay=delays={at_ms}:all=1[p{index}]")
    labels = "".join(f"[p{i}]" for i in range(len(PHRASES)))
    graph = ";".join(mixes) + f";[1:a]{labels}amix=inputs={len(PHRASES) + 1}:duration=first:normalize=0[a]"
    _ffmpeg(*inputs, "-filter_complex", graph, "-map", "0:v", "-map", "[a]", "-c:v", "libx264", "-preset",
            "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "32k", "-ac", "1", str(path))
    return path


def short_master(path: Path, index: int) -> Path:
    """One second of test pattern and tone; `index` varies the tone so each master is new content."""
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1", "-f", "lavfi", "-i",
            f"sine=frequency={300 + 10 * index}:sample_rate=48000:duration=1,volume=0.1", "-c:v", "libx264",
            "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path))
    return path


def project(root: Path, extra: str = "") -> Path:
    (root / "masters").mkdir(parents=True)
    config = root / "config.toml"
    config.write_text(f'[paths]\nmasters = "masters"\noutput = "output"\nstate = "state"\n{extra}',
                      encoding="utf-8")
    return config


def _tree_rss(root_pid: int) -> int:
    """Resident bytes of root_pid and every descendant, from /proc."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children[int(fields[1])].append(int(entry))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
                total += int(handle.read().split()[1]) * PAGE
        except OSError:
            continue
    return total


def run_pipeline(config: Path, hook_dir: Path, launches: Path,
                 until: str | None = None) -> tuple[float, int, int, float]:
    """`pipeline run` in the project of `config`: seconds, peak tree RSS (bytes), launches, CPU seconds (user and
    system, of the run and every process it waited for). With `until` (a file name), the run is stopped once an
    output folder holds that file and a second has passed."""
    env = {**os.environ, "PIPELINE_CONFIG": str(config), "SCALE_RUN_LAUNCHES": str(launches),
           "PYTHONPATH": os.pathsep.join(p for p in (str(hook_dir), os.environ.get("PYTHONPATH", "")) if p)}
    start, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run"], cwd=config.parent, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    peak, stopped = [0], [False]

    def sample() -> None:
        seen_at = None
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            if until and seen_at is None and any((config.parent / "output").glob(f"*/{until}")):
                seen_at = time.perf_counter()
            if seen_at is not None and time.perf_counter() - seen_at > 1:
                stopped[0] = True
                os.killpg(proc.pid, signal.SIGKILL)
                return
            time.sleep(0.2)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _out, err = proc.communicate()
    seconds = time.perf_counter() - start
    sampler.join()
    if proc.returncode != 0 and not stopped[0]:
        raise SystemExit(f"pipeline run failed ({proc.returncode}): {err[-2000:]}")
    count = len(launches.read_text(encoding="utf-8").splitlines()) if launches.exists() else 0
    return seconds, peak[0], count, _children_cpu() - cpu


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _hook(folder: Path) -> Path:
    (folder / "hook").mkdir()
    (folder / "hook" / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    return folder / "hook"


def measure_memory(minutes: int = 120, ladder: bool = False) -> tuple[float, float]:
    """Peak tree RSS (MB) and wall seconds of `pipeline run` on a `minutes`-long master: until the captions are
    drafted (ingest, proxy, caption: every stage that held the whole soundtrack before #20), or with `ladder`
    the whole run (loudnorm's two passes make the ladder of a two-hour master take most of an hour here)."""
    with tempfile.TemporaryDirectory(prefix="scale-run-") as tmp:
        root = Path(tmp)
        config = project(root / "long", '[transcode]\npreset = "ultrafast"\n')
        long_master(root / "long" / "masters" / f"film-{minutes}min.mp4", minutes)
        seconds, peak, _count, _cpu = run_pipeline(config, _hook(root), root / "launches.txt",
                                             until=None if ladder else "captions.en.vtt")
        return peak / 2**20, seconds


def measure_fixed(masters: int = 12) -> tuple[float, float, float, collections.Counter[str]]:
    """Seconds, CPU seconds and launches each one-second master adds to a run, and the launches of one master by
    program. Wall seconds depend on what else the machine runs; CPU seconds much less."""
    with tempfile.TemporaryDirectory(prefix="scale-run-") as tmp:
        root = Path(tmp)
        hook = _hook(root)
        figures = []
        for name, count in (("one", 1), ("many", masters)):
            config = project(root / name)
            for index in range(count):
                short_master(config.parent / "masters" / f"clip{index:03d}.mp4", index)
            figures.append(run_pipeline(config, hook, root / f"launches-{name}.txt"))
        (one_s, _p1, one_n, one_cpu), (many_s, _p2, many_n, many_cpu) = figures
        programs = collections.Counter((root / "launches-one.txt").read_text(encoding="utf-8").splitlines())
        extra = masters - 1
        return (many_s - one_s) / extra, (many_cpu - one_cpu) / extra, (many_n - one_n) / extra, programs


def measure(minutes: int = 120, masters: int = 12, long_run: bool = True,
            ladder: bool = False) -> list[tuple[str, str, str]]:
    """The figures as (figure, value, target) rows, for benchmarks/scale.py."""
    rows = []
    per_master, cpu, launches, programs = measure_fixed(masters)
    by_program = ", ".join(f"{name} {n}" for name, n in programs.most_common())
    load = os.getloadavg()[0]
    rows.append(("fixed cost of a 1 s master (pipeline run, per extra master)",
                 f"{per_master:.2f} s wall ({cpu:.2f} s CPU; load average {load:.1f})", "<= 0.8 s"))
    rows.append(("program launches per 1 s master", f"{launches:.1f} (one-master run: {by_program})", "fewer"))
    if long_run:
        peak_mb, seconds = measure_memory(minutes, ladder)
        stages = "all stages" if ladder else "ingest, proxy, caption"
        rows.append((f"peak RSS of pipeline run incl. children, {minutes}-minute master ({stages})",
                     f"{peak_mb:,.0f} MB (run took {seconds:,.0f} s)", "<= 800 MB at 120 minutes"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=120)
    parser.add_argument("--masters", type=int, default=12)
    parser.add_argument("--skip-long", action="store_true", help="only the fixed cost")
    parser.add_argument("--ladder", action="store_true", help="the long master's ladder too (slow)")
    args = parser.parse_args()
    print(f"checkout: {os.environ.get('PYTHONPATH') or 'the installed pipeline'}")
    for figure, value, target in measure(args.minutes, args.masters, not args.skip_long, args.ladder):
        print(f"{figure:<62} {value:<50} target {target}")


if __name__ == "__main__":
    main()
