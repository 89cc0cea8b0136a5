"""The distributed mode (#8) end to end: real Redis, real PostgreSQL, SeaweedFS as separate master, volume and
filer/S3 processes, and `pipeline worker` processes, all on 127.0.0.1 (tests/cluster.py starts them).

Each worker has its own config file and its own folders, as on another machine: nothing but the object store,
the catalog and the queue is shared. One worker is killed with SIGKILL in the middle of a task; every asset
still ends correct, and the results equal those of the embedded mode on the same masters.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline import config
from pipeline.catalog import Catalog
from pipeline.catalog.jobs import JobBook
from pipeline.cluster.app import make_app
from pipeline.models import AssetState, JobState
from tests.cluster import Cluster
from tests.conftest import empty_database, make_project
from tests.media import speech_video

LINES = (
    "If something online worries you, tell an adult you trust.",
    "You can always talk to your teacher about what happened.",
    "Keep your passwords private and never share your location.",
    "Childline is free and you can call them at any time.",
)
VISIBILITY_SECONDS = 12  # short, so that the killed worker's task comes back within the test


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def write_config(path: Path, cluster: Cluster, folder: str, **cluster_extra: object) -> Path:
    """A machine's config.toml: its own folders, the shared services."""
    sections = {
        "paths": {"masters": f"{folder}/masters", "output": f"{folder}/output", "state": f"{folder}/state"},
        "storage": {"endpoint": cluster.s3_endpoint, "access_key_id": cluster.s3_access_key,
                    "secret_access_key": cluster.s3_secret_key},
        "cluster": {"mode": "distributed", "broker": cluster.redis_url, "catalog": cluster.postgres_url,
                    "visibility_timeout_seconds": VISIBILITY_SECONDS, **cluster_extra},
    }
    path.write_text("".join(f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())
                            for name, values in sections.items()))
    return path


def pipeline(cfg: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", "--config", str(cfg), *args], cwd=cfg.parent,
                          capture_output=True, text=True, timeout=900, env={**os.environ, **(env or {})})


def start_worker(root: Path, cluster: Cluster, name: str, env: dict[str, str] | None = None,
                 **cluster_extra: object) -> Worker:
    cfg = write_config(root / f"{name}.toml", cluster, name, **cluster_extra)
    log = root / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(cfg), "worker", "--name", name],
                                   cwd=root, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                   start_new_session=True)
    return Worker(name, process, log)


def wait_for(what: str, check: object, timeout: float, workers: list[Worker]) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {w.name}\n{w.log.read_text(errors='replace')[-3000:]}" for w in workers)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.2)


def file_digests(folder: Path) -> dict[str, str]:
    """Every output file's SHA-256; caption files without their NOTE block's time of writing."""
    found = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".vtt":
            data = b"\n".join(line for line in data.split(b"\n") if not line.startswith(b"written:"))
        found[path.relative_to(folder).as_posix()] = hashlib.sha256(data).hexdigest()
    return found


def test_workers_share_the_work_survive_a_kill_and_match_the_embedded_mode(cluster: Cluster, tmp_path: Path) -> None:
    empty_database(cluster.postgres_url)
    coordinator = write_config(tmp_path / "config.toml", cluster, "coordinator")
    masters = tmp_path / "coordinator" / "masters"
    masters.mkdir(parents=True)
    for index, line in enumerate(LINES):
        speech_video(masters / f"talk{index}.mp4", line, size="640x360")
    catalog = Catalog.connect(cluster.postgres_url)
    book = JobBook(catalog)
    workers = [start_worker(tmp_path, cluster, name) for name in ("w1", "w2")]
    try:
        queued = pipeline(coordinator, "run")
        assert queued.returncode == 0, queued.stderr
        assert "4 queued for the workers" in queued.stdout
        again = pipeline(coordinator, "run")  # nothing is queued twice
        assert "0 queued" in again.stdout and again.stderr.count("already queued or running") == 4

        def w1_busy_after_a_finished_job() -> bool:
            records = book.all()
            finished = any(r.state is JobState.DONE and r.worker and r.worker.endswith("@w1") for r in records)
            running = [r for r in records if r.state is JobState.RUNNING and r.worker and r.worker.endswith("@w1")]
            return finished and any(0.05 < (catalog.get(r.asset_id).progress or 0) < 0.9 for r in running)

        wait_for("w1 to be mid-task after finishing one", w1_busy_after_a_finished_job, 300, workers)
        victim = next(r for r in book.all() if r.state is JobState.RUNNING and r.worker and r.worker.endswith("@w1"))
        workers[0].kill()

        def all_finished() -> bool:  # the captions reviewable and the ladders done (#19)
            return all(a.state in (AssetState.AWAITING_REVIEW, AssetState.FAILED) for a in catalog.list_assets()) \
                and all(r.state in (JobState.DONE, JobState.FAILED) for r in book.all())

        wait_for("every asset to be processed", all_finished, 600, workers)
        assets = catalog.list_assets()
        assert [a.state for a in assets] == [AssetState.AWAITING_REVIEW] * 4, [a.error for a in assets]
        retried = book.get(victim.asset_id, victim.stage)
        assert retried is not None and retried.state is JobState.DONE and retried.attempts == 2
        assert retried.worker is not None and retried.worker.endswith("@w2")
        done_by = {r.worker.rpartition("@")[2] for r in book.all() if r.worker and r.state is JobState.DONE}
        assert done_by == {"w1", "w2"}

        status = pipeline(coordinator, "status")
        assert "Jobs: 0 queued, 0 running, 0 retrying, 12 done, 0 failed" in status.stdout
        assert "transcode@w2" in status.stdout or "caption@w2" in status.stdout
        listed = json.loads(pipeline(coordinator, "status", "--json").stdout)
        assert [sorted((j["stage"], j["state"]) for j in row["jobs"]) for row in listed] == \
            [[("caption", "done"), ("ingest", "done"), ("ladder", "done")]] * 4

        # One asset's caption and ladder tasks ran at once, on the caption and transcode queues (#19): each
        # job's last attempt ran from started_at to updated_at.
        def overlapped(asset_id: str) -> bool:
            jobs = {r.stage: r for r in book.for_asset(asset_id)}
            caption, ladder = jobs["caption"], jobs["ladder"]
            assert caption.started_at is not None and ladder.started_at is not None
            return caption.started_at < ladder.updated_at and ladder.started_at < caption.updated_at
        assert any(overlapped(a.id) for a in assets), [(r.asset_id, r.stage, r.started_at, r.updated_at)
                                                       for r in book.all()]

        # A duplicate delivery of a finished task does nothing.
        events_before = {a.id: len(catalog.events(a.id)) for a in assets}
        app = make_app(config.load(str(coordinator)))
        result = app.send_task("pipeline.ladder", args=[assets[0].id], queue="transcode")
        assert "nothing to do, the job is done" in result.get(timeout=120)
        assert {a.id: len(catalog.events(a.id)) for a in catalog.list_assets()} == events_before
    finally:
        for worker in workers:
            worker.stop()

    # No worker wrote to another machine's folders: each kept only its own state.
    assert not (tmp_path / "coordinator" / "output").exists()
    assert not (tmp_path / "w2" / "output").exists() and not (tmp_path / "w2" / "masters").exists()
    assert not any((tmp_path / "w2" / "state" / "work").iterdir())  # each task's workspace is removed
    pulled = pipeline(coordinator, "pull")
    assert pulled.returncode == 0, pulled.stderr

    embedded = make_project(tmp_path / "embedded")
    for master in sorted(masters.iterdir()):
        shutil.copy(master, embedded.masters / master.name)
    embedded.cli("run", check=True)
    local = Catalog.open(embedded.settings().state_dir)
    for asset in local.list_assets():
        remote = catalog.find_by_sha256(asset.sha256)
        assert remote is not None and remote.id == asset.id and remote.state is asset.state
        assert (remote.duration_ms, remote.width, remote.height) == (asset.duration_ms, asset.width, asset.height)
        assert catalog.renditions(asset.id) == local.renditions(asset.id)
        assert [r.cues for r in catalog.revisions(asset.id, "en")] == [r.cues for r in local.revisions(asset.id, "en")]
        assert file_digests(tmp_path / "coordinator" / "output" / asset.id) == \
            file_digests(embedded.settings().output_dir / asset.id)


def test_a_task_that_keeps_killing_its_worker_stops_after_max_attempts(cluster: Cluster, tmp_path: Path) -> None:
    coordinator = write_config(tmp_path / "config.toml", cluster, "coordinator", max_attempts=2)
    masters = tmp_path / "coordinator" / "masters"
    masters.mkdir(parents=True)
    speech_video(masters / "poison.mp4", "This video makes the caption worker crash every time.")
    # Each caption attempt kills its pool process at 30%, as the OOM killer would; the worker itself lives on.
    worker = start_worker(tmp_path, cluster, "w3", env={"PIPELINE_TEST_KILL_AT": "caption@0.3"}, max_attempts=2)
    catalog = Catalog.connect(cluster.postgres_url)
    try:
        queued = pipeline(coordinator, "run", "--wait")
    finally:
        worker.stop()
    assert queued.returncode == 1
    asset = next(a for a in catalog.list_assets() if a.source == "poison.mp4")
    assert asset.state is AssetState.FAILED
    assert asset.error == ("poison.mp4: caption stopped after 2 attempts; last: its worker stopped each time "
                           "(killed, or out of memory)")
    assert asset.error in queued.stderr
    caption = JobBook(catalog).get(asset.id, "caption")
    assert caption is not None and caption.state is JobState.FAILED and caption.attempts == 3
    assert JobBook(catalog).get(asset.id, "ingest").state is JobState.DONE  # type: ignore[union-attr]
    assert JobBook(catalog).get(asset.id, "ladder").state is not JobState.FAILED  # type: ignore[union-attr]


def test_an_unreachable_queue_is_one_line_and_loses_nothing(cluster: Cluster, tmp_path: Path) -> None:
    coordinator = write_config(tmp_path / "config.toml", cluster, "coordinator")
    masters = tmp_path / "coordinator" / "masters"
    masters.mkdir(parents=True)
    speech_video(masters / "hello.mp4", "Hello.")
    text = coordinator.read_text().replace(cluster.redis_url, "redis://127.0.0.1:9/0")
    coordinator.write_text(text)
    refused = pipeline(coordinator, "run")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "task queue at redis://127.0.0.1:9/0 is unreachable" in refused.stderr
    assert "check [cluster] broker" in refused.stderr
    catalog = Catalog.connect(cluster.postgres_url)
    assert not [a for a in catalog.list_assets() if a.source == "hello.mp4"]  # checked before anything is recorded
    coordinator.write_text(text.replace("redis://127.0.0.1:9/0", cluster.redis_url))
    again = pipeline(coordinator, "run")
    assert again.returncode == 0 and "1 queued for the workers" in again.stdout


def test_an_object_key_cannot_write_outside_the_asset_folder(tmp_path: Path) -> None:
    from pipeline.cluster.workspace import local_path
    from pipeline.errors import StorageError

    for key in ("outputs/a/../../x", "outputs/a//etc/x", "outputs/a/hls/", "outputs/a/"):
        with pytest.raises(StorageError, match="is not a file of this asset"):
            local_path(tmp_path, "outputs/a/", key)
    assert local_path(tmp_path, "outputs/a/", "outputs/a/hls/master.m3u8") == (tmp_path / "hls" / "master.m3u8")
