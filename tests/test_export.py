"""`pipeline export ID FOLDER` (#17): copies for an assembly hall, checked with ffprobe and played from
file:// in Debian's Chromium."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from playwright.sync_api import Browser

from pipeline.catalog import Catalog
from pipeline.models import Cue
from pipeline.review import editing
from tests.conftest import make_project
from tests.media import speech_video

CUES = [Cue(0, 2000, "Welcome to the assembly."), Cue(2000, 4000, "Please ask if you need help.")]


def _probe(path: Path) -> list[dict[str, object]]:
    done = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                          capture_output=True, text=True, check=True)
    streams: list[dict[str, object]] = json.loads(done.stdout)["streams"]
    return streams


def _subtitle_text(path: Path) -> str:
    return subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:s:0", "-f", "srt", "-"],
                          capture_output=True, text=True, check=True).stdout


def test_export_writes_captioned_copies_that_play_offline(tmp_path: Path, browser: Browser) -> None:
    project = make_project(tmp_path / "project")
    speech_video(project.masters / "assembly.mp4", "Welcome to the assembly. Please ask if you need help.")
    project.cli("run", check=True)
    [asset] = project.cli_json("status")
    stick = tmp_path / "USB STICK"
    refused = project.cli("export", asset["id"], str(stick))
    assert refused.returncode == 2 and "no approved captions" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not stick.exists()

    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    editing.save(settings, catalog, catalog.get(asset["id"]), "en", None, "Ann Example", CUES)
    project.cli("approve", asset["id"], "--reviewer", "Ann Example",
                "--reason", "the flagged words are not what this test is about", check=True)
    project.cli("title", asset["id"], "Asking for help", check=True)
    made = project.cli_json("export", asset["id"], str(stick))
    assert made["reviewer"] == "Ann Example"
    assert {"video-with-captions.mp4", "video-captions-on-picture.mp4", "captions.en.vtt", "captions.en.srt",
            "transcript.txt", "index.html", "approval.json"} <= set(made["files"])

    streams = _probe(stick / "video-with-captions.mp4")
    [subs] = [s for s in streams if s["codec_type"] == "subtitle"]
    assert subs["codec_name"] == "mov_text" and subs["tags"]["language"] == "eng"  # type: ignore[index]
    text = _subtitle_text(stick / "video-with-captions.mp4")
    assert "Welcome to the assembly." in text and "Please ask if you need help." in text
    assert "00:00:02,000 --> 00:00:04,000" in text
    burned = _probe(stick / "video-captions-on-picture.mp4")
    assert [s["codec_type"] for s in burned if s["codec_type"] != "audio"] == ["video"]
    assert "Please ask if you need help." in (stick / "transcript.txt").read_text()
    record = json.loads((stick / "approval.json").read_text())
    assert record["reviewer"] == "Ann Example" and record["approved_at"] and record["title"] == "Asking for help"
    assert set(record["files"]) >= {"video-with-captions.mp4", "index.html"}

    page = browser.new_page()
    try:
        page.goto((stick / "index.html").as_uri())
        assert page.title() == "Asking for help"
        page.evaluate("const v = document.getElementById('player'); v.muted = true; v.play()")
        deadline = time.monotonic() + 30
        shown: list[str] = []
        while not shown and time.monotonic() < deadline:
            page.wait_for_timeout(100)
            shown = page.evaluate("""() => { const v = document.getElementById('player');
                const t = v.textTracks[0];
                return v.currentTime > 0.2 && t.mode === 'showing' ? Array.from(t.activeCues || []).map(c => c.text)
                                                                   : []; }""")
        assert shown == ["Welcome to the assembly."]
    finally:
        page.close()
