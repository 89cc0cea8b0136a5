"""Throughput of the distributed mode (#8) with 1 and with 2 workers, and the embedded mode for reference.

Usage: .venv/bin/python benchmarks/cluster.py [--masters 6] [--seconds 20] [--size 1280x720]
Makes N masters (test pattern, espeak-ng speech), then for each configuration starts a fresh cluster (Redis,
PostgreSQL, SeaweedFS master, volume, filer and S3 as separate processes, tests/cluster.py), starts the workers,
and times `pipeline run --wait` from queueing the first master to the last asset awaiting review. Each worker is
`pipeline worker --queues transcode,caption` (one transcode and one caption process). All on this machine, so
"2 workers" share its cores: the ratio shows what the queue, the object store and the catalog cost and what
overlap they allow, not what a second machine would add. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.media import ffmpeg  # noqa: E402
from tests.cluster import Cluster, start_cluster  # noqa: E402
from tests.media import speech_video  # noqa: E402

TEXT = ("If something online worries you, tell an adult you trust. You can talk to a teacher, a parent or "
        "Childline at any time. Keep your passwords private and never share where you live.")


def config_file(path: Path, cluster: Cluster | None, folder: str) -> Path:
    sections: dict[str, dict[str, object]] = {
        "paths": {"masters": f"{folder}/masters", "output": f"{folder}/output", "state": f"{folder}/state"}}
    if cluster is not None:
        sections["storage"] = {"endpoint": cluster.s3_endpoint, "access_key_id": cluster.s3_access_key,
                               "secret_access_key": cluster.s3_secret_key}
        sections["cluster"] = {"mode": "distributed", "broker": cluster.redis_url, "catalog": cluster.postgres_url}
    path.write_text("".join(f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())
                            for name, values in sections.items()))
    return path


def pipeline(cfg: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(cfg), *args], cwd=cfg.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def timed_run(cfg: Path, masters: Path) -> float:
    link = cfg.parent / "coordinator" / "masters"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(masters)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipeline", "--config", str(cfg), "run", "--wait"],
                          cwd=cfg.parent, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"pipeline run failed:\n{done.stderr[-2000:]}")
    return elapsed


def distributed(masters: Path, workers: int, work: Path) -> float:
    cluster = start_cluster(work / "cluster")
    started = []
    try:
        for index in range(workers):
            name = f"w{index + 1}"
            started.append(pipeline(config_file(work / f"{name}.toml", cluster, name), "worker", "--name", name))
        time.sleep(5)  # the workers connect and load their code before the clock starts
        return timed_run(config_file(work / "config.toml", cluster, "coordinator"), masters)
    finally:
        for process in started:
            os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            process.wait(timeout=60)
        cluster.stop()


def embedded(masters: Path, work: Path) -> float:
    cfg = config_file(work / "config.toml", None, "coordinator")
    link = work / "coordinator" / "masters"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(masters)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline", "--config", str(cfg), "run"], cwd=work, check=True,
                   capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--masters", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=20, help="length of each master")
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        masters = root / "masters"
        masters.mkdir()
        words = " ".join([TEXT] * max(1, args.seconds // 10))
        for index in range(args.masters):
            speech_video(masters / f"talk{index}.mp4", f"Video {index}. {words}", size=args.size)
        figures = {}
        for label, run in (("embedded, one process", lambda w: embedded(masters, w)),
                           ("distributed, 1 worker", lambda w: distributed(masters, 1, w)),
                           ("distributed, 2 workers", lambda w: distributed(masters, 2, w))):
            work = root / label.replace(" ", "-").replace(",", "")
            work.mkdir()
            figures[label] = run(work)
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
        seconds = sum(ffmpeg.probe(m).duration_ms for m in masters.iterdir()) / 1000
        print(f"{args.masters} masters, {seconds:.0f} s of video in all, {args.size}; wall time from `pipeline run` "
              "to the last asset awaiting review")
        print(f"{'configuration':<26}{'seconds':>9}{'masters/min':>13}")
        for label, took in figures.items():
            print(f"{label:<26}{took:>9.1f}{args.masters * 60 / took:>13.2f}")
        ratio = figures["distributed, 1 worker"] / figures["distributed, 2 workers"]
        print(f"throughput ratio, 2 workers / 1 worker: {ratio:.2f}x")


if __name__ == "__main__":
    main()
