"""The editor at a feature film's 1,500 cues (#20) in a real browser, Debian's Chromium driven by Playwright
against the real app on 127.0.0.1: an edit redraws only what it changed. Typing in one caption changes only that
caption's row; a split, a merge and an undo keep every other row's DOM node; the save of a one-caption change
sends only that caption, and a reload shows what was edited. Behaviour, not speed: the times are
benchmarks/scale_editor.py's."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from pipeline import fsutil
from pipeline.captions import guards
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.models import Cue, Word
from pipeline.review import editing, waveform
from pipeline.stages import caption
from pipeline.web.app import create_app
from tests.conftest import asset_awaiting_review, live_app, make_project, sign_in_path

COUNT = 1500
CUES = [Cue(i * 4000, i * 4000 + 3000, f"Caption number {i + 1} of the film,\nsaid slowly and clearly.")
        for i in range(COUNT)]
# One flagged word in every fiftieth caption, so that the rows carry flags too.
FLAGGED = [guards.FlaggedWord(Word(c.start_ms + 300, c.start_ms + 700, " number", 0.3), (guards.Flag.LOW_CONFIDENCE,))
           for c in CUES[::50]]

# Every row a mutation of the list touched since WATCH ran, and the list's rows as they were then. The message
# copied under the caption being worked on (.cue-note) leaves the row it was in: that is not a redraw.
WATCH = """() => {
  const list = document.getElementById('cue-list');
  window.rowsThen = [...list.children];
  window.textsThen = window.rowsThen.map((row) => row.querySelector('.text').value);
  window.touched = new Set();
  window.watcher?.disconnect();
  window.watcher = new MutationObserver((records) => {
    for (const r of records) {
      const node = r.target.nodeType === Node.ELEMENT_NODE ? r.target : r.target.parentElement;
      if (node.closest('.cue-note')) continue;
      const row = node.closest('#cue-list > li');
      if (row) window.touched.add(row);
      else r.addedNodes.forEach((n) => window.touched.add(n));  // a row added to the list itself
    }
  });
  window.watcher.observe(list, {subtree: true, childList: true, attributes: true, characterData: true});
}"""
# What changed: the positions now of the rows touched and of the rows of then whose caption text is another now
# (a row that shows another caption than before was redrawn, not kept), whether the rows of then still in the
# list are in the same order, how many rows of then are gone, and how many rows there are.
SEEN = """() => {
  const rows = [...document.getElementById('cue-list').children];
  const kept = window.rowsThen.filter((row) => row.isConnected);
  const order = kept.every((row, i) => i === 0 || rows.indexOf(kept[i - 1]) < rows.indexOf(row));
  const changed = window.rowsThen.filter((row, i) => row.isConnected
    && row.querySelector('.text').value !== window.textsThen[i]);
  const at = (list) => list.map((row) => rows.indexOf(row)).sort((a, b) => a - b);
  return {touched: at([...window.touched]), changed: at(changed),
          gone: window.rowsThen.length - kept.length, order, count: rows.length};
}"""


@dataclass
class Film:
    url: str
    settings: Settings
    catalog: Catalog
    asset_id: str
    app: Any

    def latest(self) -> list[Cue]:
        asset = self.catalog.get(self.asset_id)
        return list(editing.read_draft(self.settings, self.catalog, asset).revision.cues)


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Film]:
    root = tmp_path_factory.mktemp("scale")
    settings = make_project(root / "project").settings()
    catalog = Catalog.open(settings.state_dir)
    asset = asset_awaiting_review(settings, catalog, "film.mov", CUES)
    duration_ms = COUNT * 4000
    catalog.set_probe(asset.id, duration_ms, 320, 240, True)
    out = settings.output_dir / asset.id
    guards.write_words(out / caption.words_path("en"), FLAGGED)
    peaks = [(i * 37) % 90 for i in range(duration_ms * waveform.PEAKS_PER_SECOND // 1000)]
    fsutil.write_text(out / waveform.NAME, json.dumps({"peaks_per_second": waveform.PEAKS_PER_SECOND,
                                                       "peaks": peaks}))
    app = create_app(settings, catalog)
    with live_app(app) as url:
        yield Film(url, settings, catalog, asset.id, app)


def _open(browser: Browser, film: Film) -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(film.url + sign_in_path(film.app, f"/assets/{film.asset_id}"))
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    return page


def _watch(page: Page) -> None:
    page.evaluate(WATCH)


def _seen(page: Page) -> dict[str, Any]:
    page.wait_for_timeout(50)  # the observer's last records
    return dict(page.evaluate(SEEN))


def _rows(page: Page) -> int:
    return int(page.evaluate("document.getElementById('cue-list').children.length"))


def _texts(page: Page) -> list[str]:
    return list(page.evaluate("[...document.querySelectorAll('#cue-list .text')].map((t) => t.value)"))


def _caret(page: Page, index: int, at: int) -> None:
    box = page.locator("#cue-list .text").nth(index)
    box.focus()
    box.evaluate("(el, at) => el.setSelectionRange(at, at)", at)


def test_edits_at_1500_cues_touch_only_their_rows_and_the_save_only_their_cue(film: Film, browser: Browser) -> None:
    page = _open(browser, film)
    assert _rows(page) == COUNT
    # Typing in caption 700: its row changes, no other row does, and its reading-speed badge follows.
    _caret(page, 699, len(CUES[699].text))
    badge = "document.querySelectorAll('#cue-list .cue')[699].querySelector('.badge[data-figure=cps]').textContent"
    figure = page.evaluate(badge)
    _watch(page)
    page.keyboard.type("!!")
    seen = _seen(page)
    assert seen == {"touched": [699], "changed": [699], "gone": 0, "order": True, "count": COUNT}
    assert page.evaluate(badge) != figure
    # Split caption 800 at the cursor: one row more, every other row the same node in the same order, the rows
    # before it untouched; the focus is at the start of the second part.
    _caret(page, 799, CUES[799].text.index(" of "))
    _watch(page)
    page.keyboard.press("Alt+s")
    page.wait_for_function(f"() => document.getElementById('cue-list').children.length === {COUNT + 1}")
    seen = _seen(page)
    assert (seen["changed"], seen["gone"], seen["order"], seen["count"]) == ([799], 0, True, COUNT + 1)
    assert seen["touched"][0] == 799  # the rows after it are renumbered
    assert page.evaluate("[document.activeElement.closest('.cue').dataset.index, document.activeElement.selectionStart]"
                         ) == ["800", 0]
    # The rows after it say their new numbers as a screen reader hears them (each label points to its row's
    # number, #20); the decision list (off screen, brought up to date when it is needed) does too.
    far = page.locator("#cue-list > li").nth(1400)
    expect(far.locator(".text")).to_have_accessible_name("Text of caption 1401")
    expect(far.locator(".seek")).to_have_accessible_name(re.compile(r"^Play caption 1401 from \d+:\d\d\.\d+$"))
    page.locator("#decide").scroll_into_view_if_needed()
    expect(page.locator("#open-items-list a", has_text="Caption 852: check")).to_have_count(1)
    expect(page.locator("#open-items-list a", has_text="Caption 851: check")).to_have_count(0)
    _caret(page, 799, 0)
    # Merge it back with the next: one row goes, the others stay.
    _watch(page)
    page.keyboard.press("Alt+m")
    page.wait_for_function(f"() => document.getElementById('cue-list').children.length === {COUNT}")
    seen = _seen(page)
    assert (seen["changed"], seen["gone"], seen["order"], seen["count"]) == ([799], 1, True, COUNT)
    assert seen["touched"][0] == 799
    # Undo the merge: the split's two rows again, the rest the same nodes.
    _watch(page)
    page.keyboard.press("Control+z")
    page.wait_for_function(f"() => document.getElementById('cue-list').children.length === {COUNT + 1}")
    seen = _seen(page)
    assert (seen["changed"], seen["gone"], seen["order"]) == ([799], 0, True)
    assert seen["touched"][0] == 799
    edited = _texts(page)
    # A name: everything so far saves. Then one more character in caption 10: the save carries only that caption.
    page.fill("#reviewer-name", "Ann Reviewer")
    page.dispatch_event("#reviewer-name", "change")
    saved = "() => document.getElementById('save-status').textContent.startsWith('Saved revision')"
    page.wait_for_function(saved)
    page.evaluate("document.getElementById('save-status').textContent = ''")
    _caret(page, 9, len(CUES[9].text))
    page.keyboard.type("?")
    with page.expect_response(lambda r: r.request.method == "PUT" and "/captions/" in r.url) as answer:
        page.keyboard.press("Control+s")
    page.wait_for_function(saved)
    sent = answer.value.request.post_data_buffer or b""
    body = json.loads(sent)
    assert len(sent) < 10_000
    assert [c["id"] for c in body["changes"]] == [film.latest()[9].id]
    assert body["changes"][0]["cue"]["text"] == CUES[9].text + "?"
    reply = answer.value.json()
    assert (reply["cues"], reply["problems"]) == (None, None)  # neither the track nor its report come back
    edited[9] += "?"
    # After a reload the editor shows what was edited, as the catalog has it.
    page.reload()
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    assert _texts(page) == edited == [c.text for c in film.latest()]
    page.context.close()
