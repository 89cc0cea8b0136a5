"""Review before the ladder (#19): an asset is reviewable once its captions and a proxy exist, the ladder follows
in the same run, publishing waits for it, and a run killed during the ladder loses no reviewer's work.

The real CLI in subprocesses (ffmpeg, Whisper tiny.en, SQLite, the embedded SeaweedFS for publishing), the real
review app served on 127.0.0.1 and Debian's Chromium; the masters are made here. A run is stopped at a point of
the ladder with the test-only kill switch (runner.FAULT_KILL_AT), as a power cut would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser

from pipeline import config, runner
from pipeline.catalog import Catalog
from pipeline.media import encode
from pipeline.models import AssetState, Cue, Probe, RenditionKind
from pipeline.review import editing
from pipeline.stages import caption, proxy
from pipeline.web.app import create_app
from tests.conftest import Project, live_app, sign_in_path
from tests.media import speech_video

LINE = "Keep your passwords private and never share your location with strangers online."


def _video_md5(path: Path) -> str:
    """The MD5 of a file's first video stream as coded: equal when one is a copy of the other."""
    return subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "md5",
                           "-"], capture_output=True, text=True, check=True).stdout.strip()


def _play_in_editor(browser: Browser, url: str, app: Any, asset_id: str) -> dict[str, object]:
    """Open the editor (signed in), edit the first caption and save it; what the video element plays."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url + sign_in_path(app, f"/assets/{asset_id}"))
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#reviewer-name", "Ann Reviewer")
    page.dispatch_event("#reviewer-name", "change")
    page.evaluate("const v = document.getElementById('video'); v.muted = true; v.play()")
    page.wait_for_function("() => document.getElementById('video').currentTime > 0.2")
    box = page.locator("#cue-list .text").first
    box.fill("Reviewed early: " + box.input_value())
    page.keyboard.press("Control+s")
    page.wait_for_function("() => document.getElementById('save-status').textContent.startsWith('Saved revision')")
    found = page.evaluate("(() => { const v = document.getElementById('video'); return {src: v.currentSrc, "
                          "width: v.videoWidth, error: v.error && v.error.code}; })()")
    waveform = page.evaluate(f"fetch('/api/assets/{asset_id}/waveform').then(r => r.json())")
    page.close()
    return {**found, "waveform": waveform}


def test_reviewable_before_the_ladder_publish_waits_for_it(project: Project, browser: Browser) -> None:
    speech_video(project.masters / "talk.mp4", LINE)  # H.264/AAC: its own proxy, copied
    speech_video(project.masters / "phone.mp4", LINE, extra=("-c:v", "libx265", "-tag:v", "hvc1",
                                                             "-x265-params", "log-level=error"))  # HEVC: encoded
    for name in ("talk.mp4", "phone.mp4"):  # each run killed as its ladder starts
        stopped = project.cli("run", str(project.masters / name), env={runner.FAULT_KILL_AT: "transcode@0.0"})
        assert stopped.returncode == -9, stopped.stderr
    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    assets = {Path(a.source).name: a for a in catalog.list_assets()}
    assert {a.state for a in assets.values()} == {AssetState.AWAITING_REVIEW}
    for name, asset in assets.items():
        assert not catalog.ladder_done(asset.id) and not list((settings.output_dir / asset.id).glob("video_*"))
        made = catalog.renditions(asset.id)
        assert [r.kind for r in made] == [RenditionKind.PROXY] and made[0].path == proxy.NAME
        copied = _video_md5(settings.output_dir / asset.id / proxy.NAME) == _video_md5(project.masters / name)
        assert copied is (name == "talk.mp4")  # the playable master's own picture; the HEVC one encoded
    status = project.cli("status", check=True).stdout
    assert len(re.findall(r"awaiting_review \(captions ready, renditions (\d+%|not made yet)\)", status)) == 2

    words = {n: (settings.output_dir / a.id / caption.words_path("en")).read_bytes() for n, a in assets.items()}
    app = create_app(settings, catalog)
    with live_app(app) as url:
        early = {n: _play_in_editor(browser, url, app, a.id) for n, a in assets.items()}
    for name, seen in early.items():
        assert str(seen["src"]).endswith(f"/media/{assets[name].id}/{proxy.NAME}") and seen["error"] is None
        assert seen["width"] == 320  # the picture decoded in Chromium, at the master's size (already small)
        assert max(seen["waveform"]["peaks"]) > 10  # type: ignore[index]

    talk = assets["talk.mp4"]
    project.cli("approve", talk.id, "--reviewer", "Ann Reviewer", "--override", "checked by ear",
                check=True)  # approval does not wait for the ladder
    refused = project.cli("publish", talk.id)
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines()[-1].startswith(f"pipeline: asset {talk.id}: ladder still encoding (")
    assert "`pipeline run`" in refused.stderr and f"`pipeline publish {talk.id}`" in refused.stderr
    assert "approved (captions ready, renditions" in project.cli("status", check=True).stdout

    finished = project.cli("run", check=True)  # finishes both ladders, leaves the review states alone
    assert "error" not in finished.stderr.lower()
    assert {n: catalog.get(a.id).state for n, a in assets.items()} == \
        {"talk.mp4": AssetState.APPROVED, "phone.mp4": AssetState.AWAITING_REVIEW}
    assert all(catalog.ladder_done(a.id) for a in assets.values())
    assert "captions ready" not in project.cli("status", check=True).stdout
    published = project.cli("publish", talk.id)
    assert published.returncode == 0, published.stderr
    assert catalog.get(talk.id).state is AssetState.PUBLISHED
    manifest = json.loads((settings.output_dir / talk.id / "manifest.json").read_text())
    assert all(f["path"] != proxy.NAME for f in manifest["files"])  # the proxy stays on this machine

    # The editor moves to the ladder; the waveform and Whisper's word times are what they were on the proxy.
    app = create_app(settings, catalog)
    with live_app(app) as url:
        late = _play_in_editor(browser, url, app, assets["phone.mp4"].id)
    assert re.search(r"/video_\d+p\.mp4$", str(late["src"])) and late["error"] is None
    assert late["waveform"] == early["phone.mp4"]["waveform"]
    assert all((settings.output_dir / a.id / caption.words_path("en")).read_bytes() == words[n]
               for n, a in assets.items())
    catalog.close()


def test_a_kill_mid_ladder_after_a_save_keeps_the_save_and_a_rerun_finishes_it(project: Project) -> None:
    speech_video(project.masters / "long.mp4", LINE + " " + LINE, size="1280x720")  # a ladder of some seconds
    env = {**os.environ, config.CONFIG_ENV: str(project.config_file), runner.FAULT_KILL_AT: "transcode@0.6"}
    run = subprocess.Popen([sys.executable, "-m", "pipeline", "run"], cwd=project.root, env=env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    try:
        deadline = time.monotonic() + 300
        while not any(a.state is AssetState.AWAITING_REVIEW for a in catalog.list_assets()):
            assert run.poll() is None and time.monotonic() < deadline, run.stderr.read() if run.stderr else ""
            time.sleep(0.05)
        [asset] = catalog.list_assets()
        draft = editing.read_draft(settings, catalog, asset)
        edited = [Cue(c.start_ms, c.end_ms, "Saved during the ladder.") if i == 0 else c
                  for i, c in enumerate(draft.revision.cues)]
        saved = editing.save(settings, catalog, asset, "en", draft.revision.number, "Ann Reviewer", edited)
        assert run.poll() is None  # saved while the run was still encoding the ladder
    finally:
        run.wait(timeout=600)
    assert run.returncode == -9, run.stderr.read() if run.stderr else ""
    assert not catalog.ladder_done(asset.id)

    project.cli("run", check=True)
    after = catalog.get(asset.id)
    assert after.state is AssetState.AWAITING_REVIEW and catalog.ladder_done(asset.id)
    assert len(list((settings.output_dir / asset.id).glob("video_*.mp4"))) >= 2
    latest = editing.read_draft(settings, catalog, after).revision
    assert (latest.number, latest.author, latest.cues[0].text) == (saved.number, "Ann Reviewer",
                                                                   "Saved during the ladder.")
    assert "Saved during the ladder." in (settings.output_dir / asset.id / caption.caption_path("en")).read_text()
    assert [r.author for r in catalog.revisions(asset.id, "en")] == ["Ann Reviewer", caption.AUTOMATIC]  # newest first
    catalog.close()


def test_which_masters_are_their_own_proxy_and_the_size_of_the_others() -> None:
    def probe(video: str, pixels: str = "yuv420p", audio: str = "aac", width: int = 1920,
              height: int = 1080) -> Probe:
        return Probe("mov,mp4", 60_000, width, height, 0, 30.0, bool(audio), 2 if audio else 0, video, pixels, audio)

    assert encode.browser_plays(probe("h264")) and encode.browser_plays(probe("h264", audio=""))
    assert encode.browser_plays(probe("h264", audio="mp3"))
    assert not encode.browser_plays(probe("hevc"))  # an iPhone's
    assert not encode.browser_plays(probe("h264", pixels="yuv420p10le"))  # 10-bit H.264 plays nowhere
    assert not encode.browser_plays(probe("h264", audio="pcm_s16le"))  # a camera's PCM sound
    assert encode.proxy_size(probe("hevc")) == (640, 360)
    assert encode.proxy_size(probe("hevc", width=1080, height=1920)) == (360, 640)  # portrait stays portrait
    assert encode.proxy_size(probe("hevc", width=320, height=240)) == (320, 240)  # never enlarged
    assert encode.proxy_size(probe("hevc", width=1440, height=1080)) == (480, 360)
