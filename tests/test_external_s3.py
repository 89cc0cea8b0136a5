"""Share links through an external S3 service (#17): a second SeaweedFS, started here on its own with its own
credentials, as a school's IT would run one, used through [storage] endpoint with path and virtual-hosted
addressing. Virtual-hosted names are <bucket>.localhost, which Chromium resolves to this machine by itself;
the CLI reaches them through HTTP_PROXY pointed at the server (an S3 gateway takes absolute-form requests),
standing in for the DNS entry a real deployment has."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from playwright.sync_api import Browser

from pipeline.storage import sandbox
from tests.conftest import free_storage_ports, make_project
from tests.media import silent_video

HOST = "127.0.0.1"


@dataclass(frozen=True)
class S3Server:
    port: int
    access_key: str
    secret_key: str

    def client(self) -> object:
        return boto3.client("s3", endpoint_url=f"http://{HOST}:{self.port}", aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    root = tmp_path_factory.mktemp("external-s3")
    ports = free_storage_ports()
    master, volume, filer, s3 = (ports[f"embedded_{n}_port"] for n in ("master", "volume", "filer", "s3"))
    server = S3Server(s3, "EXT" + secrets.token_hex(8).upper(), secrets.token_urlsafe(24))
    identities = {"identities": [{"name": "school-it", "credentials": [
        {"accessKey": server.access_key, "secretKey": server.secret_key}], "actions": ["Admin", "Read", "Write",
                                                                                      "List", "Tagging"]}]}
    (root / "s3.json").write_text(json.dumps(identities))
    (root / "data").mkdir()
    runtime = tempfile.mkdtemp(prefix="ext-s3-")
    weed = Path(sys.executable).parent / "weed"
    command = [str(weed), "-logtostderr", "server", f"-dir={root / 'data'}", f"-ip={HOST}", f"-ip.bind={HOST}",
               f"-master.port={master}", f"-master.port.grpc={master + 10000}", f"-volume.port={volume}",
               f"-volume.port.grpc={volume + 10000}", "-filer", f"-filer.port={filer}",
               f"-filer.port.grpc={filer + 10000}", "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3 + 10000}",
               f"-s3.config={root / 's3.json'}", "-s3.domainName=localhost", f"-filer.localSocket={runtime}/f.sock",
               f"-s3.localSocket={runtime}/s.sock", "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.iam=false",
               "-master.telemetry=false", "-webdav=false", "-iam=false", "-sftp=false",
               "-master.volumeSizeLimitMB=64", "-volume.max=0"]
    with (root / "weed.log").open("ab") as log:
        process = subprocess.Popen(command, cwd=root, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "TMPDIR": runtime}, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                server.client().list_buckets()  # type: ignore[attr-defined]
                break
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the external S3 server did not start; see {root / 'weed.log'}") from None
                time.sleep(0.5)
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:  # weed's graceful stop takes 15 s whatever it holds (pipeline/storage/sandbox.py, STOP_GRACE_S)
            process.wait(timeout=sandbox.STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.parametrize("style", ["path", "virtual"])
def test_share_links_through_an_external_s3_service(s3_server: S3Server, style: str, tmp_path: Path,
                                                    browser: Browser) -> None:
    host = HOST if style == "path" else "localhost"
    project = make_project(tmp_path / "project", endpoint=f"http://{host}:{s3_server.port}",
                           access_key_id=s3_server.access_key, secret_access_key=s3_server.secret_key,
                           addressing_style=style, bucket=f"films-{style}")
    env = {"HTTP_PROXY": f"http://{HOST}:{s3_server.port}", "NO_PROXY": "", "no_proxy": ""} \
        if style == "virtual" else {}
    silent_video(project.masters / "assembly.mp4", seconds=3)
    project.cli("run", check=True)
    [asset] = project.cli_json("status")
    # Captions are not what this test is about: the emergency override publishes without a review.
    [published] = json.loads(project.cli("publish", asset["id"], "--allow-unreviewed", "--json", check=True,
                                         env=env).stdout)
    assert published["uploaded_objects"] > 5
    link = json.loads(project.cli("share", published["id"], "--json", check=True, env=env).stdout)
    address = urlsplit(link["url"])
    if style == "path":
        assert address.netloc == f"{HOST}:{s3_server.port}" and address.path.startswith(f"/films-{style}/shares/")
        with urllib.request.urlopen(link["url"], timeout=30) as response:
            assert response.status == 200 and b"<video" in response.read()
    else:
        assert address.netloc == f"films-{style}.localhost:{s3_server.port}" and address.path.startswith("/shares/")
    assert link["works_on"] == "this-computer"  # this server listens on loopback, and the CLI says so

    # The objects are in the external server, under its own credentials: the embedded store was never started.
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(  # type: ignore[attr-defined]
        Bucket=f"films-{style}").get("Contents", [])]
    assert any(k.startswith("shares/") for k in keys) and any(k.endswith("master.m3u8") for k in keys)
    assert not (project.root / "state" / "seaweedfs").exists()

    page = browser.new_page()
    try:
        page.goto(link["url"])
        page.evaluate("const v = document.getElementById('player'); v.muted = true; v.play()")
        page.wait_for_function("document.getElementById('player').currentTime > 1", timeout=30000)
        assert page.evaluate("document.body.dataset.playback") == "hls"
    finally:
        page.close()


def test_wrong_credentials_for_the_external_service_are_named(s3_server: S3Server, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", endpoint=f"http://{HOST}:{s3_server.port}",
                           access_key_id=s3_server.access_key, secret_access_key="not-the-secret")
    done = project.cli("storage", "status")
    assert done.returncode == 1 and "refused the credentials" in done.stderr and "access_key_id" in done.stderr
