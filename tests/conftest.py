from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from pipeline import config
from pipeline.captions import vtt
from pipeline.catalog import Catalog
from pipeline.models import Asset, AssetState, CaptionState, CaptionTrack, Cue
from pipeline.storage.embedded import EmbeddedStorage


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_storage_ports() -> dict[str, int]:
    """Four HTTP ports whose gRPC partners (+10000) are free too."""
    while True:
        base = random.randrange(20000, 29000, 10)
        ports = [base, base + 1, base + 2, base + 3]
        if all(_free(p) and _free(p + 10000) for p in ports):
            return {"embedded_s3_port": ports[0], "embedded_master_port": ports[1],
                    "embedded_volume_port": ports[2], "embedded_filer_port": ports[3]}


@dataclass
class Project:
    """A pipeline project in a temporary folder, driven through the real CLI in a subprocess."""

    root: Path
    ports: dict[str, int]

    @property
    def config_file(self) -> Path:
        return self.root / "config.toml"

    @property
    def masters(self) -> Path:
        return self.root / "masters"

    def settings(self) -> config.Settings:
        return config.load(str(self.config_file))

    def cli(self, *args: str, check: bool = False,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, config.CONFIG_ENV: str(self.config_file), **(env or {})}
        done = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=self.root, env=env,
                              capture_output=True, text=True, timeout=600)
        if check and done.returncode != 0:
            raise AssertionError(f"pipeline {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json", check=True).stdout)


def make_project(root: Path, **extra_storage: Any) -> Project:
    ports = free_storage_ports()
    (root / "masters").mkdir(parents=True)
    storage = {**ports, **extra_storage}
    lines = ["[storage]", *(f"{k} = {json.dumps(v)}" for k, v in storage.items())]
    (root / "config.toml").write_text("\n".join(lines) + "\n")
    return Project(root, ports)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (browsers cannot be downloaded here), driven by Playwright."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sign_in_path(app: Any, next_path: str = "/") -> str:
    """The review app's sign-in path (what `pipeline review` prints, carrying the token made at start), for a
    browser: `page.goto(url + sign_in_path(app, "/assets/<id>"))` signs the page's context in and opens the
    page. Every test that opens the review app signs in through this or review_client (#16)."""
    return str(app.state.guard.sign_in_path(next_path))


def review_client(app: Any, base_url: str = "http://127.0.0.1") -> Any:
    """A FastAPI TestClient of the review app with a signed-in session (its own, as a reviewer's browser)."""
    from fastapi.testclient import TestClient

    client = TestClient(app, base_url=base_url)
    answer = client.get(sign_in_path(app), follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


@contextmanager
def live_app(app: Any) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 in a thread, for a real browser; stopped on exit."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise AssertionError("the review app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Redis, PostgreSQL and SeaweedFS (separate master, volume, filer and S3 processes) on 127.0.0.1, started
    once for the tests that ask for them (tests/cluster.py) and stopped at the end."""
    from tests.cluster import start_cluster

    started = start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield started
    finally:
        started.stop()


def empty_database(url: str) -> None:
    """Drop every table of the cluster's PostgreSQL database, so that a test starts from nothing."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    proj = make_project(tmp_path / "project")
    yield proj
    EmbeddedStorage(proj.settings()).stop()


def asset_awaiting_review(settings: config.Settings, catalog: Catalog, source: str, cues: list[Cue]) -> Asset:
    """An asset as `pipeline run` leaves it, with draft captions `cues`, without running ffmpeg or Whisper."""
    asset = catalog.add_asset(hashlib.sha256(source.encode()).hexdigest(), source, 1)
    catalog.set_state(asset.id, AssetState.PROCESSING)
    vtt.write_vtt(settings.output_dir / asset.id / "captions.en.vtt", cues)
    catalog.put_caption_track(CaptionTrack(asset.id, "en", "captions.en.vtt", CaptionState.DRAFT, len(cues),
                                           "faster-whisper", "tiny.en", None, None))
    return catalog.set_state(asset.id, AssetState.AWAITING_REVIEW)


# -- markers: which real components a test runs, so that `pytest -m pure` (`make test-fast`) runs the rest in
# seconds. A module's tests carry its marks; fixtures add theirs (a browser, the cluster, a PostgreSQL catalog).
COMPONENTS = ("media", "whisper", "browser", "cluster", "storage")
MODULE_MARKS: dict[str, tuple[str, ...]] = {
    "test_captions": (), "test_guards": (), "test_lifecycle": (), "test_install": (), "test_config": (),
    "test_quality": (), "test_web": (), "test_catalog": (), "test_segment_text": (), "test_segment_properties": (),
    "test_personal_details": (), "test_editor_modules": ("browser",),
    "test_gate": (),  # the share-page test carries its own marks
    "test_media": ("media",), "test_renditions": ("media",), "test_storage": ("storage",),
    "test_engine": ("media", "whisper"), "test_segment_engines": ("media", "whisper"),
    "test_run": ("media", "whisper"), "test_readonly": ("media", "whisper"),
    "test_robustness": ("media", "whisper", "storage"), "test_end_to_end": ("media", "whisper", "storage"),
    "test_share": ("media", "whisper", "storage", "browser"), "test_editor": ("media", "whisper", "browser"),
    "test_share_phone": ("media", "whisper", "storage", "browser"),
    "test_export": ("media", "whisper", "browser"), "test_external_s3": ("media", "whisper", "storage", "browser"),
    "test_titles": (),
    "test_distributed": ("media", "whisper", "storage", "cluster"),
    "test_review_first": ("media", "whisper", "storage", "browser"),
    "test_cluster_fixture": ("cluster", "storage"),
    "test_merging": (), "test_review_api": (), "test_queue_paging": (),
    "test_editor_merge": ("media", "whisper", "browser"),
    "test_editor_access": ("media", "browser"),
    "test_editor_scale": ("browser",),
    "test_security": ("media", "storage"),
    "test_long_master": ("media", "whisper"),
    "test_descriptions_browser": ("media", "storage", "browser"),
    "test_descriptions": ("media", "storage"),
}
FIXTURE_MARKS = {"browser": "browser", "cluster": "cluster", "project": "storage"}


def pytest_configure(config: pytest.Config) -> None:
    for name in COMPONENTS:
        config.addinivalue_line("markers", f"{name}: runs a real {name} component (see tests/conftest.py)")
    config.addinivalue_line("markers", "pure: runs no external program, model, browser or server")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rpartition(".")[2] if item.module else ""
        if module not in MODULE_MARKS:
            raise pytest.UsageError(f"tests/{module}.py: list its components in MODULE_MARKS (tests/conftest.py)")
        marks = set(MODULE_MARKS[module])
        marks |= {mark for fixture, mark in FIXTURE_MARKS.items() if fixture in getattr(item, "fixturenames", ())}
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "postgresql" in callspec.id:
            marks.add("cluster")
        marks |= {m.name for m in item.iter_markers() if m.name in COMPONENTS}
        for mark in sorted(marks):
            item.add_marker(mark)
        if not marks:
            item.add_marker("pure")


# -- audio description (#21): an asset to describe, without Whisper (its captions are written here) -----------
PROGRAMME_SPEECH = "Hello, and welcome to our film."
DESCRIBED_CUES = [Cue(3200, 3201, "A girl opens a laptop."), Cue(6500, 6501, "On screen: ask for help.")]


def reviewed_asset(project: Project, name: str = "described.mp4") -> Asset:
    """An asset whose renditions are made and whose captions are approved, ready to publish: a 10-second
    programme (speech at the start over a 3 kHz tone, tests/media.programme_video), transcoded for real."""
    from pipeline.review import decisions
    from pipeline.stages import ingest, transcode
    from pipeline.stages.job import Job
    from tests.media import programme_video

    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    master = programme_video(project.masters / name, PROGRAMME_SPEECH, seconds=10)
    asset, _ = ingest.identify(master, settings, catalog)
    job = Job(asset, master, settings, catalog, lambda: None, lambda _f: None)  # type: ignore[arg-type,return-value]
    ingest.ingest(job)
    job.refresh()
    transcode.transcode(job)
    cues = [Cue(0, 2500, PROGRAMME_SPEECH, "c1")]
    vtt.write_vtt(settings.output_dir / asset.id / "captions.en.vtt", cues)
    catalog.put_caption_track(CaptionTrack(asset.id, "en", "captions.en.vtt", CaptionState.DRAFT, len(cues),
                                           "faster-whisper", "tiny.en", None, None))
    catalog.set_state(asset.id, AssetState.PROCESSING)
    catalog.set_state(asset.id, AssetState.AWAITING_REVIEW)
    return decisions.approve(settings, catalog, catalog.get(asset.id), "Ann Example")


def describe(project: Project, asset_id: str, cues: list[Cue] | None = None, reviewer: str = "Ann Example") -> None:
    """Write and approve the asset's audio description (DESCRIBED_CUES): the described soundtrack is mixed."""
    from pipeline.descriptions import track

    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    asset = catalog.get(asset_id)
    track.save_all(settings, catalog, asset, "en", reviewer, cues or DESCRIBED_CUES, "written for the test")
    track.approve(settings, catalog, asset, "en", reviewer)


def publish_and_share(project: Project, asset_id: str) -> str:
    """Publish the asset to the embedded store and return a new share link's URL (the caller stops the store,
    as the `project` fixture does)."""
    from pipeline.distribution import publish, share
    from pipeline.storage import open_store

    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    store = open_store(settings)
    publish.publish(settings, catalog, store, catalog.get(asset_id))
    return share.create(settings, catalog, store, catalog.get(asset_id), 3600).url


def published_with_descriptions(project: Project) -> tuple[str, str]:
    """For the share page's tests (D2's test_descriptions_browser): an asset with approved captions and approved
    audio description, published, and a share link to it: (asset id, share page URL). About 15 s."""
    asset = reviewed_asset(project)
    describe(project, asset.id)
    return asset.id, publish_and_share(project, asset.id)
