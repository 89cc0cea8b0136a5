"""The editor's gate, accessibility, layout and playback (#15) in a real browser: Debian's Chromium driven by
Playwright against the real app on 127.0.0.1, over assets with ten known captions, three flagged words (two in
one caption) and a real H.264 video made by ffmpeg, so that every check has a literal expected value."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect

from pipeline.captions import guards, quality, segment
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.models import AssetState, Cue, Rendition, RenditionKind, Word
from pipeline.review import editing
from pipeline.stages import caption
from pipeline.web.app import create_app
from tests.conftest import asset_awaiting_review, live_app, make_project, sign_in_path
from tests.media import silent_video
from tests.test_editor import WCAG_TAGS, focused_name
from tests.test_editor_modules import call
from tests.test_editor_modules import page as module_page

__all__ = ["module_page"]  # tests/test_editor_modules.py's fixture: a page that imports the editor's modules

TEXTS = ["Welcome to our safeguarding video.", "If something online worries you,", "talk to an adult you trust.",
         "You can call childline on 0800 1111.", "Mrs Patel is our safeguarding lead.", "Her door is always open.",
         "Tell her what happened, in your words.", "She will listen and help you.", "Nobody will be cross with you.",
         "Thank you for watching."]
CUES = [Cue(i * 3500, i * 3500 + 3000, text) for i, text in enumerate(TEXTS)]
FLAGGED = [guards.FlaggedWord(Word(11200, 11700, " childline", 0.31), (guards.Flag.LOW_CONFIDENCE,)),
           guards.FlaggedWord(Word(12000, 12400, " 0800", 0.9), (guards.Flag.PHONE_NUMBER,)),
           guards.FlaggedWord(Word(14300, 14700, " Patel", 0.8), (guards.Flag.PERSONAL_NAME,))]
SECONDS = 36


@dataclass
class Editor:
    url: str
    settings: Settings
    catalog: Catalog
    video: Path  # one short H.264 MP4, copied into each asset made
    app: Any  # the review app, for its sign-in path (#16)

    def signed_in(self, context: BrowserContext, path: str) -> Page:
        """A page of `context` signed in to the review app and opened at `path`."""
        page = context.new_page()
        page.goto(self.url + sign_in_path(self.app, path))
        return page

    def asset(self, name: str, cues: list[Cue] = CUES) -> str:
        """A new asset awaiting review with `cues`, the three flagged words and the video as its rendition."""
        asset = asset_awaiting_review(self.settings, self.catalog, name, cues)
        out = self.settings.output_dir / asset.id
        guards.write_words(out / caption.words_path("en"), FLAGGED)
        (out / "mp4").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.video, out / "mp4" / "240p.mp4")
        self.catalog.set_probe(asset.id, SECONDS * 1000, 320, 240, True)
        self.catalog.replace_renditions(asset.id, [Rendition(asset.id, "240p", RenditionKind.MP4, "mp4/240p.mp4",
                                                             320, 240, self.video.stat().st_size)])
        return asset.id

    def latest(self, asset_id: str) -> list[Cue]:
        asset = self.catalog.get(asset_id)
        return list(editing.read_draft(self.settings, self.catalog, asset).revision.cues)


@pytest.fixture(scope="module")
def editor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Editor]:
    root = tmp_path_factory.mktemp("access")
    project = make_project(root / "project")
    with project.config_file.open("a") as config_file:
        config_file.write('[captions]\nglossary = ["Childline"]\n')
    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    video = silent_video(root / "video.mp4", seconds=SECONDS, audio=True)
    app = create_app(settings, catalog)
    with live_app(app) as url:
        yield Editor(url, settings, catalog, video, app)


def _open(browser: Browser, editor: Editor, asset_id: str, name: str = "Ann Reviewer",
          **context: Any) -> Page:
    page = editor.signed_in(browser.new_context(**{"viewport": {"width": 1400, "height": 1000}, **context}),
                            f"/assets/{asset_id}")
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#reviewer-name", name)
    page.dispatch_event("#reviewer-name", "change")
    return page


def _close(page: Page) -> None:
    page.context.close()


def _status(page: Page) -> str:
    return str(page.inner_text("#save-status"))


def _selected_text(page: Page) -> str:
    return str(page.evaluate("(() => { const t = document.activeElement; "
                             "return t.value.slice(t.selectionStart, t.selectionEnd); })()"))


def _focused_cue(page: Page) -> int:
    return int(page.evaluate("Number(document.activeElement.closest('.cue').dataset.index)")) + 1


def _flag_states(page: Page, asset_id: str) -> dict[str, str]:
    found = page.evaluate(f"fetch('/api/assets/{asset_id}/captions/en/flags').then((r) => r.json())")
    return {f["word"]: f["state"] for f in found["flags"]}


def _saved(page: Page) -> None:
    page.wait_for_function("() => /Saved revision|saved as revision/.test("
                           "document.getElementById('save-status').textContent)")


def test_next_and_previous_flag_visit_every_flag_of_every_caption_in_order(editor: Editor, browser: Browser) -> None:
    page = _open(browser, editor, editor.asset("order.mp4"))
    page.locator("#cue-list .text").first.focus()
    visited = []
    for _ in range(4):
        page.keyboard.press("Alt+n")
        visited.append((_focused_cue(page), _selected_text(page)))
        assert "_" not in _status(page)  # plain words, never the internal names
    # Both flags of caption 4, then caption 5's, then round again.
    assert visited == [(4, "childline"), (4, "0800"), (5, "Patel"), (4, "childline")]
    assert _status(page).startswith("Caption 4: check “childline” (low confidence). 3 flagged words open")
    page.keyboard.press("Alt+Shift+n")
    assert (_focused_cue(page), _selected_text(page)) == (5, "Patel")
    assert "possible name of a person or place" in _status(page)
    page.keyboard.press("Alt+Shift+n")
    assert (_focused_cue(page), _selected_text(page)) == (4, "0800")
    _close(page)


def test_mark_checked_is_one_key_and_a_corrected_word_no_longer_asks_to_be_checked(editor: Editor,
                                                                                   browser: Browser) -> None:
    asset_id = editor.asset("check.mp4")
    page = _open(browser, editor, asset_id)
    flags = page.locator("#cue-list li").nth(3).locator(".flags")
    assert flags.inner_text().count("Check") == 2
    page.locator("#cue-list .text").first.focus()
    page.keyboard.press("Alt+n")  # "childline" selected: type over it
    page.keyboard.type("Childline")
    assert "Check childline" not in flags.inner_text() and "childline (low confidence) corrected" in flags.inner_text()
    page.keyboard.press("Alt+n")  # "0800" is right as it is
    assert _selected_text(page) == "0800"
    page.keyboard.press("Alt+k")
    page.wait_for_function("() => document.getElementById('save-status').textContent.includes('marked checked')")
    assert "0800 (phone number) checked by Ann Reviewer" in flags.inner_text()
    assert _status(page).startswith("“0800” in caption 4 marked checked by Ann Reviewer; 1 flagged word open")
    # Marking it checked saved the correction first, so that the check is of the text the server has.
    assert editor.latest(asset_id)[3].text == "You can call Childline on 0800 1111."
    assert _flag_states(page, asset_id) == {"childline": "corrected", "0800": "checked", "Patel": "open"}
    # The caption's flag line follows the server's states after a reload too, and a checked flag can be reopened.
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert "Check" not in flags.inner_text() and flags.locator("button").inner_text() == "Reopen"
    flags.locator("button").click()
    page.wait_for_function("() => document.getElementById('save-status').textContent.includes('open again')")
    assert _flag_states(page, asset_id)["0800"] == "open"
    _close(page)


def test_tab_goes_start_end_text_and_the_waveform_is_a_keyboard_control(editor: Editor, browser: Browser) -> None:
    asset_id = editor.asset("tab.mp4")
    page = _open(browser, editor, asset_id)
    page.locator("#cue-list .start").first.focus()
    order: list[str] = []
    while not order or order[-1] != "Start of caption 2":
        order.append(focused_name(page))
        page.keyboard.press("Tab")
        assert len(order) < 8, order
    # Start, end, text, then only the caption's own buttons (a comment, say) before the next caption.
    assert order[:3] == ["Start of caption 1", "End of caption 1", "Text of caption 1"]
    assert page.evaluate("document.querySelectorAll('#cue-list > li:first-child button:not([tabindex=\"-1\"])')"
                         ".length") == len(order) - 4
    # A start time typed in its field: Tab still goes on to the end time.
    start = page.locator("#cue-list .start").nth(1)
    start.fill("0:03.600")
    page.keyboard.press("Tab")
    assert focused_name(page) == "End of caption 2"
    # The waveform: Alt+W, the arrows move the playhead, + zooms, [ and ] set the selected caption's times.
    page.keyboard.press("Alt+w")
    wave = page.locator("#waveform")
    assert page.evaluate("document.activeElement.id") == "waveform" and wave.get_attribute("role") == "slider"
    before = int(wave.get_attribute("aria-valuenow") or -1)
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("ArrowRight")
    assert int(wave.get_attribute("aria-valuenow") or -1) == before + 1100
    page.keyboard.press("+")
    assert "zoom 2 times" in (wave.get_attribute("aria-valuetext") or "")
    page.keyboard.press("[")
    _saved(page)
    assert editor.latest(asset_id)[1].start_ms == before + 1100
    _close(page)


def test_each_badge_says_what_is_over_which_limit(editor: Editor, browser: Browser) -> None:
    page = _open(browser, editor, editor.asset("badge.mp4"))
    box = page.locator("#cue-list .text").first
    box.fill("Welcome to our safeguarding video, everyone here.")  # 49 characters in 3 s: 16.3 a second
    box.fill("Welcome to our safeguarding video, everyone here today!")  # 55 in 3 s: 18.3 a second
    badge = page.locator("#cue-list li").first.locator(".badge[data-figure=cps]")
    assert badge.get_attribute("data-level") == "error"
    assert badge.locator(".visually-hidden").inner_text() == (
        "reading speed 18.3 characters a second, over the limit of 17.")
    expect(box).to_have_accessible_description(
        "reading speed 18.3 characters a second, over the limit of 17. "
        "longest line 55 characters, over the limit of 42. on screen 3.0 seconds, within the target of 1.5 to 6 "
        "seconds.")
    box.fill("Welcome to our video.")
    assert badge.locator(".visually-hidden").inner_text() == (
        "reading speed 7.0 characters a second, within the target of 15.")
    _close(page)


def test_merge_and_split_take_their_line_breaks_from_the_segmenter(editor: Editor, browser: Browser) -> None:
    asset_id = editor.asset("layout.mp4")
    page = _open(browser, editor, asset_id)
    page.locator("#cue-list .text").nth(1).focus()
    page.keyboard.press("Alt+m")
    page.wait_for_function("() => document.querySelectorAll('#cue-list > li').length === 9")
    lines = segment.Layout(max_chars_per_line=37, max_lines=2)  # the children preset's line rules
    merged = segment.layout(f"{TEXTS[1]} {TEXTS[2]}", lines)
    assert "\n" in merged and page.locator("#cue-list .text").nth(1).input_value() == merged
    _saved(page)
    assert editor.latest(asset_id)[1].text == merged
    # Typing a long line and leaving the caption: the server's breaks again, as one undo step.
    box = page.locator("#cue-list .text").nth(4)
    box.fill("Her door is always open for every one of you, whoever you are.")
    page.keyboard.press("Tab")
    laid = segment.layout("Her door is always open for every one of you, whoever you are.", lines)
    page.wait_for_function(f"() => document.querySelectorAll('#cue-list .text')[4].value === {laid!r}")
    _close(page)


def test_the_live_caption_follows_an_edit_while_paused_and_never_covers_the_controls(editor: Editor,
                                                                                     browser: Browser) -> None:
    page = _open(browser, editor, editor.asset("live.mp4"))
    box = page.locator("#cue-list .text").nth(5)
    box.focus()
    page.keyboard.press("End")
    page.keyboard.type(" Always.")
    assert page.evaluate("document.getElementById('video').paused")
    assert page.inner_text("#live-caption") == "Her door is always open. Always."
    video = page.locator("#video").bounding_box()
    live = page.locator("#live-caption").bounding_box()
    assert video and live and live["y"] >= video["y"] + video["height"]  # under the picture and its controls
    _close(page)


def test_slowed_playback_near_flags_is_an_option_off_by_default(editor: Editor, browser: Browser) -> None:
    page = _open(browser, editor, editor.asset("slow.mp4"))
    assert not page.is_checked("#slow-flags")
    page.evaluate("const v = document.getElementById('video'); v.muted = true; v.currentTime = 10.2; v.play()")
    page.wait_for_function("() => document.getElementById('video').currentTime > 11")
    assert page.evaluate("document.getElementById('video').playbackRate") == 1  # off: full speed at "childline"
    page.check("#slow-flags")
    page.evaluate("document.getElementById('video').currentTime = 10.9")  # 0.3 s before "childline"
    page.wait_for_function("() => document.getElementById('video').playbackRate === 0.75")
    page.evaluate("document.getElementById('video').currentTime = 20")  # no flag near: back to full speed
    page.wait_for_function("() => document.getElementById('video').playbackRate === 1")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.is_checked("#slow-flags")  # remembered on this computer
    _close(page)


def test_autosave_resumes_as_soon_as_a_name_is_typed_and_leaving_unsaved_work_warns(editor: Editor,
                                                                                   browser: Browser) -> None:
    asset_id = editor.asset("name.mp4")
    page = editor.signed_in(browser.new_context(viewport={"width": 1400, "height": 1000}),  # no name remembered
                            f"/assets/{asset_id}")
    page.wait_for_selector("body[data-ready=true]")
    page.locator("#cue-list .text").first.fill("Welcome, everyone.")
    page.wait_for_function("() => document.getElementById('save-status').textContent.startsWith('Type your name')")
    page.locator("#reviewer-name").focus()
    page.keyboard.type("Bo Checker")  # the field is never left
    _saved(page)
    assert editor.latest(asset_id)[0].text == "Welcome, everyone."
    assert editor.catalog.revisions(asset_id, "en")[0].author == "Bo Checker"
    page.on("dialog", lambda dialog: dialog.dismiss())  # stay on the page
    page.locator("#cue-list .text").nth(1).fill("Unsaved for now.")
    with page.expect_event("dialog") as warned:
        page.close(run_before_unload=True)
    assert warned.value.type == "beforeunload"
    # The warning was dismissed, so the page is still open: close it without asking again before its context
    # (closing a context over a page that kept itself open crashed Chromium in a fresh Debian root).
    page.close()
    page.context.close()


def _visible_and_uncovered(page: Page) -> None:
    """No sideways scrolling; the focused element inside the viewport and under no sticky or fixed element."""
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    found = page.evaluate("""() => {
      const focused = document.activeElement.getBoundingClientRect();
      const inside = focused.top >= 0 && focused.left >= 0 && focused.bottom <= innerHeight
        && focused.right <= document.documentElement.clientWidth;
      const covering = [...document.querySelectorAll("body *")].filter((el) => {
        const position = getComputedStyle(el).position;
        if ((position !== "sticky" && position !== "fixed") || el.contains(document.activeElement)) return false;
        const r = el.getBoundingClientRect();
        return r.width && r.height && r.left < focused.right && focused.left < r.right && r.top < focused.bottom
          && focused.top < r.bottom;
      }).map((el) => el.className || el.tagName);
      return {inside, covering};
    }""")
    assert found == {"inside": True, "covering": []}


@pytest.mark.parametrize("size", ["320 px wide", "200% zoom"])
def test_reflow_with_the_focused_caption_fully_visible_and_axe_clean(editor: Editor, browser: Browser,
                                                                     size: str) -> None:
    context: dict[str, Any] = ({"viewport": {"width": 320, "height": 640}} if size == "320 px wide" else
                               {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2})
    page = _open(browser, editor, editor.asset(f"reflow {size}.mp4"), **context)
    page.locator("#cue-list .text").first.focus()
    _visible_and_uncovered(page)
    page.keyboard.press("Alt+n")
    page.keyboard.press("Alt+n")
    page.keyboard.press("Alt+n")  # caption 5
    assert _focused_cue(page) == 5
    _visible_and_uncovered(page)
    for _ in range(4):
        page.keyboard.press("Alt+ArrowDown")
    assert _focused_cue(page) == 9
    _visible_and_uncovered(page)
    page.keyboard.press("Alt+a")
    assert page.evaluate("document.activeElement.id") == "approve"
    _visible_and_uncovered(page)
    found = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}}).response["violations"]
    assert [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")] == []
    _close(page)


def test_approve_is_refused_with_open_flags_and_accepted_with_a_reason(editor: Editor, browser: Browser) -> None:
    asset_id = editor.asset("approve.mp4")
    page = _open(browser, editor, asset_id)
    links = page.locator("#open-items-list a")
    assert links.count() == 3 and links.first.inner_text() == "Caption 4: check “childline” (low confidence)"
    page.click("#approve")
    page.wait_for_function("() => document.getElementById('decide-status').textContent.startsWith('Not approved')")
    assert editor.catalog.get(asset_id).state is AssetState.AWAITING_REVIEW
    assert page.evaluate("document.activeElement.id") == "override-reason"
    assert "3 flagged words to check" in page.inner_text("#open-items-text")
    assert _status(page) == page.inner_text("#decide-status")  # announced, and shown next to the button
    page.locator("#open-items-list a").nth(2).click()  # to the caption and its word
    assert (_focused_cue(page), _selected_text(page)) == (5, "Patel")
    page.fill("#override-reason", "Names and the number checked against the school's letter")
    page.click("#approve")
    page.wait_for_function("() => document.getElementById('decide-status').textContent.startsWith('Approved by')")
    assert editor.catalog.get(asset_id).state is AssetState.APPROVED
    assert page.inner_text("#review-status") == "approved"
    assert page.inner_text("#decide-status").startswith(
        "Approved by Ann Reviewer with 3 unchecked items: Names and the number checked against the school's letter.")
    # An edit sends it back to review, and the header says so after the save.
    page.locator("#cue-list .text").first.fill("Welcome to our safeguarding film.")
    _saved(page)
    page.wait_for_function("() => document.getElementById('review-status').textContent === 'awaiting review'")
    assert "sent the captions back to review" in page.inner_text("#decide-status")
    _close(page)


def test_captions_without_a_cue_need_the_no_speech_decision(editor: Editor, browser: Browser) -> None:
    asset_id = editor.asset("silent.mp4", cues=[])
    page = _open(browser, editor, asset_id)
    assert page.locator("#no-speech-box").is_visible()
    page.keyboard.press("Alt+a")
    assert page.evaluate("document.activeElement.id") == "no-speech-reason"
    page.keyboard.type("Music only, no words or sounds that matter")
    page.click("#no-speech")
    page.wait_for_function("() => document.getElementById('no-speech-decided').textContent.startsWith('Decided')")
    assert "no speech, nothing to caption" in page.inner_text("#no-speech-decided")
    assert editor.catalog.get(asset_id).state is AssetState.APPROVED
    _close(page)


def test_correcting_and_approving_ten_captions_with_three_flags_by_keyboard(editor: Editor, browser: Browser) -> None:
    """The closing note's figure: the key presses from the page open (name remembered, focus at the top) to
    approved, correcting one flagged word and checking the other two."""
    asset_id = editor.asset("walk.mp4")
    page = _open(browser, editor, asset_id)
    page.reload()  # the name is remembered on this computer
    page.wait_for_selector("body[data-ready=true]")
    presses = 0

    def press(*keys: str) -> None:
        nonlocal presses
        for key in keys:
            page.keyboard.press(key)
            presses += 1

    press("Alt+n")  # caption 4, "childline"
    for key in "Childline":
        press(key)
    press("Alt+n", "Alt+k")  # "0800" is right
    page.wait_for_function("() => document.getElementById('save-status').textContent.includes('marked checked')")
    press("Alt+n", "Alt+k")  # "Patel" is right
    page.wait_for_function("() => document.getElementById('save-status').textContent.includes('0 flagged words')")
    press("Alt+a", "Enter")
    page.wait_for_function("() => document.getElementById('decide-status').textContent.startsWith('Approved by')")
    assert editor.catalog.get(asset_id).state is AssetState.APPROVED
    assert editor.latest(asset_id)[3].text == "You can call Childline on 0800 1111."
    assert presses == 16
    _close(page)


# -- the pure modules behind it (flags.js, waveform-keys.js, quality.js figures, decide.js, gate.js), imported in
# the page of tests/test_editor_modules.py: literal values, inputs deep-frozen.


def _flag(key: str, word: str, start_ms: int, state: str = "open") -> dict[str, Any]:
    return {"key": key, "word": word, "start_ms": start_ms, "end_ms": start_ms + 300, "labels": ["low confidence"],
            "cue_id": "", "state": state, "by": None}


ROWS = [{"id": "a", "start_ms": 0, "end_ms": 2000, "text": "the the cat"},
        {"id": "b", "start_ms": 2500, "end_ms": 5000, "text": "Call childline now."}]
FLAGS = [_flag("k3", "childline", 3000), _flag("k2", "the", 400), _flag("k1", "the", 100)]


def test_flags_are_walked_in_caption_and_time_order_and_found_in_the_text(module_page: Page) -> None:
    def walk(flags: list[dict[str, Any]], index: int, key: str | None, step: int = 1) -> tuple[int, str] | None:
        found = call(module_page, "flags.js", "nextFlag", ROWS, flags, {"index": index, "key": key}, step)
        return None if found is None else (found["index"], found["flag"]["key"])

    assert walk(FLAGS, 0, None) == (0, "k1")
    assert walk(FLAGS, 0, "k1") == (0, "k2") and walk(FLAGS, 0, "k2") == (1, "k3") and walk(FLAGS, 1, "k3") == (0, "k1")
    assert walk(FLAGS, 0, "k1", -1) == (1, "k3") and walk(FLAGS, 1, None, -1) == (1, "k3")
    checked = [FLAGS[0], _flag("k2", "the", 400, "checked"), FLAGS[2]]
    assert walk(checked, 0, "k1") == (1, "k3")  # open flags only while any are open
    assert walk([_flag("k2", "the", 400, "checked")], 1, None) == (0, "k2")  # then every flag
    assert walk([], 0, None) is None
    # Each "the" at its own occurrence; a word changed since shows as corrected (case counts).
    second = call(module_page, "flags.js", "nextFlag", ROWS, FLAGS, {"index": 0, "key": "k1"}, 1)
    assert call(module_page, "flags.js", "wordRange", ROWS, FLAGS, second) == {"start": 4, "end": 7}
    fixed = {**ROWS[1], "text": "Call Childline now."}
    assert call(module_page, "flags.js", "shownState", fixed, FLAGS[0]) == "corrected"
    assert call(module_page, "flags.js", "shownState", ROWS[1], FLAGS[0]) == "open"
    described = call(module_page, "flags.js", "describe", {"flag": FLAGS[0], "state": "open"})
    assert described == "Check “childline” (low confidence)"
    assert call(module_page, "flags.js", "flagToCheck", ROWS, FLAGS, {"index": 0, "key": "k2"})["flag"]["key"] == "k2"
    assert call(module_page, "flags.js", "flagToCheck", ROWS, FLAGS, {"index": 1, "key": None})["flag"]["key"] == "k3"


def test_the_waveform_keys_and_zoom(module_page: Page) -> None:
    keys = [{"key": "ArrowRight"}, {"key": "ArrowLeft", "shiftKey": True}, {"key": "+"}, {"key": "-"},
            {"key": "["}, {"key": "]"}, {"key": "Home"}, {"key": "a"}, {"key": "ArrowRight", "altKey": True}]
    assert [call(module_page, "waveform-keys.js", "waveKey", k) for k in keys] == [
        {"move": 100}, {"move": -1000}, {"zoom": 1}, {"zoom": -1}, {"set": "start_ms"}, {"set": "end_ms"},
        {"to": "start"}, None, None]
    assert [call(module_page, "waveform-keys.js", "zoomBy", z, s) for z, s in [(1, 1), (16, 1), (1, -1), (4, -1)]] == [
        2, 16, 1, 2]
    assert call(module_page, "waveform-keys.js", "waveWindow", 40000, 4, 20000) == {"from": 15000, "to": 25000}
    assert call(module_page, "waveform-keys.js", "waveWindow", 40000, 4, 1000) == {"from": 0, "to": 10000}
    assert call(module_page, "waveform-keys.js", "waveWindow", 40000, 4, 39000) == {"from": 30000, "to": 40000}


def test_figures_in_words_and_what_approval_would_leave_open(module_page: Page) -> None:
    children = dataclasses.asdict(quality.rules_for("children"))
    spoken = [f["spoken"] for f in call(module_page, "quality.js", "figures",
                                        {"start_ms": 0, "end_ms": 1200, "text": "One\ntwo\nthree"}, children)]
    assert spoken == ["reading speed 10.8 characters a second, within the target of 15",
                      "longest line 5 characters, 3 lines, over the limit of 2 lines",
                      "on screen 1.2 seconds, under the target of 1.5 seconds"]
    problems = [{"cue": 1, "level": "error", "message": "too fast to read", "value": 18.3, "limit": 17},
                {"cue": 2, "level": "warning", "message": "fast to read", "value": 16, "limit": 15}]
    items = call(module_page, "decide.js", "openItems", ROWS, FLAGS, problems)
    assert [(i["kind"], i["cue"]) for i in items] == [("flag", 1), ("flag", 1), ("error", 1), ("flag", 2)]
    assert items[2]["text"] == "too fast to read (18.3; the limit is 17)"
    assert call(module_page, "decide.js", "itemsText", items) == "3 flagged words to check and 1 error"
    answer = {"flags": [], "asset_state": "approved", "decision": "no speech: nothing to caption"}
    assert call(module_page, "gate.js", "gateFields", answer) == {"flags": [], "assetState": "approved"}
