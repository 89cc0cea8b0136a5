"""The rendition ladder on real ffmpeg, checked with ffprobe on the outputs."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipeline import config, runner
from pipeline.captions import vtt
from pipeline.catalog import Catalog
from pipeline.distribution import burnin
from pipeline.errors import DiskSpaceError, PipelineError
from pipeline.media import ffmpeg, hls, ladder
from pipeline.models import AssetState, CaptionState, CaptionTrack, Cue
from pipeline.stages import ingest, playlists, transcode
from pipeline.stages.job import Job
from tests.media import phone_video

LADDER = {"ladder": [720, 480, 360], "bitrates_kbps": [1500, 800, 400]}
TAGS = {"location": "+51.5074-000.1278/", "com.apple.quicktime.location.ISO6709": "+51.5074-000.1278/",
        "com.apple.quicktime.make": "PhoneCo", "com.apple.quicktime.model": "Phone 15",
        "make": "PhoneCo", "model": "Phone 15", "title": "Secret place", "creation_time": "2024-01-01T10:00:00Z"}
LEAKS = ("51.5074", "phoneco", "phone 15", "secret place", "2024-01-01")


def ffprobe(path: Path, *extra: str) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", *extra, "-of", "json",
                          str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def run_transcode(tmp_path: Path, master: Path, **transcode_settings: Any) -> Job:
    settings = config.parse({"transcode": {**LADDER, **transcode_settings}}, tmp_path)
    catalog = Catalog.open(settings.state_dir)
    asset, _ = ingest.identify(master, settings, catalog)
    job = Job(asset, master, settings, catalog, lambda: None, lambda _f: None)  # type: ignore[arg-type,return-value]
    ingest.ingest(job)
    job.refresh()
    transcode.transcode(job)
    return job


def video_sizes(job: Job) -> dict[str, tuple[int, int]]:
    return {p.name: (s["width"], s["height"]) for p in sorted(job.out_dir.glob("video_*.mp4"))
            for s in ffprobe(p)["streams"] if s["codec_type"] == "video"}


def test_ladder_plan_never_upscales() -> None:
    assert ladder.plan(1920, 1080, (1080, 720), (5000, 3000)) == [ladder.Rung(1920, 1080, 5000),
                                                                  ladder.Rung(1280, 720, 3000)]
    assert ladder.plan(720, 1280, (1080, 720, 480), (1, 2, 3)) == [ladder.Rung(720, 1280, 2),
                                                                   ladder.Rung(480, 854, 3)]
    assert ladder.plan(320, 240, (1080, 720), (5000, 3000)) == [ladder.Rung(320, 240, 3000)]


def test_landscape_master(tmp_path: Path) -> None:
    job = run_transcode(tmp_path, phone_video(tmp_path / "land.mp4", "1280x720", noise=True, tags=TAGS))
    assert video_sizes(job) == {"video_360p.mp4": (640, 360), "video_480p.mp4": (854, 480),
                                "video_720p.mp4": (1280, 720)}

    # Bitrate caps: what the VBV model allows (maxrate over the duration plus one buffer), within 5 %, and the
    # encoder really is pushed against the cap by the noisy picture.
    for name, cap in (("720p", 1500), ("480p", 800), ("360p", 400)):
        video = next(s for s in ffprobe(job.out_dir / f"video_{name}.mp4")["streams"] if s["codec_type"] == "video")
        rung = ladder.Rung(1, 1, cap)
        allowed = (rung.maxrate_kbps * 6 + rung.bufsize_kbps) / 6 * 1000 * 1.05
        assert cap * 1000 * 0.7 < int(video["bit_rate"]) <= allowed, (name, video["bit_rate"])

    # Keyframes every 2 s, at the same times in every rung.
    times = {name: ffmpeg.keyframe_times(job.out_dir / name) for name in video_sizes(job)}
    assert len(set(map(tuple, times.values()))) == 1
    assert next(iter(times.values())) == [0.0, 2.0, 4.0]

    # HLS: a media playlist per rung with 4 s fMP4 segments, and a master playlist that tells the truth.
    master = (job.out_dir / "hls" / "master.m3u8").read_text()
    variants = re.findall(r"#EXT-X-STREAM-INF:(.*)\n(.*)", master)
    assert [uri for _, uri in variants] == ["720p/stream.m3u8", "480p/stream.m3u8", "360p/stream.m3u8"]
    # The sound is one audio rendition every variant names (#21): a variant's figures add its bit rate.
    assert '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES' in master
    audio_peak, audio_average = hls.measured_bandwidth(job.out_dir / "hls" / "audio" / "stream.m3u8")
    assert 0 < audio_average <= audio_peak
    for attributes, uri in variants:
        peak, average = hls.measured_bandwidth(job.out_dir / "hls" / uri)
        assert f"BANDWIDTH={peak + audio_peak}," in attributes
        assert f"AVERAGE-BANDWIDTH={average + audio_average}," in attributes and 'AUDIO="audio"' in attributes
        assert re.search(r'CODECS="avc1\.6400[0-9a-f]{2},mp4a\.40\.2"', attributes)
        assert "FRAME-RATE=30.000" in attributes
        media = (job.out_dir / "hls" / uri).read_text()
        assert "#EXT-X-TARGETDURATION:4" in media and '#EXT-X-MAP:URI="init.mp4"' in media
    assert "RESOLUTION=1280x720" in variants[0][0]


def test_metadata_never_reaches_an_output(tmp_path: Path) -> None:
    master = phone_video(tmp_path / "tagged.mov", "640x360", seconds=3, tags=TAGS, timecode="10:11:12:13")
    assert "51.5074" in json.dumps(ffprobe(master))
    assert "data" in [s["codec_type"] for s in ffprobe(master)["streams"]]  # the timecode track
    job = run_transcode(tmp_path, master)
    outputs = [p for p in job.out_dir.rglob("*") if p.is_file()]
    assert len(outputs) >= 6  # MP4, HLS init, segments and playlists, poster, thumbnail
    for path in outputs:
        raw = path.read_bytes().lower()
        for leak in LEAKS:
            assert leak.encode() not in raw, f"{leak} in {path}"
    for path in job.out_dir.glob("video_*.mp4"):
        info = ffprobe(path)
        assert [s["codec_type"] for s in info["streams"]] == ["video", "audio"]  # no data or timecode streams
        tags = [info["format"].get("tags", {}), *(s.get("tags", {}) for s in info["streams"])]
        assert not any(key in t for t in tags for key in ("location", "title", "creation_time", "make", "model"))


def test_rotated_portrait_phone_master(tmp_path: Path) -> None:
    master = phone_video(tmp_path / "phone.mp4", "1280x720", seconds=3, rotate=90, audio="mono")
    assert ffmpeg.probe(master).rotation in (90, 270)
    job = run_transcode(tmp_path, master)
    assert video_sizes(job) == {"video_360p.mp4": (360, 640), "video_480p.mp4": (480, 854),
                                "video_720p.mp4": (720, 1280)}
    for path in job.out_dir.glob("video_*.mp4"):
        info = ffprobe(path)
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
        assert not video.get("side_data_list"), "rotation must be applied, not carried"
        assert video["sample_aspect_ratio"] in ("1:1", "N/A") or "sample_aspect_ratio" not in video
        assert audio["channels"] == 2


def test_sd_4_3_master_with_surround_sound(tmp_path: Path) -> None:
    master = phone_video(tmp_path / "sd.mp4", "640x480", seconds=3, rate=60, audio="5.1")
    job = run_transcode(tmp_path, master)
    assert video_sizes(job) == {"video_360p.mp4": (480, 360), "video_480p.mp4": (640, 480)}
    for path in job.out_dir.glob("video_*.mp4"):
        info = ffprobe(path)
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        assert video["avg_frame_rate"] == "30/1"  # capped by [transcode] max_fps
        assert next(s for s in info["streams"] if s["codec_type"] == "audio")["channels"] == 2


def integrated_loudness(path: Path) -> float:
    out = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-i", str(path), "-map", "0:a", "-af", "ebur128",
                          "-f", "null", "-"], capture_output=True, text=True, check=True).stderr
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", out)[-1])


@pytest.mark.parametrize("target", [-16.0, -23.0])
def test_loudness_is_normalised_to_the_target(tmp_path: Path, target: float) -> None:
    master = phone_video(tmp_path / "quiet.mp4", "320x240", seconds=8)
    assert integrated_loudness(master) < target - 5
    job = run_transcode(tmp_path, master, loudness_lufs=target)
    assert job.catalog.get(job.asset.id).loudness_lufs == pytest.approx(integrated_loudness(master), abs=0.5)
    for path in job.out_dir.glob("video_*.mp4"):
        assert integrated_loudness(path) == pytest.approx(target, abs=1.0)


def test_poster_is_not_black_and_thumbnail_is_small(tmp_path: Path) -> None:
    master = phone_video(tmp_path / "fade.mp4", "640x360", seconds=6)
    job = run_transcode(tmp_path, master)
    poster = ffprobe(job.out_dir / "poster.jpg")["streams"][0]
    thumb = ffprobe(job.out_dir / "thumbnail.jpg")["streams"][0]
    assert (poster["width"], poster["height"]) == (640, 360)
    assert (thumb["width"], thumb["height"]) == (320, 180)
    stats = subprocess.run(["ffprobe", "-v", "error", "-f", "lavfi", "-i",
                            f"movie={job.out_dir / 'poster.jpg'},signalstats", "-show_entries",
                            "frame_tags=lavfi.signalstats.YAVG", "-of", "csv=p=0"],
                           capture_output=True, text=True, check=True).stdout
    assert float(stats.strip()) > 40


def _luma(image: Path) -> float:
    stats = subprocess.run(["ffprobe", "-v", "error", "-f", "lavfi", "-i", f"movie={image},signalstats",
                            "-show_entries", "frame_tags=lavfi.signalstats.YAVG", "-of", "csv=p=0"],
                           capture_output=True, text=True, check=True).stdout
    return float(stats.strip())


def test_a_black_opening_sends_the_poster_further_in(tmp_path: Path) -> None:
    """The encode's own poster (a third of the way in) is black here: it is looked for again in the MP4,
    half-way, and the thumbnail is the same frame."""
    master = tmp_path / "dark.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=black:s=320x240:r=25:d=5", "-f",
                    "lavfi", "-i", "testsrc2=s=320x240:r=25:d=4", "-filter_complex", "[0][1]concat=n=2:v=1[v]",
                    "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(master)],
                   check=True)
    job = run_transcode(tmp_path, master, ladder=[240], bitrates_kbps=[400])
    assert _luma(job.out_dir / "poster.jpg") > 40
    assert _luma(job.out_dir / "thumbnail.jpg") == pytest.approx(_luma(job.out_dir / "poster.jpg"), abs=3)


def test_a_picture_that_ends_before_the_sound_still_gets_a_poster(tmp_path: Path) -> None:
    """Two seconds of picture, twelve of sound: a third of the way in there is no picture for the encode's
    poster, which is then looked for nearer the start; no partial image is left."""
    master = tmp_path / "short-picture.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", "-f",
                    "lavfi", "-i", "sine=frequency=300:sample_rate=48000:duration=12", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(master)], check=True)
    job = run_transcode(tmp_path, master, ladder=[240], bitrates_kbps=[400])
    assert _luma(job.out_dir / "poster.jpg") > 40
    assert ffprobe(job.out_dir / "thumbnail.jpg")["streams"][0]["width"] == 320
    assert not [p for p in job.out_dir.rglob("*") if ".partial" in p.name]


def _playlists(folder: Path) -> dict[str, list[float]]:
    return {str(p.relative_to(folder)): [float(d) for d in re.findall(r"#EXTINF:([\d.]+),", p.read_text())]
            for p in sorted(folder.glob("*/stream.m3u8"))}


def test_an_output_folder_the_tee_muxer_cannot_name_gets_its_hls_from_the_mp4s(tmp_path: Path) -> None:
    """HLS is written by the ladder's encode through the tee muxer (#20), whose slave list gives `:` `|` `[`
    and quotes a meaning; under a folder named with one, a second run packages it from the MP4s, the same."""
    master = phone_video(tmp_path / "talk.mp4", "640x360", seconds=9)
    plain = run_transcode(tmp_path / "plain", master, ladder=[360, 240], bitrates_kbps=[800, 400])
    odd_settings = tmp_path / "odd: [1|2]"
    odd = run_transcode(odd_settings, master, ladder=[360, 240], bitrates_kbps=[800, 400])
    assert ":" in str(odd.out_dir)
    for job in (plain, odd):
        hls_dir = job.out_dir / "hls"
        assert set(_playlists(hls_dir)) == {"360p/stream.m3u8", "240p/stream.m3u8", "audio/stream.m3u8"}
        for playlist in hls_dir.glob("*/stream.m3u8"):
            assert playlist.read_text().rstrip().endswith("#EXT-X-ENDLIST")
            for segment in re.findall(r"^(segment_\d{5}\.m4s)$", playlist.read_text(), re.M):
                assert (playlist.parent / segment).stat().st_size > 0
    for (name, ours), theirs in zip(_playlists(plain.out_dir / "hls").items(),
                                    _playlists(odd.out_dir / "hls").values(), strict=True):
        assert ours == pytest.approx(theirs, abs=0.05), name
    assert (plain.out_dir / "hls" / "master.m3u8").read_text().count("#EXT-X-STREAM-INF") == 2
    assert (odd.out_dir / "hls" / "master.m3u8").read_text().count("#EXT-X-STREAM-INF") == 2


def test_subtitles_group_follows_the_captions(tmp_path: Path) -> None:
    job = run_transcode(tmp_path, phone_video(tmp_path / "talk.mp4", "640x360", seconds=3))
    assert "SUBTITLES" not in (job.out_dir / "hls" / "master.m3u8").read_text()
    vtt.write_vtt(job.out_dir / "captions.en.vtt", [Cue(0, 1500, "Hello")])
    job.catalog.put_caption_track(CaptionTrack(job.asset.id, "en", "captions.en.vtt", CaptionState.DRAFT, 1,
                                               "faster-whisper", "tiny.en", None, None))
    playlists.rebuild(job.out_dir, job.catalog, job.asset.id)
    master = (job.out_dir / "hls" / "master.m3u8").read_text()
    assert ('#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=YES,'
            'AUTOSELECT=YES,FORCED=NO,URI="captions_en.m3u8"') in master
    assert all('SUBTITLES="subs"' in line for line in master.splitlines() if line.startswith("#EXT-X-STREAM-INF"))
    playlist = (job.out_dir / "hls" / "captions_en.m3u8").read_text()
    assert "#EXTINF:3.000,\ncaptions_en.vtt" in playlist
    served = (job.out_dir / "hls" / "captions_en.vtt").read_text()
    assert served.startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:") and "Hello" in served
    # An edit to the captions shows up in the HLS copy when the playlists are rebuilt.
    vtt.write_vtt(job.out_dir / "captions.en.vtt", [Cue(0, 1500, "Hello, edited")])
    playlists.rebuild(job.out_dir, job.catalog, job.asset.id)
    assert "Hello, edited" in (job.out_dir / "hls" / "captions_en.vtt").read_text()


def _first_frame_md5(path: Path, at: str = "1.0") -> str:
    out = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-ss", at, "-i", str(path), "-map", "0:v",
                          "-frames:v", "1", "-f", "framemd5", "-"], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1].split(",")[-1].strip()


def test_burned_in_captions_follow_the_approved_text(tmp_path: Path) -> None:
    job = run_transcode(tmp_path, phone_video(tmp_path / "talk.mp4", "640x360", seconds=3),
                        burn_in_captions=True)
    assert burnin.burn_in(job.settings, job.catalog, job.asset) is None  # nothing approved yet
    vtt.write_vtt(job.out_dir / "captions.en.vtt", [Cue(0, 3000, "CAPTIONS ON THE PICTURE")])
    job.catalog.put_caption_track(CaptionTrack(job.asset.id, "en", "captions.en.vtt", CaptionState.APPROVED, 1,
                                               "faster-whisper", "tiny.en", "Ann", None))
    burned = burnin.burn_in(job.settings, job.catalog, job.asset)
    assert burned is not None and burned.path == "video_360p_captions.mp4"
    out = job.out_dir / burned.path
    assert video_sizes(job)["video_360p_captions.mp4"] == (640, 360)
    assert _first_frame_md5(out) != _first_frame_md5(job.out_dir / "video_360p.mp4")
    assert [s["codec_type"] for s in ffprobe(out)["streams"]] == ["video", "audio"]
    first = out.stat().st_mtime_ns
    assert burnin.burn_in(job.settings, job.catalog, job.asset) is not None
    assert out.stat().st_mtime_ns == first  # unchanged captions: not made again


def test_burn_in_runs_like_a_transcode_disk_checked_under_the_lease_with_progress(tmp_path: Path) -> None:
    job = run_transcode(tmp_path, phone_video(tmp_path / "talk.mp4", "640x360", seconds=3), burn_in_captions=True)
    vtt.write_vtt(job.out_dir / "captions.en.vtt", [Cue(0, 3000, "CAPTIONS ON THE PICTURE")])
    job.catalog.put_caption_track(CaptionTrack(job.asset.id, "en", "captions.en.vtt", CaptionState.APPROVED, 1,
                                               "faster-whisper", "tiny.en", "Ann", None))
    target = job.out_dir / "video_360p_captions.mp4"
    # Another live process holds the asset (this test's own pid is alive): burn-in waits its turn, makes nothing.
    holder = f"{runner.lease_owner().rsplit(':', 1)[0]}:other"
    assert job.catalog.claim(job.asset.id, holder, runner.lease_until(), frozenset(AssetState))
    with pytest.raises(PipelineError, match=r"being worked on by process \d+ on .*publish it again"):
        burnin.burn_in(job.settings, job.catalog, job.asset)
    assert not target.exists()
    job.catalog.release_lease(job.asset.id, holder)
    # Not enough room for the copy and [limits] min_free_mb: refused before ffmpeg starts, naming the setting.
    crowded = dataclasses.replace(job.settings, limits=dataclasses.replace(job.settings.limits,
                                                                           min_free_mb=10**12))
    with pytest.raises(DiskSpaceError, match=r"min_free_mb"):
        burnin.burn_in(crowded, job.catalog, job.asset)
    assert not target.exists()
    seen: list[float] = []
    assert burnin.burn_in(job.settings, job.catalog, job.asset, seen.append) is not None
    assert seen[0] == 0.0 and seen[-1] == 1.0 and len(seen) > 2
    assert job.catalog.lease(job.asset.id) is None  # released
    assert (job.catalog.get(job.asset.id).stage, job.catalog.get(job.asset.id).progress) == (None, None)
