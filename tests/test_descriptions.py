"""Audio description (#21): reviewers write it through the API (revisions, merging, approval), the espeak-ng
voice speaks it, the programme is ducked under it in a loudness-normalised mix, and publishing offers it as an
alternate HLS audio rendition, a described MP4 and a WebVTT file; a video without approved descriptions is
published without them. One 10-second programme (speech, then a 3 kHz tone under everything), transcoded once.
"""

from __future__ import annotations

import html
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.descriptions import track
from pipeline.distribution import publish
from pipeline.models import Cue, RenditionKind
from pipeline.storage import open_store
from pipeline.storage.embedded import EmbeddedStorage
from pipeline.web.app import create_app
from tests.conftest import Project, make_project, publish_and_share, review_client, reviewed_asset

TONE = "bandpass=f=3000:width_type=q:w=20"  # the programme's tone alone
NO_TONE = "bandreject=f=3000:width_type=q:w=5"  # everything but it: the voice


@dataclass
class Described:
    project: Project
    settings: Settings
    catalog: Catalog
    asset_id: str
    page_without: str  # the share page as published before any description existed
    url_with: str  # the same link, its page rewritten by the publish after the descriptions were approved
    api: Any  # answers of the API calls, by name


def _page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 (a signed URL on 127.0.0.1)
        return str(answer.read().decode())


@pytest.fixture(scope="module")
def described(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Described]:
    project = make_project(tmp_path_factory.mktemp("described") / "project")
    try:
        asset = reviewed_asset(project)
        url_without = publish_and_share(project, asset.id)
        page_without = _page(url_without)  # before: publishing rewrites the pages of active links
        settings = project.settings()
        catalog = Catalog.open(settings.state_dir)
        app = create_app(settings, catalog)
        client = review_client(app)
        csrf = {"X-CSRF-Token": app.state.guard.csrf_token}
        base = f"/api/assets/{asset.id}/descriptions/en"
        answers: dict[str, Any] = {"empty": client.get(base).json()}
        into_speech = client.put(base, headers=csrf, json={"base_revision": None, "author": "Ann Example", "changes": [
            {"id": "d0", "cue": {"start_ms": 1000, "end_ms": 1500, "text": "A girl waves."}}]})
        answers["into_speech"] = into_speech.json()
        changes = [{"id": "d0", "cue": None}] + [
            {"id": f"d{i}", "cue": {"start_ms": c.start_ms, "end_ms": c.end_ms, "text": c.text}}
            for i, c in enumerate([Cue(3200, 3201, "A girl opens a laptop."),
                                   Cue(6500, 6501, "On screen: ask for help.")], start=1)]
        answers["saved"] = client.put(base, headers=csrf, json={"base_revision": 1, "author": "Ann Example",
                                                                "changes": changes}).json()
        # Bo, still on revision 1, rewrites the description Ann deleted: both changed it, so nothing is saved.
        answers["conflict"] = client.put(base, headers=csrf, json={"base_revision": 1, "author": "Bo", "changes": [
            {"id": "d0", "cue": {"start_ms": 1000, "end_ms": 1500, "text": "A girl waves twice."}}]})
        answers["approved"] = client.post(f"{base}/approve", headers=csrf, json={"reviewer": "Cy Reviewer"}).json()
        answers["loaded"] = client.get(base).json()
        answers["vtt"] = client.get(f"{base}.vtt").text
        answers["revisions"] = client.get(f"{base}/revisions").json()
        answers["events"] = client.get(f"/api/assets/{asset.id}/events").json()
        publish.publish(settings, catalog, open_store(settings), catalog.get(asset.id))  # rewrites the link's page
        yield Described(project, settings, catalog, asset.id, page_without, url_without, answers)
    finally:
        EmbeddedStorage(project.settings()).stop()


def test_the_api_keeps_revisions_measures_speech_and_sets_each_end_by_the_voice(described: Described) -> None:
    api = described.api
    assert api["empty"]["state"] == "none" and api["empty"]["revision"] is None and api["empty"]["cues"] == []
    assert api["empty"]["voice"] == {"engine": "espeak-ng", "voice": "en", "rate_wpm": 160}
    [(start, end)] = api["empty"]["speech"]  # the programme's greeting, found by voice activity detection
    assert start < 500 and 1500 < end < 3200
    [waves] = api["into_speech"]["cues"]
    assert waves["overlaps_speech"] is True and waves["end_ms"] == 1000 + waves["spoken_ms"] != 1500
    assert 500 < waves["spoken_ms"] < 2500
    saved = api["saved"]["cues"]
    assert [c["text"] for c in saved] == ["A girl opens a laptop.", "On screen: ask for help."]
    assert not any(c["overlaps_speech"] for c in saved)
    assert all(c["end_ms"] - c["start_ms"] == c["spoken_ms"] > 800 for c in saved)
    assert api["conflict"].status_code == 409
    conflict = api["conflict"].json()
    assert [c["id"] for c in conflict["conflicts"]] == ["d0"] and conflict["current_revision"] == 2


def test_approval_is_recorded_with_its_revision_reviewer_and_event(described: Described) -> None:
    api = described.api
    assert api["approved"]["state"] == "approved" and api["approved"]["reviewer"] == "Cy Reviewer"
    loaded = api["loaded"]
    assert loaded["state"] == "approved" and loaded["revision"]["number"] == 2
    assert [r["number"] for r in api["revisions"]] == [2, 1]
    assert any("audio description revision 2 approved by Cy Reviewer" in (e["detail"] or "") for e in api["events"])
    assert "A girl opens a laptop." in api["vtt"] and "00:00:03.200 --> " in api["vtt"]


def test_the_master_playlist_offers_the_described_rendition_beside_the_programme(described: Described) -> None:
    master = (described.settings.output_dir / described.asset_id / "hls" / "master.m3u8").read_text()
    media = [line for line in master.splitlines() if line.startswith("#EXT-X-MEDIA:TYPE=AUDIO")]
    assert media == [
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,'
        'CHANNELS="2",URI="audio/stream.m3u8"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English, described",LANGUAGE="en",DEFAULT=NO,'
        'AUTOSELECT=NO,CHARACTERISTICS="public.accessibility.describes-video",CHANNELS="2",'
        'URI="audio_described_en/stream.m3u8"']
    assert all('AUDIO="audio"' in line for line in master.splitlines() if line.startswith("#EXT-X-STREAM-INF"))
    # The share link's own copy points at signed copies of both audio playlists.
    found = re.search(r'data-hls="([^"]+)"', _page(described.url_with))
    assert found is not None
    signed = _page(html.unescape(found.group(1)))
    audio = [line for line in signed.splitlines() if line.startswith("#EXT-X-MEDIA:TYPE=AUDIO")]
    assert len(audio) == 2 and "describes-video" in audio[1]
    assert all(re.search(r'URI="http://127\.0\.0\.1:\d+/[^"]+\.m3u8\?[^"]*Signature', line) for line in audio)
    described_playlist = _page(html.unescape(re.findall(r'URI="([^"]+)"', audio[1])[0]))
    assert "#EXTINF" in described_playlist and "Signature" in described_playlist  # its segments signed too


def _rms_db(path: Path, start_s: float, seconds: float, band: str) -> float:
    done = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-ss", f"{start_s:.3f}", "-t", f"{seconds:.3f}",
                           "-i", str(path), "-map", "0:a:0", "-af", f"{band},astats=measure_perchannel=none",
                           "-f", "null", "-"], capture_output=True, text=True, check=True)
    return float(re.findall(r"RMS level dB: (-?[\d.]+)", done.stderr)[-1])


def _integrated_lufs(path: Path) -> float:
    done = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0", "-af", "ebur128",
                           "-f", "null", "-"], capture_output=True, text=True, check=True)
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", done.stderr)[-1])


def test_the_mix_ducks_the_programme_under_each_description_only_and_meets_the_loudness_target(
        described: Described) -> None:
    settings, out_dir = described.settings, described.settings.output_dir / described.asset_id
    mix = out_dir / "audio_described_en.m4a"
    programme = next(out_dir / r.path for r in described.catalog.renditions(described.asset_id)
                     if r.kind is RenditionKind.MP4)
    cues = [(c["start_ms"] / 1000, c["end_ms"] / 1000) for c in described.api["loaded"]["cues"]]
    ramp = settings.descriptions.ramp_ms / 1000
    duck = settings.descriptions.duck_db
    # Elsewhere: between the two descriptions' ramps, and after the second one's.
    elsewhere = [(cues[0][1] + ramp + 0.1, cues[1][0] - ramp - 0.1), (cues[1][1] + ramp + 0.1, 9.8)]
    kept = [_rms_db(mix, a, b - a, TONE) - _rms_db(programme, a, b - a, TONE) for a, b in elsewhere]
    assert all(abs(k) <= 1.0 for k in kept), kept  # unchanged, but for the final normalisation's gain
    for start, end in cues:
        during = (start + 0.1, min(end, 9.9) - start - 0.2)
        lowered = _rms_db(mix, *during, TONE) - _rms_db(programme, *during, TONE)
        assert abs(lowered - sum(kept) / len(kept) + duck) <= 1.0, (lowered, kept)
        assert _rms_db(mix, *during, NO_TONE) >= _rms_db(mix, *during, TONE) + 6  # the voice over the programme
    assert abs(_integrated_lufs(mix) - settings.transcode.loudness_lufs) <= 1.0
    described_mp4 = out_dir / "video_described_en.mp4"
    assert abs(_integrated_lufs(described_mp4) - settings.transcode.loudness_lufs) <= 1.0


def test_a_video_is_published_without_descriptions_and_its_page_says_so(described: Described) -> None:
    before = described.page_without
    assert "No audio description is available for this video." in before
    after = _page(described.url_with)
    assert "No audio description is available" not in after and "Audio description" in after
    assert "video_described_en.mp4" in after and "descriptions_en.vtt" in after


def test_cli_exports_imports_and_approves_and_a_draft_is_never_published(described: Described,
                                                                          tmp_path: Path) -> None:
    project, asset_id = described.project, described.asset_id
    exported = tmp_path / "descriptions.vtt"
    project.cli("descriptions", "export", asset_id, str(exported), check=True)
    text = exported.read_text()
    assert "A girl opens a laptop." in text and "On screen: ask for help." in text
    edited = tmp_path / "edited.vtt"
    edited.write_text(text.replace("opens a laptop", "closes a laptop"))
    made = project.cli_json("descriptions", "import", asset_id, str(edited), "--reviewer", "Di Writer")
    assert made["revision"] == 3 and made["descriptions"] == 2
    catalog = Catalog.open(described.settings.state_dir)
    assert catalog.description_track(asset_id, "en").state.value == "draft"  # type: ignore[union-attr]
    assert not [r for r in catalog.renditions(asset_id) if r.name.startswith("described-en")]
    master = (described.settings.output_dir / asset_id / "hls" / "master.m3u8").read_text()
    assert "describes-video" not in master  # a draft is not offered, nor published
    approved = project.cli_json("descriptions", "approve", asset_id, "--reviewer", "Cy Reviewer")
    assert approved["revision"] == 3 and approved["state"] == "approved" and approved["described_soundtrack"]
    assert "closes a laptop" in track.vtt_text(described.settings, catalog, catalog.get(asset_id), "en")


def test_export_writes_the_described_mp4_and_the_descriptions(described: Described, tmp_path: Path) -> None:
    from pipeline.distribution import export

    made = export.export(described.settings, described.catalog, described.catalog.get(described.asset_id),
                         tmp_path / "stick")
    assert {"video-with-audio-description.mp4", "descriptions.en.vtt"} <= set(made.files)
    assert "A girl" in (tmp_path / "stick" / "descriptions.en.vtt").read_text()
    described_mp4 = tmp_path / "stick" / "video-with-audio-description.mp4"
    assert abs(_integrated_lufs(described_mp4) - described.settings.transcode.loudness_lufs) <= 1.0


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 (a signed URL on 127.0.0.1)
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_revoking_the_link_stops_the_described_media_too(described: Described) -> None:
    from pipeline.distribution import share

    page = _page(described.url_with)
    described_urls = [html.unescape(u) for u in re.findall(r'href="([^"]+(?:video_described_en\.mp4|'
                                                            r'descriptions_en\.vtt)[^"]*)"', page)]
    assert len(described_urls) == 2 and all(_status(u) == 200 for u in described_urls)
    settings = described.settings
    share.revoke(settings, described.catalog, open_store(settings), described.url_with)
    deadline = time.monotonic() + 60  # as tests/test_share.py: the store reads its identities again at once
    while any(_status(u) != 403 for u in described_urls) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [_status(u) for u in described_urls] == [403, 403]
