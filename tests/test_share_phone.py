"""The share page on a parent's phone (#17): Debian's Chromium at 390x844 with a mobile user agent, against a
real published asset in the embedded SeaweedFS. What arrives before play, which rendition plays first, how big
the captions are and where, and playback with JavaScript off."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page

from pipeline.catalog import Catalog
from pipeline.models import Cue, RenditionKind
from pipeline.review import editing
from pipeline.storage.embedded import EmbeddedStorage
from pipeline.web.app import create_app
from tests.conftest import Project, live_app, make_project, sign_in_path
from tests.media import speech_video

ANDROID_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0.0.0 Mobile Safari/537.36")
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
                         "has_touch": True, "user_agent": ANDROID_UA}
TITLE = "Staying safe online"
CUES = [Cue(0, 2500, "Hello, and welcome to our school."), Cue(2500, 5000, "Today we talk about staying safe.")]


@dataclass
class Traffic:
    """Bytes on the wire per request, from Chromium's own network events."""

    urls: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    def watch(self, cdp: CDPSession) -> None:
        cdp.send("Network.enable")
        cdp.on("Network.requestWillBeSent", lambda e: self.urls.setdefault(e["requestId"], e["request"]["url"]))
        cdp.on("Network.dataReceived", lambda e: self.sizes.__setitem__(
            e["requestId"], self.sizes.get(e["requestId"], 0) + int(e["encodedDataLength"])))
        cdp.on("Network.loadingFinished", lambda e: self.sizes.__setitem__(
            e["requestId"], max(self.sizes.get(e["requestId"], 0), int(e["encodedDataLength"]))))

    def total(self) -> int:
        return sum(self.sizes.values())

    def paths(self) -> list[str]:
        return [urlsplit(url).path for url in self.urls.values()]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, str, str]]:
    """A 720p talk with three rungs and two known captions, approved, titled, published and shared."""
    project = make_project(tmp_path_factory.mktemp("phone") / "project")
    speech_video(project.masters / "IMG_4032.mp4", "Hello and welcome to our school. Today we talk about staying "
                 "safe online, and who to ask for help.", size="1280x720")
    try:
        project.cli("run", check=True)
        [asset] = project.cli_json("status")
        settings = project.settings()
        catalog = Catalog.open(settings.state_dir)
        editing.save(settings, catalog, catalog.get(asset["id"]), "en", None, "Ann Example", CUES)
        project.cli("approve", asset["id"], "--reviewer", "Ann Example",
                    "--reason", "the flagged words are not what this test is about", check=True)
        project.cli("title", asset["id"], TITLE, check=True)
        project.cli_json("publish")
        link = project.cli_json("share", asset["id"])
        yield project, asset["id"], link["url"]
    finally:
        EmbeddedStorage(project.settings()).stop()


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(**PHONE)
    yield context
    context.close()


def _poll(page: Page, expression: str, timeout_s: float = 30) -> None:
    """Wait for `expression` to hold, evaluated from outside the page (page.wait_for_function runs the page's
    own JavaScript, which is off in one test)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s:.0f}s: {expression}")
        page.wait_for_timeout(100)


def _ready(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("document.body.dataset.manifest === 'parsed'", timeout=30000)
    page.wait_for_load_state("networkidle")


def _play_until(page: Page, seconds: float) -> None:
    page.tap("[data-control=play]")
    page.wait_for_function(f"document.getElementById('player').currentTime > {seconds}", timeout=30000)


def test_phone_gets_only_page_script_poster_and_playlists_before_play_then_a_rung_for_its_size(
        shared: tuple[Project, str, str], phone: BrowserContext) -> None:
    project, asset_id, url = shared
    page = phone.new_page()
    traffic = Traffic()
    traffic.watch(phone.new_cdp_session(page))
    _ready(page, url)
    before = traffic.total()
    paths_before = traffic.paths()
    assert before <= 1_000_000, f"{before} bytes before play"
    assert not [p for p in paths_before if p.endswith((".m4s", ".mp4"))], paths_before  # no media yet
    assert any(p.endswith("poster.jpg") for p in paths_before)

    _play_until(page, 1.0)
    # The sound is its own rendition since #21 (hls/audio/): the picture's segments tell which rung was chosen.
    segments = [p for p in traffic.paths() if p.endswith(".m4s") and "/hls/audio" not in p]
    rung_folder = segments[0].split("/hls/", 1)[1].split("/")[0]
    renditions = Catalog.open(project.settings().state_dir).renditions(asset_id)
    [first] = [r for r in renditions if r.kind is RenditionKind.HLS and r.path == f"hls/{rung_folder}/stream.m3u8"]
    player_px = page.evaluate("document.getElementById('player').getBoundingClientRect().width * devicePixelRatio")
    top = max(r.width for r in renditions if r.kind is RenditionKind.HLS)
    assert first.width <= 1.5 * player_px < top, (first.width, player_px)
    assert page.evaluate("document.body.dataset.playback") == "hls"


def _caption_boxes(page: Page) -> dict[str, Any]:
    return page.evaluate("""() => {
        const box = (el) => { const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom,
                                                                             left: r.left, right: r.right}; };
        const line = document.querySelector('#captions span');
        return {text: line ? line.textContent : null, line: line ? box(line) : null,
                font: line ? parseFloat(getComputedStyle(line).fontSize) : 0,
                video: box(document.getElementById('player')), controls: box(document.getElementById('controls'))};
    }""")


def test_phone_captions_are_readable_clear_of_the_controls_and_resizable(
        shared: tuple[Project, str, str], phone: BrowserContext) -> None:
    _, _, url = shared
    page = phone.new_page()
    _ready(page, url)
    assert page.title() == TITLE and page.inner_text("h1") == TITLE
    _play_until(page, 0.5)
    page.wait_for_function("document.querySelector('#captions span') !== null", timeout=30000)
    medium = _caption_boxes(page)
    assert medium["text"] in [c.text for c in CUES]
    assert medium["font"] >= 16 and medium["line"]["bottom"] - medium["line"]["top"] >= 16
    line, video, controls = medium["line"], medium["video"], medium["controls"]
    assert video["top"] <= line["top"] and line["bottom"] <= video["bottom"]  # on the picture
    assert line["bottom"] <= controls["top"] or line["top"] >= controls["bottom"]  # never over the control bar

    page.select_option("[data-control=size]", "large")
    large = _caption_boxes(page)
    assert large["font"] > medium["font"]
    page.select_option("[data-control=size]", "small")
    assert 16 <= _caption_boxes(page)["font"] < medium["font"]
    page.select_option("[data-control=size]", "large")

    toggle = page.locator("[data-control=captions]")
    toggle.tap()
    assert toggle.get_attribute("aria-pressed") == "false" and page.locator("#captions span").count() == 0
    toggle.tap()

    again = phone.new_page()  # the size is remembered on the device
    _ready(again, url)
    assert again.eval_on_selector("[data-control=size]", "s => s.value") == "large"


def test_phone_without_javascript_plays_the_mp4_with_its_captions(shared: tuple[Project, str, str],
                                                                   browser: Browser) -> None:
    _, _, url = shared
    context = browser.new_context(**PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(url)
        assert "JavaScript is off" in page.evaluate("document.querySelector('noscript').textContent")
        video = page.locator("#player")
        assert video.get_attribute("controls") is not None and ".mp4" in (video.get_attribute("src") or "")
        page.evaluate("document.getElementById('player').muted = true; document.getElementById('player').play()")
        _poll(page, "document.getElementById('player').currentTime > 1")
        showing = page.evaluate("""() => { const t = document.getElementById('player').textTracks[0];
            return {mode: t.mode, cues: Array.from(t.activeCues || []).map(c => c.text)}; }""")
        assert showing["mode"] == "showing" and showing["cues"] == [CUES[0].text]
    finally:
        context.close()


def test_share_says_a_loopback_link_opens_on_this_computer_only(shared: tuple[Project, str, str]) -> None:
    project, asset_id, _ = shared
    done = project.cli("share", asset_id, check=True)
    assert "opens only on this computer" in done.stderr and "[storage] endpoint" in done.stderr
    made = project.cli_json("share", asset_id)
    assert made["works_on"] == "this-computer" and "do not send it" in made["warning"]


def test_a_title_set_in_the_review_app_shows_on_pages_already_handed_out(shared: tuple[Project, str, str],
                                                                         browser: Browser) -> None:
    project, asset_id, url = shared
    settings = project.settings()
    app = create_app(settings, Catalog.open(settings.state_dir))
    with live_app(app) as app_url:
        page = browser.new_page()
        try:
            page.goto(app_url + sign_in_path(app, f"/assets/{asset_id}"))
            assert page.input_value("#display-title") == TITLE
            page.fill("#display-title", "Online safety for Year 7")
            page.click("#title-form button")
            page.locator("#title-status", has_text="Saved").wait_for()
            assert "share page(s) updated" in page.inner_text("#title-status")
            page.goto(url)
            assert page.title() == "Online safety for Year 7"
        finally:
            page.close()
            project.cli("title", asset_id, TITLE, check=True)
