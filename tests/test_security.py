"""Issue #16's red team, replayed: each local attack is made as another account (`runuser -u nobody`), is
refused, and the legitimate path still works."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.storage import open_store
from pipeline.storage.embedded import EmbeddedStorage
from pipeline.storage.objects import ObjectStore
from tests.conftest import Project, make_project

# Run by /usr/bin/python3 as nobody: standard library only. Prints one JSON object: what each attempt got.
_PROBE = r"""
import json, socket, sys, urllib.error, urllib.request
def status(url, method="GET", data=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError as exc:
        return type(exc).__name__
def unix(path):
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
        return "connected"
    except OSError as exc:
        return type(exc).__name__
out = {}
for name, url, method in json.loads(sys.argv[1]):
    out[name] = unix(url) if url.startswith("/") else status(url, method, b"x" if method in ("PUT", "POST") else None)
print(json.dumps(out))
"""


def as_nobody(*argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a program as the unprivileged local account `nobody`, from a folder it may enter."""
    return subprocess.run(["runuser", "-u", "nobody", "--", *argv], input=stdin, capture_output=True, cwd="/",
                          timeout=120, check=False)


def probe_as_nobody(attempts: list[tuple[str, str, str]]) -> dict[str, object]:
    done = as_nobody("/usr/bin/python3", "-c", _PROBE, json.dumps(attempts))
    assert done.returncode == 0, done.stderr.decode()
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, EmbeddedStorage, ObjectStore]]:
    project = make_project(tmp_path_factory.mktemp("security") / "project")
    embedded = EmbeddedStorage(project.settings())
    store = open_store(project.settings())
    yield project, embedded, store
    embedded.stop()


def test_no_other_account_reaches_the_storage_apis_and_a_share_link_still_plays(
        storage: tuple[Project, EmbeddedStorage, ObjectStore], tmp_path: Path) -> None:
    project, embedded, store = storage
    video = tmp_path / "video.mp4"
    video.write_bytes(b"not really a video")
    store.upload(video, "assets/x/video.mp4", sha256="x", content_type="video/mp4", cache_control="private")
    p = project.ports
    master, volume = f"http://127.0.0.1:{p['embedded_master_port']}", f"http://127.0.0.1:{p['embedded_volume_port']}"
    filer, s3 = f"http://127.0.0.1:{p['embedded_filer_port']}", f"http://127.0.0.1:{p['embedded_s3_port']}"
    runtime = embedded.runtime_file.read_text().strip()
    attempts = [
        ("delete collection", f"{master}/col/delete?collection={store.bucket}", "GET"),
        ("assign write token", f"{master}/dir/assign", "GET"),
        ("lookup read token", f"{master}/dir/lookup?volumeId=1&read=yes", "GET"),
        ("grow volumes", f"{master}/vol/grow?count=1", "GET"),
        ("vacuum", f"{master}/vol/vacuum", "GET"),
        ("cluster status", f"{master}/cluster/status", "GET"),
        ("volume status", f"{volume}/status", "GET"),
        ("filer read", f"{filer}/buckets/{store.bucket}/assets/x/video.mp4", "GET"),
        ("filer upload", f"{filer}/buckets/{store.bucket}/assets/x/evil.mp4", "PUT"),
        ("unsigned s3 read", f"{s3}/{store.bucket}/assets/x/video.mp4", "GET"),
        ("unsigned s3 delete", f"{s3}/{store.bucket}/assets/x/video.mp4", "DELETE"),
        ("unsigned s3 list", f"{s3}/{store.bucket}?list-type=2", "GET"),
        ("s3 socket", f"{runtime}/s3.sock", ""),
        ("filer socket", f"{runtime}/filer.sock", ""),
        *((f"{name} grpc socket", f"/tmp/seaweedfs-{name}-grpc-{p[f'embedded_{name}_port'] + 10000}.sock", "")
          for name in ("master", "volume", "filer")),
        ("signed share link", store.presign_get("assets/x/video.mp4", 300), "GET"),
    ]
    got = probe_as_nobody(attempts)
    for name in ("delete collection", "assign write token", "lookup read token", "grow volumes", "vacuum",
                 "cluster status", "volume status", "filer read", "filer upload"):
        assert got[name] == "URLError", f"{name}: {got[name]}"  # connection refused: nothing listens for them
    assert got["unsigned s3 read"] == got["unsigned s3 delete"] == got["unsigned s3 list"] == 403
    for name, value in got.items():
        if name.endswith("socket"):
            assert value in ("PermissionError", "FileNotFoundError"), f"{name}: {value}"
    assert got["signed share link"] == 200
    assert store.head("assets/x/video.mp4") is not None and store.head("assets/x/evil.mp4") is None
