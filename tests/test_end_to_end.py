"""The whole flow of the foundation issue, through the real CLI: real ffmpeg, the bundled Whisper model,
the embedded SeaweedFS server and the SQLite catalog."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.media import sample_master


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_run_approve_publish_share(project: Project) -> None:
    sample_master(project.masters / "sample.mp4")

    run = project.cli("run")
    assert run.returncode == 0, run.stderr
    assert "awaiting_review" in run.stdout
    assert "pipeline approve" in run.stdout and "pipeline publish" in run.stdout

    [asset] = project.cli_json("status")
    assert asset["state"] == "awaiting_review" and asset["source"] == "sample.mp4"
    out = project.root / "output" / asset["id"]
    vtt = (out / "captions.en.vtt").read_text()
    assert vtt.startswith("WEBVTT")
    assert "staying safe online" in vtt.lower()
    assert (out / "hls" / "master.m3u8").is_file()

    # Nothing is published before a person approves the captions.
    refused = project.cli("publish", asset["id"])
    assert refused.returncode == 2 and "approve" in refused.stderr

    # The draft meets the caption rules, and Whisper's words are kept, with their confidence, for the reviewer.
    check = project.cli("captions", "check", asset["id"], "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["errors"] == 0
    words = json.loads((out / "captions.en.words.json").read_text())
    assert [w["text"] for w in words][:4] == ["Welcome", "to", "our", "short"]
    assert "NOTE\nengine: faster-whisper\nmodel: tiny.en (bundled)\nlanguage: en\n" in vtt
    assert "status: automatic draft, not yet reviewed" in vtt
    for flag in project.cli_json("captions", "flags", asset["id"]):  # the reviewer listens to each flagged word
        project.cli("captions", "check-flag", asset["id"], flag["key"], "--reviewer", "Ann Example", check=True)
    project.cli("approve", asset["id"], "--reviewer", "Ann Example", check=True)
    vtt = (out / "captions.en.vtt").read_text()
    assert "status: revision 1, reviewed by Ann Example" in vtt
    [first] = project.cli_json("publish")
    assert first["id"] == asset["id"] and first["uploaded_objects"] >= 4 and first["uploaded_bytes"] > 0
    [again] = project.cli_json("publish")
    assert again["uploaded_objects"] == 0 and again["skipped_objects"] == first["uploaded_objects"]

    link = project.cli_json("share", asset["id"], "--expires", "2h")
    assert set(link) >= {"url", "expires_at", "video_url", "captions_url"}
    # The link opens the share page, which plays the video; video_url is the video itself.
    status, page = _get(link["url"])
    assert status == 200 and page.startswith(b"<!doctype html>") and b"staying safe online" in page
    status, body = _get(link["video_url"])
    mp4 = max(out.glob("video_*.mp4"), key=lambda p: p.stat().st_size)
    assert status == 200 and body == mp4.read_bytes()
    status, captions = _get(link["captions_url"])
    assert status == 200 and captions.decode() == vtt

    for signed in (link["url"], link["video_url"], link["captions_url"]):
        assert _get(signed.split("?", 1)[0])[0] == 403

    too_long = project.cli("share", asset["id"], "--expires", "8d")
    assert too_long.returncode == 2 and too_long.stderr.count("\n") == 1 and "7d" in too_long.stderr

    project.cli("unpublish", asset["id"], check=True)
    assert _get(link["url"])[0] in (403, 404)
    assert _get(link["video_url"])[0] in (403, 404)
    [after] = project.cli_json("status")
    assert after["state"] == "approved"

    # Publishing again does not bring the old link back to life.
    [republished] = project.cli_json("publish")
    assert republished["uploaded_objects"] == first["uploaded_objects"]
    assert _get(link["url"])[0] in (403, 404)
    assert _get(project.cli_json("share", asset["id"])["url"])[0] == 200


def test_publish_refuses_captions_changed_after_approval_and_missing_files(project: Project) -> None:
    sample_master(project.masters / "sample.mp4")
    project.cli("run", check=True)
    [asset] = project.cli_json("status")
    out = project.root / "output" / asset["id"]
    project.cli("approve", asset["id"], "--reviewer", "Ann Example", "--reason", "checked by ear", check=True)
    captions = out / "captions.en.vtt"
    captions.write_text(captions.read_text().replace("online", "offline"))
    changed = project.cli("publish", asset["id"])
    assert changed.returncode == 1 and "changed since Ann Example approved it" in changed.stderr
    captions.write_text(captions.read_text().replace("offline", "online"))
    poster = out / "poster.jpg"
    poster.rename(out / "elsewhere.jpg")
    missing = project.cli("publish", asset["id"])
    assert missing.returncode == 1 and "poster.jpg: missing" in missing.stderr
    [still] = project.cli_json("status")
    assert still["state"] == "approved"


def test_renamed_or_copied_master_is_not_processed_twice(project: Project, tmp_path: Path) -> None:
    master = sample_master(project.masters / "first.mp4")
    project.cli("run", check=True)
    master.rename(project.masters / "renamed.mp4")
    (project.masters / "copy.mp4").write_bytes((project.masters / "renamed.mp4").read_bytes())
    second = project.cli("run", check=True)
    assert "2 already known" in second.stdout
    assert len(project.cli_json("status")) == 1


@pytest.mark.parametrize("flag", ["--json"])
def test_status_json_is_an_array(project: Project, flag: str) -> None:
    assert json.loads(project.cli("status", flag, check=True).stdout) == []
