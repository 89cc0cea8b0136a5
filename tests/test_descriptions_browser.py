"""Audio description in a real browser (#21): Debian's Chromium driven by Playwright. The editor's description
panel against the real review app (an asset whose programme speech is known: 1.0-3.0 s and 6.0-8.0 s), by
keyboard: a description in the gap fits, one that runs into the dialogue is warned about in words; the panel's
pure functions on literal values; and the share page of a real published asset with approved descriptions (made
without Whisper by conftest.published_with_descriptions, in the embedded SeaweedFS): hls.js plays the
master playlist, the "Audio description" switch moves hls.js to the described audio rendition and back, and the
description's text reaches the live region at its time."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.descriptions import speech
from pipeline.models import Cue, Rendition, RenditionKind
from pipeline.storage.embedded import EmbeddedStorage
from pipeline.web.app import create_app
from tests.conftest import (
    DESCRIBED_CUES,
    Project,
    asset_awaiting_review,
    live_app,
    make_project,
    published_with_descriptions,
    sign_in_path,
)
from tests.media import silent_video
from tests.test_editor import WCAG_TAGS
from tests.test_editor_modules import call
from tests.test_editor_modules import page as module_page

__all__ = ["module_page"]  # tests/test_editor_modules.py's fixture: a page that imports the editor's modules

SPEECH = [[1000, 3000], [6000, 8000]]
SECONDS = 10
MODULE = "descriptions.js"


@dataclass
class Review:
    url: str
    app: Any
    settings: Settings
    catalog: Catalog

    def asset(self, name: str) -> str:
        """An asset awaiting review with two captions, a 10 s video and its speech measured at SPEECH."""
        asset = asset_awaiting_review(self.settings, self.catalog, name,
                                      [Cue(1000, 3000, "Hello, I am Ann."), Cue(6000, 8000, "This is our school.")])
        out = self.settings.output_dir / asset.id
        (out / "mp4").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.settings.output_dir / "video.mp4", out / "mp4" / "240p.mp4")
        (out / speech.NAME).write_text(json.dumps(SPEECH))  # what voice activity found, kept with the asset
        self.catalog.set_probe(asset.id, SECONDS * 1000, 320, 240, True)
        self.catalog.replace_renditions(asset.id, [Rendition(asset.id, "240p", RenditionKind.MP4, "mp4/240p.mp4",
                                                             320, 240, (out / "mp4" / "240p.mp4").stat().st_size)])
        return asset.id


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Review]:
    root = tmp_path_factory.mktemp("described")
    project = make_project(root / "project")
    settings = project.settings()
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    silent_video(settings.output_dir / "video.mp4", seconds=SECONDS, audio=True)
    catalog = Catalog.open(settings.state_dir)
    app = create_app(settings, catalog)
    with live_app(app) as url:
        yield Review(url, app, settings, catalog)


def _editor(browser: Browser, review: Review, asset_id: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(review.url + sign_in_path(review.app, f"/assets/{asset_id}"))
    page.wait_for_selector("#descriptions[data-ready=true]")
    page.fill("#reviewer-name", "Ann Reviewer")
    page.dispatch_event("#reviewer-name", "change")
    return page


def _row(page: Page, n: int) -> Any:
    return page.locator("#description-list > li").nth(n - 1)


def test_a_description_in_a_gap_fits_and_one_that_runs_into_dialogue_is_warned_by_keyboard(
        review: Review, browser: Browser) -> None:
    asset_id = review.asset("warn.mp4")
    page = _editor(browser, review, asset_id)
    gaps = page.locator("#gap-list li")
    assert [gaps.nth(i).inner_text().split(" (")[0] for i in range(gaps.count())] == [
        "Gap 0:00.0–0:01.0, 1.0 s", "Gap 0:03.0–0:06.0, 3.0 s", "Gap 0:08.0–0:10.0, 2.0 s"]

    # The gap's own button adds a description at its start, with the text cursor in it.
    gaps.nth(1).get_by_role("button").focus()
    page.keyboard.press("Enter")
    page.keyboard.type("A sign reads Staff only.")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Text of description 1"
    assert _row(page, 1).locator(".description-warning").inner_text() == ""

    # A second one, moved to 5.5 s from its start field, then given a long text: it would run into 6.0 s.
    gaps.nth(1).get_by_role("button").focus()
    page.keyboard.press("Enter")
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Start of description 2"
    page.keyboard.press("Control+a")
    page.keyboard.type("5.5")
    page.keyboard.press("Tab")
    assert _row(page, 2).locator(".description-start").input_value() == "0:05.5"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Text of description 2"
    page.keyboard.type("Ann walks slowly to the window and looks out at the rain.")
    warning = "Runs into dialogue at 0:06.0: shorten it or start it earlier"
    assert _row(page, 2).locator(".description-warning").inner_text() == warning
    assert page.inner_text("#descriptions-status") == f"Description 2: {warning}"  # read out (role=status)
    described_by = page.evaluate("document.activeElement.getAttribute('aria-describedby')").split()
    assert page.evaluate(f"document.getElementById('{described_by[1]}').textContent") == warning

    # Saved by itself, one change per description; the server's measured voice agrees.
    page.wait_for_function("() => /saved as revision/.test(document.getElementById('descriptions-status')"
                           ".textContent) && !/unsaved/.test("
                           "document.getElementById('descriptions-state').textContent)")
    saved = page.evaluate(f"fetch('/api/assets/{asset_id}/descriptions/en').then((r) => r.json())")
    assert [(c["start_ms"], c["text"], c["overlaps_speech"]) for c in saved["cues"]] == [
        (3000, "A sign reads Staff only.", False),
        (5500, "Ann walks slowly to the window and looks out at the rain.", True)]
    assert all(c["end_ms"] == c["start_ms"] + c["spoken_ms"] for c in saved["cues"])
    assert _row(page, 1).locator(".description-spoken").inner_text().startswith("Spoken in ")
    assert _row(page, 1).locator(".description-warning").inner_text() == ""
    assert _row(page, 2).locator(".description-warning").inner_text() == warning

    # A caption key pressed in a description changes no caption: Alt+D deletes the description.
    captions = page.locator("#cue-list > li").count()
    _row(page, 2).locator(".description-text").focus()
    page.keyboard.press("Alt+d")
    assert page.locator("#description-list > li").count() == 1 and page.locator("#cue-list > li").count() == captions
    assert page.inner_text("#descriptions-status") == "Description 2 deleted"

    # At 320 CSS px (and so at 400% of 1280) the panel reflows into one column and axe finds nothing serious.
    page.set_viewport_size({"width": 320, "height": 640})
    _row(page, 1).locator(".description-text").focus()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    box = _row(page, 1).bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 320
    found = Axe().run(page, context="#descriptions",
                      options={"runOnly": {"type": "tag", "values": WCAG_TAGS}}).response["violations"]
    assert [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")] == []
    page.context.close()


def test_gaps_speaking_time_and_warnings_from_literal_values(module_page: Page) -> None:
    def run(name: str, *args: Any) -> Any:
        found = call(module_page, MODULE, name, *args)
        return found

    assert run("speechGaps", SPEECH, 10000) == [[0, 1000], [3000, 6000], [8000, 10000]]
    assert run("speechGaps", [[0, 500], [400, 2000], [2500, 9000]], 9000) == []  # under a second, or none left
    assert run("speechGaps", [], 0) == []  # no duration known, no speech: nothing to list
    assert run("estimateMs", "one two  three ", 180) == 1000
    assert run("estimateMs", "", 160) == 0
    assert run("shortTime", 65449) == "1:05.4"
    assert run("runsIntoAt", 3000, 2000, SPEECH) is None  # touches speech at 3.0 s, ends at 5.0 s
    assert run("runsIntoAt", 5000, 1000, SPEECH) is None  # ends exactly where the dialogue starts
    assert run("runsIntoAt", 5000, 1001, SPEECH) == 6000
    assert run("warningText", 2500, 400, SPEECH) == "Runs into dialogue at 0:02.5: start it in a gap"
    edited = run("edited", [{"id": "a", "start_ms": 3000, "end_ms": 4000, "text": "Old words here",
                             "spoken_ms": 1000, "measured": "Old words here"}], "a", {"text": "New"}, 60)
    assert [(c["start_ms"], c["end_ms"], c["text"]) for c in edited] == [(3000, 4000, "New")]  # estimate: 1 word
    assert run("pending", [], [{"id": "a", "start_ms": 0, "end_ms": 0, "text": " "}]) == []  # no text yet: waits


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, str]]:
    """A 10 s programme with captions and two descriptions (DESCRIBED_CUES) approved, published and shared:
    (project, the page's URL)."""
    project = make_project(tmp_path_factory.mktemp("described-share") / "project")
    try:
        yield project, published_with_descriptions(project)[1]
    finally:
        EmbeddedStorage(project.settings()).stop()


def _playing(browser: Browser, url: str) -> tuple[Page, list[str]]:
    """The share page playing from the start through hls.js, with every URL it requested."""
    page = browser.new_context(viewport={"width": 800, "height": 700}).new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url.split("?", 1)[0]))
    page.goto(url)
    page.wait_for_function("() => document.body.dataset.manifest === 'parsed'", timeout=30000)
    page.click("[data-control=play]")
    page.wait_for_function("() => document.getElementById('player').currentTime > 0.3", timeout=30000)
    return page, requests


def test_the_audio_description_switch_moves_hls_js_to_the_described_rendition_and_back(
        shared: tuple[Project, str], browser: Browser) -> None:
    page, requests = _playing(browser, shared[1])
    assert page.evaluate("document.body.dataset.playback") == "hls"
    page.wait_for_function("() => document.body.dataset.audioTrack === 'English'")
    switch = page.locator("[data-control=descriptions]")
    assert switch.get_attribute("aria-pressed") == "false" and switch.inner_text() == "Audio description"
    assert not [u for u in requests if "audio_described" in u]  # the described rendition loads only when asked for
    switch.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.body.dataset.audioTrack === 'English, described'", timeout=15000)
    assert switch.get_attribute("aria-pressed") == "true"
    page.wait_for_function("() => !document.getElementById('player').paused")
    assert [u for u in requests if "audio_described" in u]  # its playlist (and segments) were fetched
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.body.dataset.audioTrack === 'English'", timeout=15000)
    assert switch.get_attribute("aria-pressed") == "false"
    assert "No audio description is available" not in page.inner_text("body")
    page.context.close()


def test_the_description_text_reaches_the_live_region_at_its_time(shared: tuple[Project, str],
                                                                   browser: Browser) -> None:
    page, _ = _playing(browser, shared[1])
    live = page.locator("#description-live")
    assert live.get_attribute("aria-live") == "polite" and live.inner_text() == ""
    first = DESCRIBED_CUES[0]
    page.evaluate(f"document.getElementById('player').currentTime = {first.start_ms / 1000 - 0.6}")
    page.wait_for_function("() => document.getElementById('description-live').textContent !== ''", timeout=30000)
    at = page.evaluate("document.getElementById('player').currentTime")
    assert live.text_content() == first.text
    assert first.start_ms / 1000 <= at < first.start_ms / 1000 + 1.0, at
    page.context.close()
