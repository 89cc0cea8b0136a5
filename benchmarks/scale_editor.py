"""The review editor at 1,500 cues (a feature-length film, #20): keystroke, split, merge, undo and autosave.

Usage: PYTHONPATH=<checkout> /work/main/.venv/bin/python benchmarks/scale_editor.py [--label after]
Runs against whichever checkout PYTHONPATH names (so the same script measures "before" and "after"), in a
fresh temporary project: one asset awaiting review with 1,500 cues of 3 s every 4 s (100 minutes), the words
of every cue with one flagged word in every seventh cue, a 100-minute waveform (50 peaks a second, as the
proxy stage keeps it) and a 10-second generated H.264 video as its rendition (the editor plays the video but
draws the waveform and the cues over the asset's whole duration). The real app serves it on 127.0.0.1 and
Debian's Chromium opens the editor through Playwright.

What is measured, in the page with performance.now():
- keystroke: from just before the `input` event is dispatched on a caption's text (its value one character
  longer) to the moment that caption's reading-speed badge shows the new figure, with style and layout forced
  (offsetHeight) so that the DOM work the change caused is counted; paint is not. When the badge has not
  changed by the time dispatchEvent returns, a MutationObserver on the list waits for it.
- split, merge, undo: from just before the shortcut's keydown (Alt+S with the text cursor between two words,
  Alt+M, Ctrl+Z) is dispatched to the list having its new number of rows, seen by a MutationObserver on the
  list, with style and layout forced. Split and merge include the round trip of the server's line-break
  request (POST .../layout) on 127.0.0.1.
- autosave: the bytes of the PUT .../captions/en request body and of its reply for a change to one caption.
No reviewer name is set while timing, so no autosave runs in between.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CUES = 1500
CUE_MS, STEP_MS = 3000, 4000
TEXTS = ["We walked along the river {n} times,", "and nobody said a single word.",
         "The lights came on across the water", "as the last boat left the harbour."]
TARGETS = {"keystroke": "≤ 16 ms", "structural": "≤ 100 ms", "request": "< 10 KB"}

KEYSTROKE = """async (index) => {
  const rows = () => document.getElementById('cue-list').children;
  const badge = () => rows()[index].querySelector('.badge[data-figure=cps]')?.textContent;
  const box = rows()[index].querySelector('.text');
  box.focus();
  await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const before = badge();
  box.value = box.value + 'x';
  box.setSelectionRange(box.value.length, box.value.length);
  const t0 = performance.now();
  box.dispatchEvent(new InputEvent('input', {bubbles: true, inputType: 'insertText', data: 'x'}));
  if (badge() === before) {
    await new Promise((resolve) => {
      const seen = new MutationObserver(() => { if (badge() !== before) { seen.disconnect(); resolve(); } });
      seen.observe(document.getElementById('cue-list'), {subtree: true, childList: true, characterData: true});
    });
  }
  void document.body.offsetHeight;
  return performance.now() - t0;
}"""

# `key` is {key, code, altKey, ctrlKey}; `expect`: the number of rows after it.
SHORTCUT = """async ([index, caret, key, expect]) => {
  const list = document.getElementById('cue-list');
  const box = list.children[index].querySelector('.text');
  box.focus();
  if (caret !== null) box.setSelectionRange(caret, caret);
  await new Promise((r) => setTimeout(r, 200)); // the rows around it drawn and the page idle again
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const t0 = performance.now();
  const done = new Promise((resolve) => {
    if (list.children.length === expect) { resolve(); return; }
    const seen = new MutationObserver(() => { if (list.children.length === expect) { seen.disconnect(); resolve(); } });
    seen.observe(list, {childList: true});
  });
  box.dispatchEvent(new KeyboardEvent('keydown', {...key, bubbles: true, cancelable: true}));
  await done;
  void document.body.offsetHeight;
  return performance.now() - t0;
}"""

SPLIT = {"key": "s", "code": "KeyS", "altKey": True}
MERGE = {"key": "m", "code": "KeyM", "altKey": True}
UNDO = {"key": "z", "code": "KeyZ", "ctrlKey": True}


def _text(n: int) -> str:
    return f"{TEXTS[n % 4].format(n=n)}\n{TEXTS[(n + 1) % 4].format(n=n)}"


def _seed(root: Path) -> tuple[Any, Any, str]:
    """A project with one 1,500-cue asset awaiting review, built through the catalog of the checkout on the path."""
    from pipeline import config, fsutil
    from pipeline.captions import guards, vtt
    from pipeline.catalog import Catalog
    from pipeline.models import AssetState, CaptionState, CaptionTrack, Cue, Rendition, RenditionKind, Word
    from pipeline.review import waveform
    from pipeline.stages import caption

    (root / "masters").mkdir(parents=True)
    (root / "config.toml").write_text("[storage]\nembedded_s3_port = 28331\n")
    settings = config.load(str(root / "config.toml"))
    catalog = Catalog.open(settings.state_dir)
    asset = catalog.add_asset(hashlib.sha256(b"film").hexdigest(), "film.mov", 1)
    catalog.set_state(asset.id, AssetState.PROCESSING)
    out = settings.output_dir / asset.id
    cues = [Cue(i * STEP_MS, i * STEP_MS + CUE_MS, _text(i)) for i in range(CUES)]
    vtt.write_vtt(out / "captions.en.vtt", cues)
    words = []
    for i, cue in enumerate(cues):
        said = cue.text.split()
        for j, word in enumerate(said):
            start = cue.start_ms + j * CUE_MS // len(said)
            flags = (guards.Flag.LOW_CONFIDENCE,) if i % 7 == 0 and j == 2 else ()
            words.append(guards.FlaggedWord(Word(start, start + CUE_MS // len(said) - 20, f" {word}", 0.9), flags))
    guards.write_words(out / caption.words_path("en"), words)
    catalog.put_caption_track(CaptionTrack(asset.id, "en", "captions.en.vtt", CaptionState.DRAFT, len(cues),
                                           "faster-whisper", "tiny.en", None, None))
    duration_ms = CUES * STEP_MS
    video = out / "mp4" / "160p.mp4"
    video.parent.mkdir(parents=True)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=160x120:rate=10:duration=10", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(video)], check=True)
    catalog.set_probe(asset.id, duration_ms, 160, 120, True)
    catalog.replace_renditions(asset.id, [Rendition(asset.id, "160p", RenditionKind.MP4, "mp4/160p.mp4", 160, 120,
                                                    video.stat().st_size)])
    per_second = waveform.PEAKS_PER_SECOND
    peaks = [(i * 37) % 90 + 5 for i in range(duration_ms * per_second // 1000)]
    fsutil.write_text(out / waveform.NAME, json.dumps({"peaks_per_second": per_second, "peaks": peaks}))
    catalog.set_state(asset.id, AssetState.AWAITING_REVIEW)
    return settings, catalog, asset.id


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values):.1f}"


def _p95(values: list[float]) -> str:
    return f"{sorted(values)[max(0, round(0.95 * len(values)) - 1)]:.1f}"


def _structural(page: Any, rounds: int) -> dict[str, list[float]]:
    """Split, undo it, merge, undo it, at `rounds` captions spread over the list."""
    times: dict[str, list[float]] = {"split": [], "merge": [], "undo": []}
    for r in range(rounds):
        index = 100 + r * (CUES - 200) // max(1, rounds - 1)
        caret = page.evaluate("(i) => document.getElementById('cue-list').children[i].querySelector('.text')"
                              ".value.indexOf(' ')", index)
        times["split"].append(page.evaluate(SHORTCUT, [index, caret, SPLIT, CUES + 1]))
        times["undo"].append(page.evaluate(SHORTCUT, [index, None, UNDO, CUES]))
        times["merge"].append(page.evaluate(SHORTCUT, [index, None, MERGE, CUES - 1]))
        times["undo"].append(page.evaluate(SHORTCUT, [index, None, UNDO, CUES]))
    return times


def _autosave(page: Any) -> tuple[int, int]:
    """The request and reply bytes of the save of a one-caption change (earlier changes saved first)."""
    saved = "() => document.getElementById('save-status').textContent.startsWith('Saved revision')"
    page.fill("#reviewer-name", "Ann Reviewer")
    page.dispatch_event("#reviewer-name", "change")
    page.wait_for_function(saved)
    page.evaluate("() => document.getElementById('save-status').textContent = ''")
    box = page.locator("#cue-list .text").nth(CUES // 2)
    box.focus()
    page.keyboard.press("End")
    page.keyboard.type("!")
    with page.expect_response(lambda r: r.request.method == "PUT" and "/captions/" in r.url) as answer:
        page.keyboard.press("Control+s")
    response = answer.value
    page.wait_for_function(saved)
    return len(response.request.post_data_buffer or b""), len(response.body())


def measure(seconds_budget: float | None = None) -> list[tuple[str, str, str]]:
    """The editor's figures at 1,500 cues as (figure, value, target) rows; `seconds_budget` below about 120
    takes fewer samples."""
    from playwright.sync_api import sync_playwright

    from pipeline.web.app import create_app
    sys.path.append(str(Path(__file__).resolve().parent.parent))  # tests/, after the checkout on PYTHONPATH
    from tests.conftest import CHROMIUM_ARGS, live_app

    keystrokes, rounds = (40, 5) if seconds_budget is None or seconds_budget >= 120 else (15, 3)
    with tempfile.TemporaryDirectory(prefix="scale-editor-") as folder:
        settings, catalog, asset_id = _seed(Path(folder))
        app = create_app(settings, catalog)
        with live_app(app) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            started = time.monotonic()
            page.goto(url + str(app.state.guard.sign_in_path(f"/assets/{asset_id}")))
            page.wait_for_selector("body[data-ready=true]", timeout=120_000)
            ready_s = time.monotonic() - started
            page.wait_for_timeout(500)
            typed = [page.evaluate(KEYSTROKE, 200 + (k * 31) % (CUES - 400)) for k in range(keystrokes)]
            print(f"keystrokes (ms): {[round(t, 1) for t in typed]}", file=sys.stderr)
            times = _structural(page, rounds)
            print(f"split, merge, undo (ms): {times}", file=sys.stderr)
            request, reply = _autosave(page)
            browser.close()
            if errors:
                raise RuntimeError(f"the editor page threw: {errors[0]}")
    return [
        ("editor ready at 1,500 cues (s)", f"{ready_s:.1f}", ""),
        ("keystroke to updated badge, median (ms)", _ms(typed), TARGETS["keystroke"]),
        ("keystroke to updated badge, p95 (ms)", _p95(typed), ""),
        ("split, median (ms)", _ms(times["split"]), TARGETS["structural"]),
        ("merge, median (ms)", _ms(times["merge"]), TARGETS["structural"]),
        ("undo, median (ms)", _ms(times["undo"]), TARGETS["structural"]),
        ("autosave request, one caption changed (bytes)", str(request), TARGETS["request"]),
        ("autosave reply (bytes)", str(reply), ""),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="value", help="the column's heading, e.g. before or after")
    parser.add_argument("--budget", type=float, default=None, help="seconds; under 120 takes fewer samples")
    args = parser.parse_args()
    rows = measure(args.budget)
    print(f"| figure | {args.label} | target |\n|---|---|---|")
    for figure, value, target in rows:
        print(f"| {figure} | {value} | {target} |")


if __name__ == "__main__":
    main()
