"""Robustness (#7): bad and hostile masters, ffmpeg contained, crashes at any point, two runs at once, storage
faults. Real ffmpeg, the real SQLite catalog and the real CLI in subprocesses; the media is made here."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from pipeline import config, fsutil, runner
from pipeline.captions import vtt
from pipeline.catalog import Catalog, now
from pipeline.errors import MediaError
from pipeline.media import ffmpeg, packets, sniff
from pipeline.models import Asset, AssetState, CaptionState, CaptionTrack, Cue, Rendition, RenditionKind
from pipeline.review import decisions as review
from pipeline.review import editing
from tests.conftest import Project, free_storage_ports
from tests.media import (
    audio_only,
    avi_video,
    concat_list_disguised,
    hls_playlist_disguised,
    many_streams_video,
    silent_video,
    speech_video,
    still_image,
    truncated_copy,
)

MARKER = "MARKER-7f3a9c-another-childs-diary"


def _add_limits(project: Project, **limits: int) -> None:
    lines = ["", "[limits]", *(f"{key} = {value}" for key, value in limits.items())]
    with project.config_file.open("a") as handle:
        handle.write("\n".join(lines) + "\n")


def _failed_lines(stderr: str) -> list[str]:
    return [line.strip()[len("failed: "):] for line in stderr.splitlines() if line.strip().startswith("failed: ")]


def _duration(path: Path) -> float:
    done = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                           f"file:{path}"], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def _bad_corpus(masters: Path, outside: Path, good: Path) -> dict[str, str]:
    """Every kind of bad master, each with a word its message must hold; `good` is the sibling they point at."""
    outside.mkdir()
    secret = masters / "diary.txt"
    secret.write_text(f"{MARKER}\nDear diary, nobody else may read this.\n")
    (outside / "server-secret.txt").write_text(MARKER)
    (masters / "empty.mp4").write_bytes(b"")
    still_image(masters / "picture.png")
    audio_only(masters / "voice-memo.mp4")
    avi_video(masters / "old-camera.avi")
    hls_playlist_disguised(masters / "playlist.mp4", secret)
    hls_playlist_disguised(masters / "server.mp4", outside / "server-secret.txt")
    concat_list_disguised(masters / "concat.mp4", good)
    clip = silent_video(outside / "clip.mp4", seconds=2)
    truncated_copy(clip, masters / "cut-short.mp4")
    fast = outside / "fast.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-c", "copy", "-movflags", "+faststart", str(fast)],
                   check=True)
    truncated_copy(fast, masters / "cut-short-faststart.mp4", 0.6)
    (masters / "corrupt.mp4").write_bytes(clip.read_bytes()[:48] + os.urandom(20_000))
    (masters / "corrupt.mkv").write_bytes(sniff.MATROSKA + os.urandom(20_000))
    (masters / "random.mp4").write_bytes(os.urandom(20_000))
    (masters / "big.mp4").write_bytes(clip.read_bytes()[:48] + bytes(2_100_000))
    silent_video(masters / "too-wide.mp4", seconds=1, size="1280x720")
    silent_video(masters / "too-long.mkv", seconds=62, size="64x48")
    many_streams_video(masters / "many-streams.mkv", audio_streams=5)
    (masters / os.fsdecode(b"broken-\xff\xfe-name.mp4")).write_text("just text\n")
    return {
        "diary.txt": "a text file", "empty.mp4": "empty file", "picture.png": "a PNG image",
        "voice-memo.mp4": "sound only, no picture", "old-camera.avi": "an AVI video",
        "playlist.mp4": "an HLS playlist", "server.mp4": "an HLS playlist", "concat.mp4": "an ffmpeg concat list",
        "cut-short.mp4": "incomplete or damaged", "cut-short-faststart.mp4": "damaged or incomplete",
        "corrupt.mp4": "incomplete or damaged", "corrupt.mkv": "not a readable video (",
        "random.mp4": "does not recognise",
        "big.mp4": "max_file_mb", "too-wide.mp4": "max_long_side", "too-long.mkv": "max_duration_minutes",
        "many-streams.mkv": "max_streams", "broken-\\xff\\xfe-name.mp4": "a text file",
    }


def test_each_bad_master_gets_its_own_line_and_the_good_one_goes_through(project: Project) -> None:
    good = silent_video(project.masters / "-dash 'single' \"double\" ünïcødé 日本 name.mp4", seconds=2)
    expected = _bad_corpus(project.masters, project.root / "elsewhere", good)
    _add_limits(project, max_file_mb=2, max_long_side=1000, max_duration_minutes=1, max_streams=4)

    done = project.cli("run")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    failed = _failed_lines(done.stderr)
    assert len(failed) == len(expected), failed
    for name, reason in expected.items():
        [line] = [line for line in failed if line.startswith(f"{name}: ")]
        assert reason in line, line
        assert "; " in line and "\n" not in line  # a reason, then what to do
    states = {a["source"]: a for a in project.cli_json("status")}
    good_asset = states[good.name]
    assert good_asset["state"] == "awaiting_review"
    assert all(a["state"] == "failed" for source, a in states.items() if source != good.name)

    # Nothing was made for a rejected master, and nothing anywhere holds another file's content.
    output = project.root / "output"
    assert [p.name for p in output.iterdir()] == [good_asset["id"]]
    for path in [*output.rglob("*"), *(project.root / "state" / "logs").rglob("*")]:
        assert not path.is_file() or MARKER.encode() not in path.read_bytes(), path
    out = output / good_asset["id"]
    assert _duration(out / "video_240p.mp4") == pytest.approx(2.0, abs=0.1)
    assert not [p for p in out.rglob("*") if fsutil.is_partial(p)]
    # The run's own log file has every rejection.
    [log_file] = (project.root / "state" / "logs").glob("*-run-*.log")
    assert "failed: playlist.mp4: not a readable video: an HLS playlist" in log_file.read_text()


@pytest.mark.parametrize("maker", [hls_playlist_disguised, concat_list_disguised])
def test_ffprobe_itself_refuses_a_disguised_playlist(tmp_path: Path, maker: object) -> None:
    """Behind the sniffer, ffprobe and ffmpeg are limited to the video containers and plain files."""
    target = silent_video(tmp_path / "other-child.mp4", seconds=1)
    disguised = maker(tmp_path / "disguised.mp4", target)  # type: ignore[operator]
    with pytest.raises(MediaError, match=r"disguised\.mp4: not a readable video"):
        ffmpeg.probe(disguised)
    with pytest.raises(MediaError, match=r"disguised\.mp4: damaged or incomplete"):
        packets.check_complete(disguised)


@pytest.mark.parametrize(("head", "kind"), [
    (b"", sniff.Kind.EMPTY),
    (b"\xef\xbb\xbf  #EXTM3U\n#EXTINF:1,\n/etc/passwd\n", sniff.Kind.PLAYLIST),
    (b"ffconcat version 1.0\nfile 'a.mp4'\n", sniff.Kind.PLAYLIST),
    (b"file '/home/other/secret.mp4'\n", sniff.Kind.PLAYLIST),
    (b"Notes for the shoot\n", sniff.Kind.TEXT),
    (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", sniff.Kind.VIDEO),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", sniff.Kind.VIDEO),
    (b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat", sniff.Kind.VIDEO),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", sniff.Kind.VIDEO),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", sniff.Kind.IMAGE),
    (b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00", sniff.Kind.AUDIO),
    (b"RIFF\x00\x00\x00\x00AVI LIST", sniff.Kind.OTHER_VIDEO),
    (b"ID3\x04\x00", sniff.Kind.AUDIO),
    (b"\x89PNG\r\n\x1a\n\x00", sniff.Kind.IMAGE),
    (b"%PDF-1.7", sniff.Kind.DOCUMENT),
    (b"\x01\x02\x03\x04binary", sniff.Kind.UNKNOWN),
])
def test_sniffing_the_first_bytes(head: bytes, kind: sniff.Kind) -> None:
    assert sniff.sniff_bytes(head).kind is kind


def _encode_args(target: Path, size: str = "1280x720", seconds: int = 2) -> list[str]:
    return ["-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}", "-c:v", "libx264",
            "-preset", "ultrafast", f"file:{target}"]


@pytest.mark.parametrize("wrapped", [True, False], ids=["setpriv and prlimit", "preexec function"])
def test_ffmpeg_jobs_are_contained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wrapped: bool) -> None:
    if not wrapped:  # a system without util-linux's setpriv and prlimit: the limits are set between fork and exec
        monkeypatch.setattr(ffmpeg, "_wrappers", lambda: None)
    command, preexec = ffmpeg.contained(["ffmpeg"], ffmpeg.Limits(memory_bytes=2**26))
    assert (Path(command[0]).name, preexec is None) == (("setpriv", True) if wrapped else ("ffmpeg", False))
    with pytest.raises(MediaError, match=r"more than the 64 MB allowed \(\[limits\] ffmpeg_memory_mb\)"):
        ffmpeg.run(_encode_args(tmp_path / "a.mp4", "3840x2160"), what="memory",
                   limits=ffmpeg.Limits(memory_bytes=64 * 2**20))
    with pytest.raises(MediaError, match=r"an output file grew past"):
        ffmpeg.run(_encode_args(tmp_path / "b.mp4"), what="size", limits=ffmpeg.Limits(file_bytes=50_000))
    assert (tmp_path / "b.mp4").stat().st_size <= 50_000
    started = time.monotonic()
    with pytest.raises(MediaError, match=r"stopped after 1s \(\[transcode\] timeout_seconds\)"):
        ffmpeg.run(_encode_args(tmp_path / "c.mp4", seconds=600), what="time", timeout_s=1)
    assert time.monotonic() - started < 10
    assert not _processes_mentioning(str(tmp_path))


def test_disk_space_is_checked_before_transcoding(project: Project) -> None:
    silent_video(project.masters / "clip.mp4", seconds=1)
    _add_limits(project, min_free_mb=999_999)
    done = project.cli("run")
    [line] = _failed_lines(done.stderr)
    assert done.returncode == 1 and "transcoding clip.mp4 needs up to" in line
    assert "min_free_mb = 999999 MB must stay free" in line and "free some space" in line
    # The ladder runs after the captions and proxy (#19): its failure leaves them in review, with the reason.
    [asset] = project.cli_json("status")
    assert asset["state"] == "awaiting_review"
    assert asset["renditions"].startswith("renditions failed: ") and "free some space" in asset["renditions"]
    assert not list((project.root / "output").rglob("video_*.mp4"))


# -- crashes -------------------------------------------------------------------------------------------------


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline and "ffmpeg" in cmdline:
                found.append(cmdline)
    return found


def _assert_complete_files_are_valid(out: Path) -> None:
    """Whatever a killed run left under a final name is whole; only `.partial` names may be unfinished."""
    for path in out.rglob("*"):
        if not path.is_file() or ".partial" in str(path.relative_to(out)):
            continue
        if path.name.startswith("video_"):
            assert _duration(path) > 1, path
        elif path.suffix == ".jpg":
            assert path.read_bytes()[-2:] == b"\xff\xd9", path  # a JPEG's end-of-image marker
        elif path.name == "stream.m3u8":
            assert path.read_text().rstrip().endswith("#EXT-X-ENDLIST"), path
        elif path.suffix == ".vtt":
            assert path.read_text().startswith("WEBVTT"), path


def _catalog_is_sound(project: Project) -> None:
    with sqlite3.connect(project.root / "state" / "catalog.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def _stamps(out: Path) -> dict[str, tuple[int, int]]:
    names = [*out.glob("video_*.mp4"), *out.glob("hls/*/stream.m3u8"), *out.glob("*.jpg")]
    return {str(p.relative_to(out)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in names}


def test_killed_at_any_point_a_rerun_finishes_without_redoing_work(project: Project) -> None:
    master = speech_video(project.masters / "talk.mp4", "Hello, and thank you for watching.")
    stamps: dict[str, tuple[int, int]] = {}
    asset_id = ""
    # The order of #19: the captions and the proxy first, then the ladder while the asset is in review.
    for point in ("ingest@done", "proxy@done", "caption@done", "transcode@0.5", "transcode@0.95"):
        killed = project.cli("run", env={runner.FAULT_KILL_AT: point})
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
        time.sleep(0.2)
        assert not _processes_mentioning(str(project.root)), f"ffmpeg outlived the run killed at {point}"
        _catalog_is_sound(project)
        [asset] = project.cli_json("status")
        asset_id = asset["id"]
        assert asset["state"] == ("awaiting_review" if point.startswith("transcode") else "processing")
        out = project.root / "output" / asset_id
        _assert_complete_files_are_valid(out)
        if point == "transcode@0.5":
            assert list(out.glob("video_*.partial-*.mp4")) and not list(out.glob("video_240p.mp4"))
        if point == "transcode@0.95":  # one ffmpeg run made the MP4, HLS, poster and thumbnail (#20); the
            stamps = _stamps(out)      # catalog has not recorded them yet
            assert {"video_240p.mp4", "hls/240p/stream.m3u8", "poster.jpg", "thumbnail.jpg"} <= set(stamps)

    # A reviewer corrects the draft while the run is down; the rerun must keep their revision.
    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    latest = catalog.revisions(asset_id, "en")[0]
    editing.save(settings, catalog, catalog.get(asset_id), "en", latest.number, "Ann Reviewer",
                 [Cue(0, 1500, "Corrected by the reviewer.")])

    done = project.cli("run")
    assert done.returncode == 0, done.stderr
    [asset] = project.cli_json("status")
    assert asset["state"] == "awaiting_review"
    out = project.root / "output" / asset_id
    assert _stamps(out) == stamps  # nothing finished before the crashes was made again
    assert not [p for p in out.rglob("*") if fsutil.is_partial(p)]
    for rendition in catalog.renditions(asset_id):
        assert (out / rendition.path).is_file()
    assert _duration(out / "video_240p.mp4") == pytest.approx(_duration(master), abs=0.15)
    assert catalog.revisions(asset_id, "en")[0].author == "Ann Reviewer"
    assert "Corrected by the reviewer." in (out / "captions.en.vtt").read_text()
    assert catalog.lease(asset_id) is None
    _catalog_is_sound(project)


# -- two runs at once ----------------------------------------------------------------------------------------


def test_two_runs_at_once_process_each_master_once(project: Project) -> None:
    speech_video(project.masters / "a-talk.mp4", "Please talk to someone you trust.")
    silent_video(project.masters / "b-quiet.mp4", seconds=2)
    silent_video(project.masters / "c-still.mp4", seconds=2, size="240x320")
    env = {**os.environ, config.CONFIG_ENV: str(project.config_file)}
    runs = [subprocess.Popen([sys.executable, "-m", "pipeline", "run"], cwd=project.root, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [(proc.communicate(timeout=300), proc.returncode) for proc in runs]
    assert [code for _, code in results] == [0, 0], results

    processed = [int(out.split(" processed")[0].rsplit(" ", 1)[-1]) for (out, _), _ in results]
    assert sum(processed) == 3, results
    catalog = Catalog.open(project.settings().state_dir)
    for asset in catalog.list_assets():
        assert asset.state is AssetState.AWAITING_REVIEW
        assert [e.state for e in catalog.events(asset.id)].count(AssetState.PROCESSING) == 1, asset.source
        assert catalog.lease(asset.id) is None
    assert len(list((project.root / "state" / "logs").glob("*-run-*.log"))) == 2
    _catalog_is_sound(project)


def test_leases_are_claimed_once_and_taken_over_from_the_dead(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path)
    asset = catalog.add_asset("ab" * 32, "x.mp4", 1)
    later = now() + timedelta(minutes=2)
    assert catalog.claim(asset.id, "me", later, runner.RUNNABLE)
    assert not catalog.claim(asset.id, "other", later, runner.RUNNABLE)
    assert catalog.claim(asset.id, "other", later, runner.RUNNABLE, take_from="me")
    assert not catalog.renew_lease(asset.id, "me", later)
    catalog.release_lease(asset.id, "me")  # not mine any more: nothing happens
    assert catalog.lease(asset.id) == ("other", later)
    catalog.claim(asset.id, "other", now() - timedelta(seconds=1), runner.RUNNABLE)
    assert catalog.claim(asset.id, "third", later, runner.RUNNABLE)  # the lease ran out
    catalog.release_lease(asset.id, "third")
    catalog.set_state(asset.id, AssetState.FAILED, error="x")
    assert not catalog.claim(asset.id, "me", later, frozenset({AssetState.NEW}))  # only while runnable
    me = runner.lease_owner()
    assert not runner.holder_is_dead(me)
    assert runner.holder_is_dead(me.replace(f":{os.getpid()}:", ":999999999:"))
    assert not runner.holder_is_dead("another-machine:1:abcd")


class _Thief:
    """A reporter that, while the proxy is made, lets another run take the asset over, as if this run's
    laptop had slept past its lease."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog, self.asset_id = catalog, ""

    def asset_started(self, master: Path, asset: Asset, index: int, total: int) -> None:
        self.asset_id = asset.id

    def stage_progress(self, stage: str, fraction: float, media_ms: int | None = None) -> None:
        found = self.catalog.lease(self.asset_id)
        if stage == "proxy" and fraction >= 1.0 and found and found[0] != "other-host:1:run":
            assert self.catalog.claim(self.asset_id, "other-host:1:run", now() + timedelta(minutes=2),
                                      runner.RUNNABLE, take_from=found[0])

    def asset_finished(self, outcome: runner.Outcome) -> None:
        pass


def test_a_run_that_lost_its_lease_leaves_the_asset_alone(project: Project) -> None:
    master = silent_video(project.masters / "clip.mp4", seconds=1)
    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    [outcome] = runner.Runner(settings, catalog, _Thief(catalog)).run([master])
    assert outcome.error is None and outcome.note and "taken over by another run" in outcome.note
    assert "process 1 on other-host" in outcome.note
    [asset] = catalog.list_assets()
    assert asset.state is AssetState.PROCESSING  # left for the run that holds it
    held = catalog.lease(asset.id)
    assert held is not None and held[0] == "other-host:1:run"
    assert catalog.caption_tracks(asset.id) == []  # the caption stage never ran


# -- storage faults ------------------------------------------------------------------------------------------


def _no_speech_asset(settings: config.Settings, catalog: Catalog) -> str:
    asset = catalog.add_asset("cd" * 32, "quiet.mp4", 1)
    catalog.set_state(asset.id, AssetState.PROCESSING)
    vtt.write_vtt(settings.output_dir / asset.id / "captions.en.vtt", [])
    catalog.put_caption_track(CaptionTrack(asset.id, "en", "captions.en.vtt", CaptionState.NO_SPEECH, 0,
                                           "faster-whisper", "tiny.en", None, None))
    # A finished ladder of one rung: publish waits for the ladder (#19).
    silent_video(settings.output_dir / asset.id / "video_240p.mp4", seconds=1)
    catalog.replace_renditions(asset.id, [Rendition(asset.id, "mp4-240p", RenditionKind.MP4, "video_240p.mp4", 320,
                                                    240, (settings.output_dir / asset.id / "video_240p.mp4")
                                                    .stat().st_size)])
    catalog.set_state(asset.id, AssetState.AWAITING_REVIEW)
    # Published only once a reviewer decides it needs no captions (#15).
    review.approve(settings, catalog, catalog.get(asset.id), "Ann", no_speech=True)
    return asset.id


def _storage_config(project: Project, original: str, endpoint: str, secret: str) -> None:
    project.config_file.write_text(original.replace(
        "[storage]\n", f'[storage]\nendpoint = "{endpoint}"\naccess_key_id = "AKIAPIPELINETEST"\n'
                       f'secret_access_key = "{secret}"\n'))


def test_storage_down_or_refusing_is_one_clear_line_and_a_later_publish_works(project: Project) -> None:
    settings = project.settings()
    asset_id = _no_speech_asset(settings, Catalog.open(settings.state_dir))
    original = project.config_file.read_text()
    secret = "SECRET-do-not-log-5b1e"
    closed = f"http://127.0.0.1:{free_storage_ports()['embedded_s3_port']}"
    _storage_config(project, original, closed, secret)
    down = project.cli("publish", asset_id)
    assert down.returncode == 1 and down.stderr.count("\n") == 1, down.stderr
    assert f"storage at {closed} is unreachable" in down.stderr and "run the command again" in down.stderr
    assert (project.root / "state" / "publish-verify" / asset_id).exists()  # the next publish reads back (#16)

    project.config_file.write_text(original)
    project.cli("storage", "start", check=True)
    live = f"http://127.0.0.1:{project.ports['embedded_s3_port']}"
    _storage_config(project, original, live, secret)
    refused = project.cli("publish", asset_id)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert f"storage at {live} refused the credentials" in refused.stderr
    assert project.cli_json("status")[0]["state"] == "approved"

    project.config_file.write_text(original)
    [published] = project.cli_json("publish", asset_id)
    assert published["uploaded_objects"] >= 2
    assert project.cli_json("status")[0]["state"] == "published"
    assert not (project.root / "state" / "publish-verify" / asset_id).exists()
    for text in (down.stderr, down.stdout, refused.stderr, refused.stdout,
                 *(p.read_text() for p in (project.root / "state" / "logs").iterdir())):
        assert secret not in text
    assert json.dumps(secret) not in project.config_file.read_text()


def test_log_lines_lose_their_secrets() -> None:
    from pipeline import logs

    record = logging.LogRecord("pipeline", logging.DEBUG, __file__, 1, "fetched %s with %s",
                               ("https://s3.example/b/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=9f8e7d&x=1",
                                "s3cr3t-key"), None)
    assert logs.Redact(["s3cr3t-key", ""]).filter(record)
    assert record.getMessage() == ("fetched https://s3.example/b/k?X-Amz-Credential=[redacted]&"
                                   "X-Amz-Signature=[redacted]&x=1 with [redacted]")


def test_cluster_passwords_are_secrets(tmp_path: Path) -> None:
    from pipeline import config, logs

    settings = config.parse({"cluster": {"mode": "distributed", "broker": "redis://:br0ker-pw@q.internal:6379/0",
                                         "catalog": "postgresql+psycopg://p:cat4log-pw@db.internal/pipeline"},
                             "storage": {"endpoint": "http://s3.internal:8333"}}, tmp_path)
    assert {"br0ker-pw", "cat4log-pw"} <= set(logs.secrets(settings))
