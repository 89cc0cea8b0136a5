"""The embedded SeaweedFS server: private, loopback-only, explicit ports, clean stop."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import botocore.exceptions
import pytest

from pipeline import config
from pipeline.errors import StorageError
from pipeline.storage import open_store
from pipeline.storage.embedded import EmbeddedStorage
from pipeline.storage.objects import ObjectStore, StoredObject
from tests.conftest import Project, make_project


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, EmbeddedStorage, ObjectStore]]:
    project = make_project(tmp_path_factory.mktemp("storage") / "project")
    embedded = EmbeddedStorage(project.settings())
    store = open_store(project.settings())
    yield project, embedded, store
    embedded.stop()


def _status(request: urllib.request.Request | str) -> int:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket the process listens on, read from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                address, port = local.split(":")
                found.add((address, int(port, 16)))
    return found


def test_only_loopback_listens_on_the_configured_ports(running: tuple[Project, EmbeddedStorage, ObjectStore]) -> None:
    _, embedded, _ = running
    pid = embedded.pid()
    assert pid is not None
    listening = _listening_addresses(pid)
    assert listening, "the server listens on nothing?"
    assert {address for address, _ in listening} == {"0100007F"}  # 127.0.0.1, little-endian hex
    assert {port for _, port in listening} == {embedded.settings.storage.embedded_s3_port}


def test_anonymous_reads_and_writes_are_refused(running: tuple[Project, EmbeddedStorage, ObjectStore],
                                                tmp_path: Path) -> None:
    project, _, store = running
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    store.upload(secret, "t/secret.txt", sha256="x", content_type="text/plain", cache_control="private")
    ports = project.ports
    s3 = f"http://127.0.0.1:{ports['embedded_s3_port']}/{store.bucket}"
    assert _status(f"{s3}/t/secret.txt") == 403
    assert _status(f"{s3}?list-type=2") == 403
    assert _status(urllib.request.Request(f"{s3}/t/new.txt", data=b"x", method="PUT")) == 403
    assert store.head("t/new.txt") is None
    signed = store.presign_get("t/secret.txt", 60)
    with urllib.request.urlopen(signed, timeout=10) as response:
        assert response.read() == b"private"


def test_credentials_are_private_files(running: tuple[Project, EmbeddedStorage, ObjectStore]) -> None:
    _, embedded, _ = running
    for name in ("credentials.json", "s3.json", "security.toml"):
        mode = stat.S_IMODE((embedded.dir / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"


def test_wrong_credentials_name_the_endpoint(running: tuple[Project, EmbeddedStorage, ObjectStore]) -> None:
    _, embedded, store = running
    wrong = ObjectStore(embedded.endpoint, store.bucket, "us-east-1", "WRONGKEY", "wrongsecret")
    with pytest.raises(StorageError, match=rf"{embedded.endpoint} refused the credentials"):
        wrong.ping()


def test_a_busy_port_is_an_error_not_a_move(tmp_path: Path) -> None:
    project = make_project(tmp_path / "busy")
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", project.ports["embedded_s3_port"]))
        blocker.listen()
        done = project.cli("storage", "start")
    assert done.returncode == 1
    assert f"port {project.ports['embedded_s3_port']} (s3)" in done.stderr
    assert done.stderr.count("\n") == 1
    assert EmbeddedStorage(project.settings()).pid() is None


def test_start_status_stop_through_the_cli(tmp_path: Path) -> None:
    project = make_project(tmp_path / "cli")
    try:
        assert "started" in project.cli("storage", "start", check=True).stdout
        assert "already running" in project.cli("storage", "start", check=True).stdout
        assert "running (pid" in project.cli("storage", "status", check=True).stdout
        pid = EmbeddedStorage(project.settings()).pid()
        assert "stopped" in project.cli("storage", "stop", check=True).stdout
        assert pid is not None and not Path(f"/proc/{pid}").exists() or _zombie(pid)
        assert "stopped" in project.cli("storage", "status", check=True).stdout
        # Nothing of the server is left in /tmp: no sockets, no log files.
        ports = EmbeddedStorage(project.settings()).ports().values()
        leftovers = [p for p in Path("/tmp").glob("seaweedfs-*.sock") if any(str(n) in p.name for n in ports)]
        assert leftovers == []
        assert not list(Path("/tmp").glob(f"weed.*.{pid}"))
    finally:
        EmbeddedStorage(project.settings()).stop()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True


def test_an_external_endpoint_uses_the_same_code(running: tuple[Project, EmbeddedStorage, ObjectStore],
                                                 tmp_path: Path) -> None:
    """A second project pointed at the first one's server as if it were any S3 service."""
    _, embedded, _ = running
    creds = embedded.credentials()
    settings = config.parse({"storage": {"endpoint": embedded.endpoint, "bucket": "external-bucket",
                                         "access_key_id": creds.access_key_id,
                                         "secret_access_key": creds.secret_access_key}}, tmp_path)
    store = open_store(settings)
    assert store.bucket == "external-bucket" and store.endpoint == embedded.endpoint
    payload = tmp_path / "f.txt"
    payload.write_text("x")
    store.upload(payload, "k/f.txt", sha256="abc", content_type="text/plain", cache_control="private")
    assert store.head("k/f.txt") == StoredObject("k/f.txt", 1, "abc")
    assert not (tmp_path / "state" / "seaweedfs").exists()  # no embedded server of its own


def test_no_port_but_s3_is_reachable_on_this_machine(running: tuple[Project, EmbeddedStorage, ObjectStore]) -> None:
    """Master, volume, filer and every gRPC port live in the server's own network namespace (#16)."""
    _, embedded, store = running
    for name, port in embedded.ports().items():
        if name == "s3":
            continue
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    store.ping()


def test_the_server_verifies_upload_checksums(running: tuple[Project, EmbeddedStorage, ObjectStore]) -> None:
    _, _, store = running
    wrong = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    with pytest.raises(botocore.exceptions.ClientError, match="BadDigest"):
        store.client.put_object(Bucket=store.bucket, Key="t/corrupt.txt", Body=b"hello", ChecksumSHA256=wrong)
    assert store.head("t/corrupt.txt") is None
