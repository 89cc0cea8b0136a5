"""The review workspace in a real browser: Debian's Chromium driven by Playwright, against the real app served by
uvicorn on 127.0.0.1, over a master that went through the real pipeline (ffmpeg, Whisper)."""

from __future__ import annotations

import http.client
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from pipeline import fsutil
from pipeline.captions import quality
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.models import AssetState, Cue
from pipeline.review import editing, flags
from pipeline.web.app import create_app
from tests.conftest import asset_awaiting_review, live_app, make_project, sign_in_path
from tests.media import sample_master

HOSTILE = "<img src=x onerror=alert(1)>"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def focused_name(page: Page) -> str:
    """The accessible name Chromium gives the focused element, from its accessibility tree (aria-label, or the
    words aria-labelledby points to: what a screen reader says)."""
    snapshot = page.locator("*:focus").aria_snapshot()
    found = re.match(r'- [\w-]+ "((?:[^"\\]|\\.)*)"', snapshot)
    return found.group(1) if found else ""


@dataclass
class Workspace:
    url: str
    settings: Settings
    catalog: Catalog
    asset_id: str  # the sample master, with its renditions and Whisper's draft
    hostile_id: str  # an asset whose caption and file name are HTML
    original: list[Cue]
    sign_in: str  # conftest.sign_in_path: the review app wants a signed-in session (#16)

    def page(self, browser: Browser, **options: Any) -> Page:
        """A new page in its own browser context, signed in to the review app."""
        page = browser.new_page(**options)
        page.goto(self.url + self.sign_in)
        return page

    def session_cookie(self) -> str:
        address = urllib.parse.urlsplit(self.url)
        connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
        connection.request("GET", self.sign_in)
        cookie = connection.getresponse().getheader("set-cookie") or ""
        connection.close()
        return cookie.split(";")[0]

    def editor(self, asset_id: str | None = None) -> str:
        return f"{self.url}/assets/{asset_id or self.asset_id}"

    def reset(self) -> None:
        """Back to the automatic draft, as a new revision, and awaiting review."""
        asset = self.catalog.get(self.asset_id)
        editing.save(self.settings, self.catalog, asset, "en", None, "test reset", self.original)

    def latest(self) -> list[Cue]:
        return list(editing.read_draft(self.settings, self.catalog, self.catalog.get(self.asset_id)).revision.cues)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    project = make_project(tmp_path_factory.mktemp("editor") / "project")
    with project.config_file.open("a") as config_file:
        config_file.write('[captions]\nglossary = ["Barnet", "Childline"]\n')
    sample_master(project.masters / "sample.mp4")
    project.cli("run", check=True)
    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    [asset] = catalog.list_assets()
    hostile = asset_awaiting_review(settings, catalog, "<b>bold</b>.mp4", [Cue(0, 2000, HOSTILE)])
    original = list(editing.read_draft(settings, catalog, asset).revision.cues)
    assert len(original) >= 3, original
    app = create_app(settings, catalog)
    with live_app(app) as url:
        yield Workspace(url, settings, catalog, asset.id, hostile.id, original, sign_in_path(app))


def _open(browser: Browser, workspace: Workspace, name: str = "Ann Reviewer",
          asset_id: str | None = None) -> Page:
    page = workspace.page(browser, viewport={"width": 1400, "height": 1000})
    page.goto(workspace.editor(asset_id))
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#reviewer-name", name)
    page.dispatch_event("#reviewer-name", "change")
    return page


def _text(page: Page, n: int) -> str:
    return str(page.locator("#cue-list .text").nth(n - 1).input_value())


def _saved(page: Page) -> None:
    page.wait_for_function("() => document.getElementById('save-status').textContent.startsWith('Saved revision')")


def test_queue_lists_assets_by_review_state_and_links_to_the_editor(workspace: Workspace, browser: Browser) -> None:
    page = workspace.page(browser)
    page.goto(workspace.url)
    row = page.locator(f"tr[data-asset='{workspace.asset_id}']")
    assert row.locator("a").get_attribute("href") == f"/assets/{workspace.asset_id}"
    assert row.locator("td").nth(1).inner_text() == str(len(workspace.original))  # the cue count
    assert "Awaiting review" in page.locator("h2").first.inner_text()
    row.locator("a").click()
    page.wait_for_selector("body[data-ready=true]")
    assert "sample.mp4" in page.title()
    assert page.locator("#cue-list li").count() == len(workspace.original)
    page.close()


def test_playing_shows_the_caption_being_edited_and_the_list_follows(workspace: Workspace, browser: Browser) -> None:
    workspace.reset()
    page = _open(browser, workspace)
    first, second = workspace.original[0], workspace.original[1]
    page.locator("#cue-list .text").first.fill("Edited live: " + first.text)
    page.evaluate("const v = document.getElementById('video'); v.muted = true; v.play()")
    page.wait_for_function(f"() => document.getElementById('video').currentTime > {first.start_ms / 1000 + 0.3}")
    assert page.inner_text("#live-caption").startswith("Edited live:")  # the unsaved edit, on the picture
    page.evaluate(f"document.getElementById('video').currentTime = {(second.start_ms + 300) / 1000}")
    page.wait_for_function("() => document.querySelector('#cue-list li[aria-current=true]')?.dataset.index === '1'")
    assert page.inner_text("#live-caption").replace("\n", " ") == second.text.replace("\n", " ")
    # Selecting a cue seeks to it.
    page.evaluate("document.getElementById('video').pause()")
    page.locator("#cue-list .seek").nth(2).click()
    assert abs(page.evaluate("document.getElementById('video').currentTime") * 1000
               - workspace.original[2].start_ms) < 300
    page.close()


def test_text_and_timing_edits_are_saved_and_still_there_after_a_reload(workspace: Workspace,
                                                                       browser: Browser) -> None:
    workspace.reset()
    page = _open(browser, workspace)
    box = page.locator("#cue-list .text").first
    cps_before = page.locator("#cue-list li").first.locator(".badge").first.inner_text()
    box.fill("Welcome to our short video\nabout staying safe online, everyone.")
    cps_after = page.locator("#cue-list li").first.locator(".badge").first.inner_text()
    assert cps_before != cps_after and "characters/s" in cps_after  # the badge follows the typing
    box.focus()
    page.keyboard.press("Alt+ArrowRight")  # start +100 ms
    page.keyboard.press("Alt+Shift+ArrowLeft")  # end -100 ms
    _saved(page)
    first = workspace.latest()[0]
    assert first.text == "Welcome to our short video\nabout staying safe online, everyone."
    assert (first.start_ms, first.end_ms) == (workspace.original[0].start_ms + 100, workspace.original[0].end_ms - 100)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert _text(page, 1) == first.text
    assert page.locator("#cue-list .start").first.input_value() == f"0:{first.start_ms / 1000:06.3f}"
    history = workspace.catalog.revisions(workspace.asset_id, "en")
    assert history[0].author == "Ann Reviewer" and "cue 1" in history[0].summary
    page.close()


def test_split_at_the_cursor_merge_undo_and_redo(workspace: Workspace, browser: Browser) -> None:
    workspace.reset()
    page = _open(browser, workspace)
    second = workspace.original[1]
    cut = second.text.index(",") + 1  # "If something online worries you," | "talk to an adult you trust."
    box = page.locator("#cue-list .text").nth(1)
    box.focus()
    box.evaluate(f"(el) => el.setSelectionRange({cut}, {cut})")
    page.keyboard.press("Alt+s")  # the line breaks come from the server (#15): the split shows once it answers
    page.wait_for_function(f"() => document.querySelectorAll('#cue-list > li').length === "
                           f"{len(workspace.original) + 1}")
    _saved(page)
    cues = workspace.latest()
    left, right = cues[1], cues[2]
    assert left.text.replace("\n", " ") == second.text[:cut].replace("\n", " ").strip()
    assert right.text.replace("\n", " ") == second.text[cut:].replace("\n", " ").strip()
    # Times from Whisper's words: the first part ends where "you," ends, the second starts with "talk".
    assert second.start_ms == left.start_ms < left.end_ms <= right.start_ms < right.end_ms == second.end_ms
    page.keyboard.press("Alt+ArrowUp")  # back to the first part
    page.keyboard.press("Alt+m")
    page.wait_for_function(f"() => document.querySelectorAll('#cue-list > li').length === {len(workspace.original)}")
    assert _text(page, 2).replace("\n", " ") == second.text.replace("\n", " ")
    page.keyboard.press("Control+z")
    assert page.locator("#cue-list li").count() == len(workspace.original) + 1
    page.keyboard.press("Control+y")
    assert page.locator("#cue-list li").count() == len(workspace.original)
    _saved(page)
    assert len(workspace.latest()) == len(workspace.original)
    page.close()


def test_find_and_replace_next_flagged_word_insert_delete_and_the_waveform(workspace: Workspace,
                                                                          browser: Browser) -> None:
    workspace.reset()
    page = _open(browser, workspace)
    page.locator("#cue-list .text").first.focus()
    page.keyboard.press("Alt+f")
    assert page.evaluate("document.activeElement.id") == "find-text"
    assert page.evaluate("[...document.querySelectorAll('#glossary option')].map(o => o.value)") == [
        "Barnet", "Childline"]
    page.fill("#find-text", "short film")
    page.fill("#replace-text", "short video")
    page.click("#replace-all")
    assert page.inner_text("#find-status") == "Replaced 1 time"
    assert "short video" in _text(page, 1)
    page.click("#find-close")
    # Flagged words: Whisper's low-confidence words are marked under their caption and reachable in turn.
    flagged = page.locator("#cue-list .flags mark").count()
    assert flagged >= 1
    page.keyboard.press("Alt+n")
    status = page.inner_text("#save-status")
    assert status.startswith("Caption ") and ": check " in status
    picked = page.evaluate("(() => { const t = document.activeElement; "
                           "return t.value.slice(t.selectionStart, t.selectionEnd); })()")
    assert picked and picked in status
    count = page.locator("#cue-list li").count()
    page.keyboard.press("Alt+i")
    assert page.locator("#cue-list li").count() == count + 1
    assert focused_name(page).startswith("Text of caption")
    page.keyboard.type("A new caption.")
    page.keyboard.press("Alt+d")
    assert page.locator("#cue-list li").count() == count
    _saved(page)
    assert "short video" in workspace.latest()[0].text
    # The waveform's peaks come from the audio: speech is loud somewhere, and there is one value per 20 ms of the
    # soundtrack (the sample's speech ends a little before its picture).
    wave = page.evaluate(f"fetch('/api/assets/{workspace.asset_id}/waveform').then(r => r.json())")
    duration_ms = workspace.catalog.get(workspace.asset_id).duration_ms or 0
    assert duration_ms / 20 * 0.8 < len(wave["peaks"]) <= duration_ms / 20 + 10 and max(wave["peaks"]) > 20
    page.close()


def test_keyboard_only_the_toolbar_is_one_tab_stop_with_a_visible_focus_and_the_help_dialog(
        workspace: Workspace, browser: Browser) -> None:
    page = _open(browser, workspace)
    page.focus("#reviewer-name")
    for _ in range(25):  # the name, the title (#17), the video and the waveform come first
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('.toolbar') !== null"):
            break
    assert page.evaluate("document.activeElement.textContent") == "Play/pause"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")  # the focus ring shows
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.textContent") == "Start = now"
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.textContent") == "Keyboard shortcuts"
    page.keyboard.press("Enter")
    assert page.is_visible("#help") and "Split the caption at the text cursor" in page.inner_text("#help")
    page.keyboard.press("Escape")
    assert not page.is_visible("#help")
    page.keyboard.press("Tab")  # one Tab leaves the toolbar
    assert page.evaluate("document.activeElement.id") == "pause-typing"
    page.close()


def test_hostile_caption_text_is_shown_literally_and_never_run(workspace: Workspace, browser: Browser) -> None:
    page = workspace.page(browser)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(workspace.url)
    assert page.locator(f"tr[data-asset='{workspace.hostile_id}'] a").inner_text() == "<b>bold</b>.mp4"
    page.goto(workspace.editor(workspace.hostile_id))
    page.wait_for_selector("body[data-ready=true]")
    assert _text(page, 1) == HOSTILE
    assert page.inner_text("#live-caption") == HOSTILE  # the caption at 0:00, as text
    assert page.evaluate("document.querySelectorAll('main img, #live-caption *').length") == 0
    page.wait_for_timeout(500)
    assert dialogs == []
    page.close()


def test_foreign_host_and_cross_site_writes_are_refused(workspace: Workspace) -> None:
    address = urllib.parse.urlsplit(workspace.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    connection.request("GET", "/", headers={"Host": "attacker.example"})
    assert connection.getresponse().status == 400
    connection.close()
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    connection.request("POST", f"/api/assets/{workspace.asset_id}/approve", body='{"reviewer": "x"}',
                       headers={"Content-Type": "application/json", "Origin": "http://attacker.example",
                                "Cookie": workspace.session_cookie()})
    assert connection.getresponse().status == 403
    connection.close()


def test_both_pages_pass_an_axe_scan_without_serious_problems(workspace: Workspace, browser: Browser) -> None:
    axe = Axe()
    page = workspace.page(browser)
    for url in (workspace.url, workspace.editor()):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        found = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}}).response["violations"]
        serious = [f"{v['id']}: {v['help']} ({len(v['nodes'])}x)" for v in found
                   if v["impact"] in ("serious", "critical")]
        assert serious == [], f"{url}: {serious}"
    page.close()


def test_approving_in_the_editor_records_the_reviewer(workspace: Workspace, browser: Browser) -> None:
    workspace.reset()
    asset = workspace.catalog.get(workspace.asset_id)
    for flag in flags.track_flags(workspace.settings, workspace.catalog, asset, "en"):  # nothing left unchecked
        flags.check(workspace.settings, workspace.catalog, asset, "en", flag.key, "Ann Reviewer")
    page = _open(browser, workspace, "Ann Reviewer")
    page.click("#approve")
    page.wait_for_function("() => document.getElementById('save-status').textContent.startsWith('Approved by')")
    assert workspace.catalog.get(workspace.asset_id).state is AssetState.APPROVED
    [track] = workspace.catalog.caption_tracks(workspace.asset_id)
    assert track.reviewer == "Ann Reviewer"
    path = workspace.settings.output_dir / workspace.asset_id / track.path
    assert "reviewed by Ann Reviewer" in path.read_text()
    # Looking at it again (the queue, the editor) leaves the approved file exactly as approved, for publish.
    page.goto(workspace.url)
    page.goto(workspace.editor())
    page.wait_for_selector("body[data-ready=true]")
    assert fsutil.sha256_file(path) == track.approved_sha256
    page.close()


def test_the_editor_runs_as_es_modules_under_the_content_security_policy(workspace: Workspace,
                                                                         browser: Browser) -> None:
    page = workspace.page(browser)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    response = page.goto(workspace.editor())
    assert response is not None
    assert "script-src 'self';" in response.headers["content-security-policy"]
    page.wait_for_selector("body[data-ready=true]")
    assert page.evaluate("[...document.scripts].filter((s) => s.src).map((s) => [s.type, new URL(s.src).pathname])") \
        == [["module", "/static/editor/main.js"], ["module", "/static/title.js"]]  # title.js: the title field (#17)
    page.keyboard.press("Alt+h")
    page.keyboard.press("Escape")
    assert problems == []
    page.close()


def test_typing_keeps_the_cursor_and_is_one_undo_step(workspace: Workspace, browser: Browser) -> None:
    workspace.reset()
    page = _open(browser, workspace)
    original = _text(page, 1)
    box = page.locator("#cue-list .text").first
    box.focus()
    box.evaluate("(el) => el.setSelectionRange(0, 0)")
    page.keyboard.type("Oh, ")  # each keystroke updates the state; the text box keeps its cursor
    assert _text(page, 1) == "Oh, " + original
    assert page.locator("#cue-list li").first.locator(".badge").first.inner_text() != ""
    page.keyboard.press("Control+z")
    assert _text(page, 1) == original
    page.keyboard.press("Control+y")
    assert _text(page, 1) == "Oh, " + original
    page.keyboard.press("Control+y")
    assert page.inner_text("#save-status") == "Nothing to redo"
    page.close()


def test_an_overlap_shows_on_the_caption_as_the_server_reports_it(workspace: Workspace, browser: Browser) -> None:
    workspace.reset()
    page = _open(browser, workspace)
    first = workspace.original[0]
    start = page.locator("#cue-list .start").nth(1)
    start.fill(f"0:{(first.end_ms - 300) / 1000:06.3f}")
    start.dispatch_event("change")
    assert "Overlaps the caption before it." in page.locator("#cue-list .problems").nth(1).inner_text()
    assert "Overlaps" not in page.locator("#cue-list .problems").first.inner_text()
    page.keyboard.press("Control+s")
    _saved(page)
    rules = editing.read_draft(workspace.settings, workspace.catalog, workspace.catalog.get(workspace.asset_id)).rules
    [overlap] = [v for v in quality.check(workspace.latest(), rules) if v.rule == "overlap"]
    assert (overlap.cue, overlap.value) == (2, 300)
    page.close()
