"""Run the embedded SeaweedFS where no other local account can reach it (issue #16).

SeaweedFS's master, volume and filer HTTP APIs answer anyone who can open a TCP connection to them: a JWT guards
volume data, but `/col/delete`, `/dir/assign`, `/vol/grow` and `/vol/vacuum` on the master do not ask for one, and
every account on the machine can reach 127.0.0.1. So the servers run in a private network namespace (for an
ordinary account a new user and network namespace, as `unshare --user --map-root-user --net` makes: no privilege
is needed; for root, which may be in a chroot where the kernel refuses new user namespaces, `unshare --net`),
whose loopback is theirs alone. Only the S3 gateway is reachable from outside, and only through a Unix socket in
a folder of mode 0700 (SeaweedFS's `-s3.localSocket`). This module's forwarder listens on 127.0.0.1 at the configured S3
port and copies bytes both ways to that socket, so boto3 and share links keep their address, and the gateway
still checks every request's signature.

Process tree: this forwarder (the session leader whose pid the pipeline records) -> weed in the namespace.
SIGTERM to the group stops both; SIGHUP is passed on to weed, which then reads its S3 identities again.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_CHUNK = 256 * 1024
# How long SeaweedFS may take to shut down before it is killed (here and in embedded.stop). A graceful stop
# never finishes sooner than 15 s: weed's filer first waits that long, hard-coded, for the metadata streams its
# own S3 gateway keeps open, and only then closes the volume server. Waiting for that buys nothing: every
# upload is written (volume files and the filer's leveldb journal) before it is answered, so a kill once the
# forwarder has stopped taking connections loses nothing a graceful stop would keep; 1 s lets a request
# already in flight finish.
STOP_GRACE_S = 1.0


def loopback_up() -> None:
    """Bring up `lo` in a fresh network namespace (it starts down, so 127.0.0.1 cannot be bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as control:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(control, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(control, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))


def unshare_binary() -> str:
    return shutil.which("unshare") or "unshare"


def namespace_command(program: list[str]) -> list[str]:
    """`program` run in its own network namespace, its loopback up. Any other account needs a user namespace of
    its own to be allowed one; root has the right already, and needs none: the kernel refuses a new user
    namespace to a process in a chroot (unshare(2), EPERM), as in a container or a build root."""
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return [unshare_binary(), *user, "--net", "--", sys.executable, __file__, "inside", "--", *program]


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def _relay(socket_path: str, client_reader: asyncio.StreamReader,
                 client_writer: asyncio.StreamWriter) -> None:
    try:
        server_reader, server_writer = await asyncio.open_unix_connection(socket_path)
    except OSError:
        client_writer.close()  # not up yet: the client sees a closed connection and retries
        return
    try:
        await asyncio.gather(_pump(client_reader, server_writer), _pump(server_reader, client_writer))
    finally:
        for writer in (server_writer, client_writer):
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


async def _serve(host: str, port: int, socket_path: str, program: list[str]) -> int:
    # The port first: when it is taken, nothing is started.
    server = await asyncio.start_server(lambda r, w: _relay(socket_path, r, w), host, port,
                                        reuse_address=True)
    child = subprocess.Popen(namespace_command(program), stdin=subprocess.DEVNULL)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    loop.add_signal_handler(signal.SIGINT, stopping.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: child.send_signal(signal.SIGHUP))
    async with server:
        while not stopping.is_set() and child.poll() is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), 0.5)
    if child.poll() is None:
        child.terminate()
        try:
            await asyncio.to_thread(child.wait, STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            child.kill()
    return child.wait()


def main(argv: list[str]) -> int:
    if argv[:2] == ["inside", "--"]:
        loopback_up()
        os.execv(argv[2], argv[2:])  # noqa: S606 (argv from the pipeline, no shell)
    # forward HOST PORT SOCKET -- PROGRAM...
    if len(argv) < 6 or argv[0] != "forward" or argv[4] != "--":
        print("usage: sandbox forward HOST PORT SOCKET -- PROGRAM [ARG ...]", file=sys.stderr)
        return 2
    host, port, socket_path, program = argv[1], int(argv[2]), argv[3], argv[5:]
    return asyncio.run(_serve(host, port, socket_path, program))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
