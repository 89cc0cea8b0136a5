"""Publishing and share links against the embedded SeaweedFS, with the share page played in Debian's
Chromium through Playwright."""

from __future__ import annotations

import dataclasses
import hashlib
import html
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from pipeline.captions import vtt
from pipeline.catalog import Catalog
from pipeline.distribution import share
from pipeline.models import Cue
from pipeline.review import editing
from pipeline.storage.embedded import EmbeddedStorage
from tests.conftest import Project, make_project
from tests.media import sample_master, silent_video, speech_video


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, str]]:
    project = make_project(tmp_path_factory.mktemp("share") / "project")
    sample_master(project.masters / "sample.mp4")
    project.cli("run", check=True)
    [asset] = project.cli_json("status")
    project.cli("approve", asset["id"], "--reviewer", "Ann Example", "--reason", "checked by ear", check=True)
    project.cli_json("publish")
    yield project, asset["id"]
    EmbeddedStorage(project.settings()).stop()


def _play(browser: Browser, url: str) -> dict[str, Any]:
    page = browser.new_page()
    try:
        page.goto(url)
        page.evaluate("const v = document.getElementById('player'); v.muted = true; v.play()")
        page.wait_for_function("document.getElementById('player').currentTime > 1.5", timeout=30000)
        return page.evaluate("""() => {
            const v = document.getElementById('player');
            return {playback: document.body.dataset.playback, time: v.currentTime,
                    cues: Array.from(v.textTracks[0].cues || []).map(c => c.text),
                    mode: v.textTracks[0].mode,
                    transcript: Array.from(document.querySelectorAll('ol.transcript li a')).map(a => a.textContent),
                    notice: document.querySelector('.reviewed, .notice').textContent};
        }""")
    finally:
        page.close()


def test_share_page_plays_adaptive_hls_with_the_approved_captions(published: tuple[Project, str],
                                                                  browser: Browser) -> None:
    project, asset_id = published
    link = project.cli_json("share", asset_id, "--audience", "Year 9 parents", "--expires", "1h")
    played = _play(browser, link["url"])
    approved = vtt.read_vtt(project.root / "output" / asset_id / "captions.en.vtt")
    assert played["playback"] == "hls" and played["time"] > 1.5
    assert played["mode"] == "hidden"  # the page draws the cues itself (tests/test_share_phone.py)
    assert played["cues"] == [c.text for c in approved] and len(approved) >= 2
    assert [" ".join(t.split()) for t in played["transcript"]] == [" ".join(c.text.split()) for c in approved]
    assert "Captions checked by a person." in played["notice"] and "Ann" not in played["notice"]  # by default

    listed = project.cli_json("share", asset_id, "--list")
    assert [(row["audience"], row["active"]) for row in listed] == [("Year 9 parents", True)]
    assert listed[0]["created_by"]


def _segment_url(page_url: str) -> str:
    """A signed media segment address, found as the player finds it: page -> master -> variant playlist."""
    with urllib.request.urlopen(page_url, timeout=30) as response:
        page = response.read().decode()
    master = html.unescape(re.search(r'data-hls="([^"]+)"', page)[1])  # type: ignore[index]
    with urllib.request.urlopen(master, timeout=30) as response:
        variant = next(line for line in response.read().decode().splitlines() if line.startswith("http"))
    with urllib.request.urlopen(variant, timeout=30) as response:
        return next(line for line in response.read().decode().splitlines() if ".m4s" in line)


def test_revoked_link_stops_at_once_media_included(published: tuple[Project, str]) -> None:
    project, asset_id = published
    link = project.cli_json("share", asset_id)
    kept = project.cli_json("share", asset_id)
    media = [link["video_url"], link["captions_url"], _segment_url(link["url"])]
    assert _status(link["url"]) == 200 and all(_status(url) == 200 for url in media)
    done = project.cli("share", "--revoke", link["url"], check=True)
    assert "every video, segment and caption address on it now answer 403" in done.stdout
    assert _status(link["url"]) in (403, 404)
    deadline = time.monotonic() + 60  # the bound; the store reads its identities again at once
    while any(_status(url) != 403 for url in media) and time.monotonic() < deadline:
        time.sleep(1)
    assert [_status(url) for url in media] == [403, 403, 403]
    assert _status(kept["video_url"]) == 200 and _status(kept["url"]) == 200  # another link is untouched
    [row] = [r for r in project.cli_json("share", asset_id, "--list") if r["link_id"] == link["link_id"]]
    assert row["revoked_at"] and not row["active"]
    other = project.cli_json("share", asset_id)
    project.cli("share", "--revoke", other["link_id"], check=True)
    assert _status(other["url"]) in (403, 404)


def test_republish_uploads_nothing_and_a_caption_edit_only_what_depends_on_captions(
        published: tuple[Project, str]) -> None:
    project, asset_id = published
    [again] = project.cli_json("publish")
    assert again["uploaded_objects"] == 0 and again["skipped_objects"] > 10

    before_edit = project.cli_json("share", asset_id)
    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    cues = vtt.read_vtt(settings.output_dir / asset_id / "captions.en.vtt")
    edited = [Cue(c.start_ms, c.end_ms, c.text.replace("short film", "short video")) for c in cues]
    editing.save(settings, catalog, catalog.get(asset_id), "en", None, "Ann Example", edited)
    assert project.cli_json("status")[0]["state"] == "awaiting_review"
    project.cli("approve", asset_id, "--reviewer", "Ann Example", "--reason", "checked by ear", check=True)
    [after_edit] = project.cli_json("publish")
    caption_dependent = {"captions.en.vtt", "hls/captions_en.vtt", "hls/captions_en.m3u8", "hls/master.m3u8",
                         "manifest.json"}
    assert {"captions.en.vtt", "hls/captions_en.vtt", "manifest.json"} <= set(after_edit["uploaded"])
    assert set(after_edit["uploaded"]) <= caption_dependent
    # Share pages already handed out show the corrected captions, at the same address.
    assert after_edit["refreshed_share_pages"] >= 1
    with urllib.request.urlopen(before_edit["url"], timeout=30) as response:
        page = response.read().decode()
    assert "short video" in page and "short film" not in page


def test_publish_verify_repairs_what_the_metadata_calls_unchanged(published: tuple[Project, str]) -> None:
    """An object whose bytes were lost or damaged while its metadata still claims the right checksum (#16)."""
    project, asset_id = published
    settings = project.settings()
    asset = Catalog.open(settings.state_dir).get(asset_id)
    store = EmbeddedStorage(settings).store()
    prefix = f"assets/{asset_id}/{asset.publication}"
    local = settings.output_dir / asset_id / "captions.en.vtt"
    stored = store.head(f"{prefix}/captions.en.vtt")
    assert stored is not None and stored.sha256
    store.client.put_object(Bucket=store.bucket, Key=f"{prefix}/captions.en.vtt", Body=b"X" * stored.size,
                            Metadata={"sha256": stored.sha256})
    [trusting] = project.cli_json("publish")
    assert trusting["uploaded_objects"] == 0  # the metadata alone says nothing changed
    [verified] = project.cli_json("publish", "--verify")
    assert verified["uploaded"] == ["captions.en.vtt"]
    assert store.content_sha256(f"{prefix}/captions.en.vtt") == hashlib.sha256(local.read_bytes()).hexdigest()
    [again] = project.cli_json("publish", "--verify")
    assert again["uploaded_objects"] == 0


def test_killed_publish_leaves_no_manifest_and_a_rerun_completes(published: tuple[Project, str]) -> None:
    project, asset_id = published
    project.cli("unpublish", asset_id, check=True)
    killed = project.cli("publish", asset_id, env={"PIPELINE_TEST_KILL_AFTER_UPLOADS": "4"})
    assert killed.returncode == -9
    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    asset = catalog.get(asset_id)
    assert asset.state.value == "approved" and asset.publication
    store = EmbeddedStorage(settings).store()
    keys = store.list_keys(f"assets/{asset_id}/{asset.publication}/")
    assert len(keys) == 4 and not any(k.endswith("manifest.json") for k in keys)
    [rerun] = project.cli_json("publish")
    assert rerun["skipped_objects"] == 4 and rerun["uploaded_objects"] > 4
    assert "manifest.json" in rerun["uploaded"]
    assert project.cli_json("status")[0]["state"] == "published"


def test_unpublished_assets_links_stop_working(published: tuple[Project, str]) -> None:
    project, asset_id = published
    link = project.cli_json("share", asset_id)
    assert _status(link["url"]) == 200
    project.cli("unpublish", asset_id, check=True)
    assert _status(link["url"]) in (403, 404)
    assert _status(link["captions_url"]) in (403, 404)
    project.cli_json("publish")
    assert _status(link["captions_url"]) in (403, 404)  # a new publication has new addresses


def test_unreviewed_publishing_is_explicit_and_the_page_says_so(tmp_path: Path, browser: Browser) -> None:
    project = make_project(tmp_path / "urgent")
    try:
        speech_video(project.masters / "urgent.mp4", "Please talk to someone you trust.")
        silent_video(project.masters / "silent.mp4", seconds=2)
        project.cli("run", check=True)
        assets = {a["source"]: a for a in project.cli_json("status")}
        asset = assets["urgent.mp4"]
        # A video without speech is published once a reviewer decides that it needs no captions (#15).
        assert project.cli_json("publish") == []
        project.cli("approve", assets["silent.mp4"]["id"], "--reviewer", "Ann Example", "--no-speech", check=True)
        [no_speech] = project.cli_json("publish")
        assert no_speech["id"] == assets["silent.mp4"]["id"]
        refused = project.cli("publish", "--allow-unreviewed")
        assert refused.returncode == 2 and "needs the IDs" in refused.stderr
        project.cli("publish", asset["id"], "--allow-unreviewed", "--json", check=True)
        page = _play(browser, project.cli_json("share", asset["id"])["url"])
        assert "automatic and have not been reviewed" in page["notice"]
        events = Catalog.open(project.settings().state_dir).events(asset["id"])
        assert "WITHOUT CAPTION REVIEW" in (events[-1].detail or "")
    finally:
        EmbeddedStorage(project.settings()).stop()


def test_public_mode_gives_stable_unsigned_addresses(published: tuple[Project, str]) -> None:
    project, asset_id = published
    settings = project.settings()
    public = dataclasses.replace(settings, publish=dataclasses.replace(
        settings.publish, public_base_url="https://media.example.org/"))
    catalog = Catalog.open(settings.state_dir)
    made = share.create(public, catalog, EmbeddedStorage(settings).store(), catalog.get(asset_id), 3600)
    assert made.url == f"https://media.example.org/shares/{made.link.id}/index.html"
    page = EmbeddedStorage(settings).store().client.get_object(
        Bucket=settings.storage.bucket, Key=made.link.object_key)["Body"].read().decode()
    assert "X-Amz-Signature" not in page and "https://media.example.org/assets/" in page
