"""Issue #16's red team, replayed: each local attack is made as another account (`runuser -u nobody`), is
refused, and the legitimate path still works."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipeline import config
from pipeline.catalog import Catalog
from pipeline.errors import MediaError
from pipeline.media import ffmpeg, pin
from pipeline.models import Cue
from pipeline.stages import ingest, transcode
from pipeline.stages.job import Job
from pipeline.storage import open_store
from pipeline.storage.embedded import EmbeddedStorage
from pipeline.storage.objects import ObjectStore
from pipeline.web.app import create_app
from pipeline.web.security import SESSION_COOKIE
from tests.conftest import Project, asset_awaiting_review, free_port, make_project, review_client, sign_in_path
from tests.media import silent_video

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


# -- the review app -------------------------------------------------------------------------------------------

@dataclass
class Review:
    """`pipeline review` running in its own process, as a reviewer starts it."""

    process: subprocess.Popen[str]
    base: str
    sign_in_url: str
    asset_id: str

    def peak_memory_kb(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


@pytest.fixture(scope="module")
def review_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Review]:
    project = make_project(tmp_path_factory.mktemp("review") / "project")
    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    asset = asset_awaiting_review(settings, catalog, "talk.mp4", [Cue(0, 2000, "Talk to an adult you trust.")])
    port = free_port()
    env = {**os.environ, config.CONFIG_ENV: str(project.config_file)}
    env.pop("PIPELINE_REVIEW_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "pipeline", "review", "--port", str(port)], cwd=project.root,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        printed = [process.stdout.readline(), process.stdout.readline()]
        assert "sign in by opening" in printed[0], printed
        sign_in_url = printed[1].strip()
        assert sign_in_url.startswith(f"http://127.0.0.1:{port}/login?token=")
        _wait_listening(port)
        yield Review(process, f"http://127.0.0.1:{port}", sign_in_url, asset.id)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _session(review: Review) -> tuple[str, str]:
    """Sign in as the reviewer does (the printed URL): the session cookie and the page's CSRF token."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(review.sign_in_url, timeout=10) as page:  # -> 303 to the queue, signed in
        html = page.read().decode()
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert csrf and "Awaiting review" in html
    cookies = opener.handlers  # the cookie jar is the processor's
    jar = next(h.cookiejar for h in cookies if isinstance(h, urllib.request.HTTPCookieProcessor))
    [cookie] = [c for c in jar if c.name == SESSION_COOKIE]
    return f"{SESSION_COOKIE}={cookie.value}", csrf.group(1)


def test_nobody_gets_neither_the_footage_nor_the_approve_api(review_app: Review) -> None:
    media = f"{review_app.base}/media/{review_app.asset_id}/captions.en.vtt"
    approve = f"{review_app.base}/api/assets/{review_app.asset_id}/approve"
    got = probe_as_nobody([("media", media, "GET"), ("approve", approve, "POST"),
                           ("api", f"{review_app.base}/api/assets", "GET")])
    assert got == {"media": 401, "approve": 401, "api": 401}
    cookie, csrf = _session(review_app)
    request = urllib.request.Request(media, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert b"Talk to an adult" in answer.read()
        assert answer.headers["Cross-Origin-Resource-Policy"] == "same-origin"


def _send_body(base: str, path: str, size: int, cookie: str, csrf: str, chunked: bool) -> int:
    """POST `size` bytes without holding them in memory; the status the server answers."""
    address = urllib.parse.urlsplit(base)
    with socket.create_connection((address.hostname or "", address.port or 80), timeout=60) as conn:
        length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
        conn.sendall((f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: application/json\r\n"
                      f"Cookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n{length}\r\n\r\n").encode())
        chunk = b'{"token": "' + b"A" * (1 << 20)
        try:
            for _ in range(size // len(chunk)):
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        except OSError:
            pass  # the server stopped reading: what it answered is below
        answer = conn.recv(4096).decode(errors="replace")
    return int(answer.split()[1])


def test_a_200_mb_body_is_refused_without_the_server_growing(review_app: Review) -> None:
    cookie, csrf = _session(review_app)
    before = review_app.peak_memory_kb()
    size = 200 * 1024 * 1024
    assert _send_body(review_app.base, "/api/session", size, cookie, csrf, chunked=False) == 413
    assert _send_body(review_app.base, f"/api/assets/{review_app.asset_id}/captions/en/import", size, cookie, csrf,
                      chunked=True) == 413
    assert review_app.peak_memory_kb() - before < 8 * 1024
    # A small bad body is refused without its content coming back.
    request = urllib.request.Request(f"{review_app.base}/api/assets/{review_app.asset_id}/approve",
                                     data=b'{"reviewer": ["SECRET-INPUT"]}', method="POST",
                                     headers={"Cookie": cookie, "X-CSRF-Token": csrf,
                                              "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 422 and b"SECRET-INPUT" not in refused.value.read()


def test_sessions_are_per_sign_in_expire_and_sign_out(tmp_path: Path) -> None:
    settings = config.parse({"review": {"session_hours": 0.01}}, tmp_path)  # 36 s
    catalog = Catalog.open(settings.state_dir)
    asset = asset_awaiting_review(settings, catalog, "a.mp4", [Cue(0, 1000, "Hello.")])
    app = create_app(settings, catalog)
    first, second = review_client(app), review_client(app)
    assert first.cookies[SESSION_COOKIE] != second.cookies[SESSION_COOKIE]
    assert first.get("/api/assets").status_code == 200
    assert first.get("/logout", follow_redirects=False).status_code == 303
    assert first.get("/api/assets").status_code == 401  # signed out ...
    assert second.get("/api/assets").status_code == 200  # ... only that browser
    session = second.cookies[SESSION_COOKIE]
    app.state.guard.sessions._expiry = {k: 0.0 for k in app.state.guard.sessions._expiry}  # 36 s later
    assert second.get("/api/assets").status_code == 401
    assert not app.state.guard.sessions.valid(session)
    behind_https = review_client(app, "https://127.0.0.1")
    assert behind_https.get(sign_in_path(app), follow_redirects=False).headers["set-cookie"].count("Secure") == 1
    # Other sites: no embedding, no prefix probing.
    media = f"/media/{asset.id}/captions.en.vtt"
    fetched = behind_https.get(media, headers={"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "no-cors"})
    assert fetched.status_code == 200 and fetched.headers["cross-origin-resource-policy"] == "same-origin"
    assert behind_https.get(media, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}) \
        .status_code == 403
    assert behind_https.get(f"/media/{asset.id[:4]}/captions.en.vtt").status_code == 404
    assert behind_https.get(f"/api/assets/{asset.id[:6]}/captions/en").status_code == 404
    assert behind_https.get(f"/api/assets/{asset.id}/captions/en").status_code == 200


# -- ingest ---------------------------------------------------------------------------------------------------

def _ingest_settings(tmp_path: Path, **limits: object) -> config.Settings:
    return config.parse({"transcode": {"ladder": [240], "bitrates_kbps": [600]}, "limits": limits}, tmp_path)


def _job(settings: config.Settings, master: Path) -> Job:
    catalog = Catalog.open(settings.state_dir)
    asset, _ = ingest.identify(master, settings, catalog)
    return Job(asset, master, settings, catalog, lambda: None, lambda _f: None)  # type: ignore[arg-type,return-value]


def test_a_master_swapped_mid_run_is_processed_as_the_bytes_that_were_hashed(tmp_path: Path) -> None:
    settings = _ingest_settings(tmp_path)
    settings.masters_dir.mkdir(parents=True)
    master = silent_video(settings.masters_dir / "talk.mp4", seconds=4)
    original = hashlib.sha256(master.read_bytes()).hexdigest()
    other = silent_video(tmp_path / "other.mp4", seconds=1.5, size="160x120")
    job = _job(settings, master)
    ingest.ingest(job)
    os.replace(other, master)  # after the checks, before the transcode
    transcode.transcode(job)
    made = next(job.out_dir.glob("video_*.mp4"))
    assert job.asset.sha256 == original
    assert ffmpeg.video_stream(made).width == 320  # the first file's 320x240 (the other one is 160x120)
    assert 3.5 < float(_probe_json(made)["format"]["duration"]) < 4.5
    # A process that did not hash it (a later run, a worker) refuses what is now another file.
    pin.release_all()
    stale = Job(job.catalog.get(job.asset.id), master, settings, job.catalog, job.transcriber, job.on_progress)
    with pytest.raises(MediaError, match=r"talk\.mp4: changed while it was being processed"):
        ingest.ingest(stale)


def _probe_json(path: Path) -> dict[str, Any]:
    done = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-of", "json", str(path)], capture_output=True,
                          text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_links_are_refused_and_size_is_checked_before_hashing(tmp_path: Path) -> None:
    settings = _ingest_settings(tmp_path, max_file_mb=1)
    settings.masters_dir.mkdir(parents=True)
    (tmp_path / "secret-place").mkdir()
    real = silent_video(tmp_path / "secret-place" / "real.mp4", seconds=1)
    link = settings.masters_dir / "link.mp4"
    link.symlink_to(real)
    with pytest.raises(MediaError, match=r"^link\.mp4: a symbolic link; .* \[paths\] allow_symlinks") as refused:
        _job(settings, link)
    assert "secret-place" not in str(refused.value)
    sparse = settings.masters_dir / "huge.mp4"
    with sparse.open("wb") as handle:
        handle.truncate(4 * 2**30)  # 4 GB of nothing: refused from its size, nothing read
    with pytest.raises(MediaError, match=r"^huge\.mp4: 4,295\.0 MB, more than \[limits\] max_file_mb = 1"):
        _job(settings, sparse)
    allowed = config.parse({"paths": {"allow_symlinks": True}}, tmp_path)
    assert _job(allowed, link).asset.source == "link.mp4"  # its own name, not its target's


def _lying_header(path: Path, claimed_s: float) -> Path:
    """Rewrite a Matroska file's Segment Duration (element 0x4489, an 8-byte float in ms) to `claimed_s`."""
    data = bytearray(path.read_bytes())
    at = data.index(b"\x44\x89\x88") + 3
    data[at:at + 8] = struct.pack(">d", claimed_s * 1000)
    path.write_bytes(bytes(data))
    return path


def test_a_header_that_lies_about_the_duration_is_refused(tmp_path: Path) -> None:
    settings = _ingest_settings(tmp_path, max_duration_minutes=1)
    master = silent_video(tmp_path / "long.mkv", seconds=75, size="64x48")
    assert ingest.validate(master, _ingest_settings(tmp_path, max_duration_minutes=2)).duration_ms > 70_000
    _lying_header(master, 5)
    assert 4 < float(_probe_json(master)["format"]["duration"]) < 6  # the header now says 5 s
    with pytest.raises(MediaError, match=r"^long\.mkv: its packets run past 1 minutes"):
        ingest.validate(master, settings)


def test_a_decompression_bomb_is_stopped_within_the_memory_limit(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=black:s=8000x8000:d=0.04:r=25", "-f",
                    "lavfi", "-i", "color=black:s=8000x8000:d=0.04:r=25", "-map", "0", "-map", "1", "-c:v",
                    "libx264", "-preset", "ultrafast", "-y", str(bomb)], check=True, timeout=300)
    # In a process of its own, so that its children's peak memory is the probe's alone.
    script = ("import resource, sys; from pathlib import Path; from pipeline import config; "
              "from pipeline.stages import ingest\n"
              "s = config.parse({'limits': {'ffmpeg_memory_mb': 256}}, Path(sys.argv[2]))\n"
              "try:\n    ingest.validate(Path(sys.argv[1]), s); print('accepted')\n"
              "except Exception as exc:\n    print(exc)\n"
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", script, str(bomb), str(tmp_path)], capture_output=True, text=True,
                          check=True, timeout=300)
    message, peak_kb = done.stdout.strip().splitlines()
    assert message.startswith("bomb.mkv: 2 video streams of 128 megapixels in all"), message
    assert int(peak_kb) < (256 + 64) * 1024  # the heap limit, plus the libraries mapped


# -- the terminal ---------------------------------------------------------------------------------------------

def test_names_with_escape_sequences_and_newlines_print_escaped(project: Project) -> None:
    hostile = "clear\x1b[2J\x1b[31mred\nabc123  processed  FORGED.mp4"
    (project.masters / hostile).write_text("not a video")
    done = project.cli("run")
    printed = done.stdout + done.stderr
    assert done.returncode == 1
    assert "\x1b" not in printed and "\nabc123" not in printed
    assert "clear\\x1b[2J\\x1b[31mred\\nabc123  processed  FORGED.mp4" in printed
    assert "not a readable video" in printed  # the legitimate message still comes through
