"""Real ffmpeg on media generated at test time, checked with ffprobe."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pipeline import config
from pipeline.catalog import Catalog
from pipeline.errors import MediaError
from pipeline.media import ffmpeg, ladder
from pipeline.stages import ingest, transcode
from pipeline.stages.job import Job
from tests.media import silent_video


def ffprobe(path: Path) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("size", "cap", "expected"), [
    ((1920, 1080), 720, (1280, 720)),
    ((1080, 1920), 720, (720, 1280)),
    ((640, 480), 720, (640, 480)),
    ((720, 576), 360, (450, 360)),
    ((321, 241), 720, (320, 240)),
])
def test_target_size(size: tuple[int, int], cap: int, expected: tuple[int, int]) -> None:
    assert ladder.target_size(*size, cap) == expected


def _job(tmp_path: Path, master: Path) -> Job:
    settings = config.parse({"transcode": {"ladder": [240], "bitrates_kbps": [600]}}, tmp_path)
    catalog = Catalog.open(settings.state_dir)
    asset, _ = ingest.identify(master, settings, catalog)
    job = Job(asset, master, settings, catalog, lambda: None, lambda _f: None)  # type: ignore[arg-type,return-value]
    ingest.ingest(job)
    return job


def test_transcode_strips_metadata_and_writes_faststart_mp4_and_hls(tmp_path: Path) -> None:
    master = silent_video(tmp_path / "-leading dash.mov", seconds=5, size="640x360", audio=True, extra=(
        "-metadata", "location=+51.5074-000.1278/", "-metadata", "title=Secret place",
        "-metadata", "com.apple.quicktime.make=PhoneCo", "-metadata", "creation_time=2024-01-01T10:00:00Z"))
    assert "location" in json.dumps(ffprobe(master))
    job = _job(tmp_path, master)
    progress: list[float] = []
    job.on_progress = progress.append
    transcode.transcode(job)
    mp4 = job.out_dir / "video_240p.mp4"
    info = ffprobe(mp4)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 426, 240)
    assert (audio["codec_name"], audio["channels"]) == ("aac", 2)
    tags = json.dumps([info["format"].get("tags", {}), *(s.get("tags", {}) for s in info["streams"])]).lower()
    raw = mp4.read_bytes().lower()
    for leak in ("location", "51.5074", "secret place", "phoneco", "2024-01-01"):
        assert leak not in tags
        assert leak.encode() not in raw
    head = mp4.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))
    playlist = (job.out_dir / "hls" / "240p" / "stream.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and "#EXT-X-MAP:URI=\"init.mp4\"" in playlist
    assert "RESOLUTION=426x240" in (job.out_dir / "hls" / "master.m3u8").read_text()
    assert progress[0] == 0.0 and progress[-1] == 1.0 and progress == sorted(progress)
    assert not list(job.out_dir.rglob("*.partial*"))
    # The sound is its own HLS rendition since #21: the rung's segments hold the picture only.
    assert sorted(r.kind for r in job.catalog.renditions(job.asset.id)) == ["audio", "hls", "mp4", "poster",
                                                                             "thumbnail"]
    assert [s["codec_type"] for s in ffprobe(job.out_dir / "hls" / "240p" / "init.mp4")["streams"]] == ["video"]
    assert [s["codec_type"] for s in ffprobe(job.out_dir / "hls" / "audio" / "init.mp4")["streams"]] == ["audio"]


def test_video_without_audio_gives_video_only_rendition(tmp_path: Path) -> None:
    job = _job(tmp_path, silent_video(tmp_path / "mute.mp4", seconds=2))
    transcode.transcode(job)
    info = ffprobe(job.out_dir / "video_240p.mp4")
    assert [s["codec_type"] for s in info["streams"]] == ["video"]


def test_failed_encode_leaves_no_partial_file(tmp_path: Path) -> None:
    master = silent_video(tmp_path / "ok.mp4", seconds=2)
    job = _job(tmp_path, master)
    master.write_bytes(master.read_bytes()[:2000])  # truncated after probing
    with pytest.raises(MediaError, match="ok.mp4"):
        transcode.transcode(job)
    assert not job.out_dir.exists() or not any(job.out_dir.rglob("*"))


def test_probe_rejects_a_text_file_naming_it(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n")
    with pytest.raises(MediaError, match=r"notes\.mp4: not a readable video"):
        ffmpeg.probe(text)


def test_disguised_playlists_are_not_followed(tmp_path: Path) -> None:
    """A playlist or concat list named like a video must not make ffmpeg read another file."""
    secret = tmp_path / "secret.mp4"
    silent_video(secret, seconds=1)
    hls_trap = tmp_path / "trap.mp4"
    hls_trap.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile:{secret}\n#EXT-X-ENDLIST\n")
    concat_trap = tmp_path / "list.mov"
    concat_trap.write_text(f"ffconcat version 1.0\nfile '{secret}'\n")
    for trap in (hls_trap, concat_trap):
        with pytest.raises(MediaError, match=rf"{trap.name}: not a readable video"):
            ffmpeg.probe(trap)
