"""Two reviewers at once in a real browser (issue #15): Debian's Chromium driven by Playwright, one browser context
each, against the real app on 127.0.0.1 over a master that went through the real pipeline. Saves carry their base
revision and only the captions changed; edits to different captions merge without a prompt; a caption both
changed is decided per caption, next to it; undo, restore and import never overwrite someone else's saved change
without a choice that names them."""

from __future__ import annotations

import dataclasses

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from pipeline.captions import vtt
from tests.test_editor import WCAG_TAGS, Workspace, _open, _saved, _text, workspace

__all__ = ["workspace"]  # the module-scoped fixture of tests/test_editor.py, served again for this module

ANN = "Ann Reviewer"
BOB = "Bob Checker"


def _status(page: Page, starts: str) -> str:
    page.wait_for_function("(s) => document.getElementById('save-status').textContent.startsWith(s)", arg=starts)
    return page.inner_text("#save-status")


def _latest_number(workspace: Workspace) -> int:
    return workspace.catalog.revisions(workspace.asset_id, "en")[0].number


def _focused(page: Page) -> list[object]:
    return list(page.evaluate("""() => { const t = document.activeElement;
      return [t.closest('.cue')?.dataset.index ?? null, t.className, t.selectionStart]; }"""))


def test_two_reviewers_edits_to_different_captions_merge_and_undo_keeps_the_other_ones_fix(
        workspace: Workspace, browser: Browser) -> None:
    workspace.reset()
    original = workspace.original
    bob = _open(browser, workspace, BOB)  # Bob opens the editor first: his copy is the older revision
    ann = _open(browser, workspace, ANN)
    # Ann fixes caption 1 and it saves.
    ann_fix = original[0].text.rstrip(".") + ", always."
    ann.locator("#cue-list .text").first.fill(ann_fix)
    ann.keyboard.press("Control+s")
    _saved(ann)
    ann_revision = _latest_number(workspace)
    # Bob, on the older revision, types in caption 2 and saves: merged, no prompt.
    box = bob.locator("#cue-list .text").nth(1)
    box.focus()
    box.evaluate("(el) => el.setSelectionRange(el.value.length, el.value.length)")
    bob.keyboard.type(" Really")
    bob.keyboard.press("Control+s")
    message = _status(bob, "Merged with")
    assert message.startswith(f"Merged with {ANN}'s revision {ann_revision} (caption 1); saved as revision ")
    assert bob.locator(".cue-conflict").count() == 0  # no prompt
    assert _text(bob, 1) == ann_fix  # Ann's change is shown to Bob
    bob_fix = original[1].text + " Really"
    assert _text(bob, 2) == bob_fix
    assert _focused(bob) == ["1", "text", len(bob_fix)]  # the caret stayed where Bob was typing
    latest = workspace.latest()
    assert (latest[0].text, latest[1].text) == (ann_fix, bob_fix)  # both fixes
    assert [c.id for c in latest] == [c.id for c in original]  # cue ids kept
    # Bob presses Ctrl+Z until there is nothing left to undo: only his own typing goes, Ann's fix stays.
    for _ in range(8):
        bob.keyboard.press("Control+z")
    assert bob.inner_text("#save-status") == "Nothing to undo"
    assert (_text(bob, 1), _text(bob, 2)) == (ann_fix, original[1].text)
    _status(bob, "Saved revision")
    assert [c.text for c in workspace.latest()][:2] == [ann_fix, original[1].text]
    # Redo brings his fix back; the latest revision has both fixes again.
    for _ in range(8):
        bob.keyboard.press("Control+y")
    assert _text(bob, 2) == bob_fix
    _status(bob, "Saved revision")
    latest = workspace.latest()
    assert (latest[0].text, latest[1].text) == (ann_fix, bob_fix)
    assert [c.text for c in latest[2:]] == [c.text for c in original[2:]]
    ann.close()
    bob.close()


def test_a_caption_both_changed_is_decided_per_caption_next_to_it(workspace: Workspace, browser: Browser) -> None:
    workspace.reset()
    original = workspace.original
    bob = _open(browser, workspace, BOB)
    ann = _open(browser, workspace, ANN)
    for n, text in ((1, "Ann's first."), (2, "Ann's second.")):
        ann.locator("#cue-list .text").nth(n - 1).fill(text)
    ann.keyboard.press("Control+s")
    _saved(ann)
    ann_revision = _latest_number(workspace)
    for n, text in ((1, "Bob's first."), (2, "Bob's second."), (3, "Bob's third.")):
        bob.locator("#cue-list .text").nth(n - 1).fill(text)
    bob.keyboard.press("Control+s")
    # Each caption both changed shows both versions in its own row; the first gets the focus, and it is an alert.
    bob.wait_for_selector("#cue-list li:nth-child(1) .cue-conflict")
    rows = bob.locator("#cue-list > li")
    assert rows.nth(1).locator(".cue-conflict").count() == 1 and bob.locator(".cue-conflict").count() == 2
    first = rows.nth(0).locator(".cue-conflict")
    assert f"{ANN}'s version, revision {ann_revision}" in first.inner_text()
    assert "Your version" in first.inner_text() and "Bob's first." in first.inner_text()
    assert "Ann's first." in first.inner_text()
    assert bob.evaluate("document.activeElement.textContent") == f"Keep mine (replaces {ANN}'s change)"
    assert bob.evaluate("document.activeElement.closest('.cue').dataset.index") == "0"
    alert = first.locator("[role=alert]").inner_text()
    assert f"{ANN} saved revision {ann_revision}" in alert and "caption 1" in alert and "caption 2" in alert
    assert bob.locator("#conflict, #conflict-load").count() == 0  # the old top-of-page box is gone
    found = Axe().run(bob, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}}).response["violations"]
    assert [v["id"] for v in found if v["impact"] in ("serious", "critical")] == []
    # Rebased: Bob's other change is still there, the two contested captions show Ann's for now; nothing saved.
    assert (_text(bob, 1), _text(bob, 2), _text(bob, 3)) == ("Ann's first.", "Ann's second.", "Bob's third.")
    bob.wait_for_timeout(workspace.settings.review.autosave_seconds * 1000 + 1500)
    assert _latest_number(workspace) == ann_revision  # the autosave waits for the decisions
    # Caption 1: keep mine. Still one to decide: nothing saved.
    bob.keyboard.press("Enter")
    assert _text(bob, 1) == "Bob's first." and bob.locator(".cue-conflict").count() == 1
    assert "decide the 1 caption" in bob.inner_text("#save-status")
    bob.wait_for_timeout(workspace.settings.review.autosave_seconds * 1000 + 1500)
    assert _latest_number(workspace) == ann_revision
    # Caption 2: keep Ann's. Every caption decided: it saves from Ann's revision.
    rows.nth(1).locator(".cue-conflict .keep-theirs").click()
    assert bob.locator(".cue-conflict").count() == 0
    _status(bob, "Saved revision")
    latest = workspace.latest()
    assert [c.text for c in latest[:3]] == ["Bob's first.", "Ann's second.", "Bob's third."]
    assert [c.text for c in latest[3:]] == [c.text for c in original[3:]]
    # Now Ann, on her older revision, changes caption 3 that Bob changed: she writes a text of her own there.
    ann.locator("#cue-list .text").nth(2).fill("Ann's third.")
    ann.keyboard.press("Control+s")
    ann.wait_for_selector("#cue-list li:nth-child(3) .cue-conflict")
    assert ann.evaluate("document.activeElement.textContent") == f"Keep mine (replaces {BOB}'s change)"
    own = ann.locator("#cue-list li:nth-child(3) .cue-conflict .own-text")
    assert own.input_value() == "Ann's third."
    own.fill("Bob's and Ann's third.")
    ann.locator("#cue-list li:nth-child(3) .cue-conflict .use-own").click()
    _status(ann, "Saved revision")
    assert [c.text for c in workspace.latest()[:3]] == ["Bob's first.", "Ann's second.", "Bob's and Ann's third."]
    assert _text(ann, 1) == "Bob's first."  # Bob's caption 1 reached her with the rebase
    ann.close()
    bob.close()


def test_restore_chooses_per_caption_and_names_whose_change_it_replaces(workspace: Workspace,
                                                                        browser: Browser) -> None:
    workspace.reset()
    start = _latest_number(workspace)
    original = workspace.original
    bob = _open(browser, workspace, BOB)
    bob.locator("#cue-list .text").first.fill("Bob changed this.")
    bob.keyboard.press("Control+s")
    _saved(bob)
    ann = _open(browser, workspace, ANN)
    ann.locator("#cue-list .text").nth(1).fill("Ann changed this.")
    ann.keyboard.press("Control+s")
    _saved(ann)
    ann_revision = _latest_number(workspace)
    # Bob, still on his own revision, restores the revision before both changes.
    bob.click("#history summary")
    bob.locator("#history-list button", has_text=f"revision {start}…").click()
    bob.wait_for_selector("#choice:not([hidden])")
    assert bob.evaluate("document.activeElement.id") == "choice-heading"
    items = bob.locator("#choice-list li")
    assert items.count() == 2
    mine, hers = items.nth(0), items.nth(1)
    assert "Restore caption 1" in mine.inner_text() and f"replaces {BOB}'s change" in mine.inner_text()
    assert f"Restore caption 2, text changed (replaces {ANN}'s change in revision {ann_revision})" in hers.inner_text()
    assert "Ann changed this." in hers.locator("del").inner_text()
    assert original[1].text.split("\n")[0] in hers.locator("ins").inner_text()
    # His own change is ticked for him, Ann's is not: taking hers back needs his tick.
    assert mine.locator("input").is_checked() and not hers.locator("input").is_checked()
    bob.click("#choice-apply")
    _status(bob, f"Revision {start}: 1 caption(s) restored as revision")
    latest = workspace.latest()
    assert (latest[0].text, latest[1].text) == (original[0].text, "Ann changed this.")  # Ann's change stays
    assert (_text(bob, 1), _text(bob, 2)) == (original[0].text, "Ann changed this.")
    # Restoring Ann's caption too is a choice that names her: ticked on purpose, it is restored.
    bob.locator("#history-list button", has_text=f"revision {start}…").click()
    bob.wait_for_selector("#choice:not([hidden])")
    [only] = [bob.locator("#choice-list li").nth(i) for i in range(bob.locator("#choice-list li").count())]
    assert f"replaces {ANN}'s change in revision {ann_revision}" in only.inner_text()
    only.locator("input").check()
    before = _latest_number(workspace)
    bob.click("#choice-apply")
    _status(bob, f"Revision {start}: 1 caption(s) restored as revision {before + 1}")
    assert workspace.latest()[1].text == original[1].text
    ann.close()
    bob.close()


def test_history_shows_per_caption_differences_and_comments_reach_the_next_reviewer(
        workspace: Workspace, browser: Browser) -> None:
    workspace.reset()
    start = _latest_number(workspace)
    original = workspace.original
    ann = _open(browser, workspace, ANN)
    ann.locator("#cue-list .text").nth(2).fill("A new third caption.")
    ann.keyboard.press("Control+s")
    _saved(ann)
    # A comment on caption 3, for the next reviewer.
    ann.locator("#cue-list > li").nth(2).locator(".comment-open").click()
    assert ann.evaluate("document.activeElement.id") == "comment-text"
    ann.keyboard.type("Is this what the speaker says?")
    ann.get_by_role("button", name="Add comment").click()
    _status(ann, "Comment added to caption 3")
    bob = _open(browser, workspace, BOB)
    note = bob.locator("#cue-list > li").nth(2).locator(".cue-comments")
    note.wait_for()
    bob.wait_for_function("() => document.querySelectorAll('#cue-list .comment-items li').length === 1")
    assert f"{ANN}" in note.inner_text() and "Is this what the speaker says?" in note.inner_text()
    assert "(1 open)" in bob.inner_text("#comments")
    # The differences between the two revisions, caption by caption, with what went and what came.
    bob.click("#history summary")
    bob.select_option("#compare-from", str(start))
    bob.select_option("#compare-to", str(_latest_number(workspace)))
    bob.click("#compare")
    bob.wait_for_selector("#compare-list li")
    [change] = [bob.locator("#compare-list li").nth(i) for i in range(bob.locator("#compare-list li").count())]
    assert change.inner_text().startswith(f"Caption 3, text changed by {ANN} in revision")
    assert change.locator("del").inner_text().split() == ["removed:", *original[2].text.split()]
    assert change.locator("ins").inner_text().split() == "added: A new third caption.".split()
    assert bob.locator("#events-list li").count() >= 1  # the asset's states and decisions, oldest first
    # Bob resolves the comment: it leaves the caption, the list says who resolved it.
    note.get_by_role("button", name=f"Resolve {ANN}'s comment on caption 3").click()
    _status(bob, f"{ANN}'s comment resolved")
    assert note.locator(".comment-items li").count() == 0
    assert f"Resolved by {BOB}" in bob.inner_text("#comments-list")
    ann.close()
    bob.close()


def test_import_shows_each_caption_first_and_takes_only_the_ticked_ones(workspace: Workspace,
                                                                        browser: Browser) -> None:
    workspace.reset()
    original = workspace.original
    bob = _open(browser, workspace, BOB)
    ann = _open(browser, workspace, ANN)
    ann.locator("#cue-list .text").nth(1).fill("Ann changed this.")
    ann.keyboard.press("Control+s")
    _saved(ann)
    ann_revision = _latest_number(workspace)
    # Bob's file from another program: caption 1 edited there, caption 2 as it was before Ann's change.
    edited = [dataclasses.replace(original[0], text="Edited in Aegisub.", id=""),
              *[dataclasses.replace(c, id="") for c in original[1:]]]
    bob.set_input_files("#import-file", files=[{"name": "edited.srt", "mimeType": "application/x-subrip",
                                                "buffer": vtt.format_srt(edited).encode()}])
    bob.click("#import")
    bob.wait_for_selector("#choice:not([hidden])")
    assert bob.inner_text("#choice-heading") == "Import captions from edited.srt"
    items = bob.locator("#choice-list li")
    assert items.count() == 2
    first, hers = items.nth(0), items.nth(1)
    assert "Import caption 1" in first.inner_text() and "Edited in Aegisub." in first.locator("ins").inner_text()
    assert f"Import caption 2, text changed (replaces {ANN}'s change in revision {ann_revision})" in hers.inner_text()
    assert not hers.locator("input").is_checked()
    first.locator("input").check()
    bob.click("#choice-apply")
    _status(bob, "edited.srt: 1 caption(s) imported as revision")
    latest = workspace.latest()
    assert (latest[0].text, latest[1].text) == ("Edited in Aegisub.", "Ann changed this.")  # Ann's change stays
    assert (_text(bob, 1), _text(bob, 2)) == ("Edited in Aegisub.", "Ann changed this.")
    ann.close()
    bob.close()


def test_an_undo_step_on_a_caption_someone_else_changed_since_is_left_and_said(workspace: Workspace,
                                                                                browser: Browser) -> None:
    workspace.reset()
    original = workspace.original
    bob = _open(browser, workspace, BOB)
    bob.locator("#cue-list .text").first.fill("Bob's first go.")
    bob.keyboard.press("Control+s")
    _saved(bob)
    ann = _open(browser, workspace, ANN)  # Ann sees Bob's revision and changes the same caption after him
    ann.locator("#cue-list .text").first.fill("Ann's better go.")
    ann.keyboard.press("Control+s")
    _saved(ann)
    ann_revision = _latest_number(workspace)
    bob.locator("#cue-list .text").nth(2).fill("Bob's third.")
    bob.keyboard.press("Control+s")
    _status(bob, f"Merged with {ANN}'s revision {ann_revision} (caption 1)")
    bob.keyboard.press("Control+z")  # his caption 3
    assert _text(bob, 3) == original[2].text
    bob.keyboard.press("Control+z")  # his older step on caption 1, which Ann changed since: left alone, and said
    assert bob.inner_text("#save-status") == (
        f"Not undone: caption 1 ({ANN} changed it in revision {ann_revision}): their change stays")
    assert _text(bob, 1) == "Ann's better go."
    _status(bob, "Saved revision")
    assert [c.text for c in workspace.latest()] == ["Ann's better go.", *[c.text for c in original[1:]]]
    ann.close()
    bob.close()
