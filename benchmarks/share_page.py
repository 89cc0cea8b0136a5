"""The share page as a parent's phone and a desktop browser load it (#17): bytes that arrive before the viewer
presses play, time from play to the first frame shown, and bytes after 8 s of playback.

One generated 720p master (noisy, so rungs reach their bitrate caps as real footage does) is run, published
to the embedded SeaweedFS and shared; Debian's Chromium then opens the link in a fresh context per try, on an
emulated network (phone: 4 Mbit/s down, 60 ms round trip; desktop: 20 Mbit/s, 20 ms). Medians of --tries.

"Before" and "after" are the same script on two checkouts: the package that PYTHONPATH names is the one that
builds the page. Usage:
  PYTHONPATH=. .venv/bin/python benchmarks/share_page.py [--tries 3] [--seconds 12]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

import pipeline
from tests.conftest import CHROMIUM_ARGS, make_project
from tests.media import phone_video

ANDROID_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0.0.0 Mobile Safari/537.36")
VIEWPORTS: dict[str, dict[str, Any]] = {
    "phone 390x844": {"context": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                                  "is_mobile": True, "has_touch": True, "user_agent": ANDROID_UA},
                      "network": {"downloadThroughput": 4e6 / 8, "uploadThroughput": 1e6 / 8, "latency": 60}},
    "desktop 1366x768": {"context": {"viewport": {"width": 1366, "height": 768}},
                         "network": {"downloadThroughput": 20e6 / 8, "uploadThroughput": 5e6 / 8, "latency": 20}},
}
FIRST_FRAME = """() => new Promise((resolve) => {
    const v = document.getElementById('player'), t0 = performance.now();
    v.muted = true;
    v.requestVideoFrameCallback(() => resolve(performance.now() - t0));
    v.play();
})"""


def _settle(page: Page, pending: set[str], quiet_s: float = 2.0, limit_s: float = 60.0) -> None:
    """Until no request has been in flight for `quiet_s` (an open-ended media request may never end: then
    `limit_s`)."""
    started = last_busy = time.monotonic()
    while time.monotonic() - last_busy < quiet_s and time.monotonic() - started < limit_s:
        page.wait_for_timeout(100)
        if pending:
            last_busy = time.monotonic()


def _try(browser: Browser, url: str, view: dict[str, Any]) -> dict[str, float]:
    context = browser.new_context(**view["context"])
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, **view["network"]})
    sizes: dict[str, int] = {}
    pending: set[str] = set()
    cdp.on("Network.requestWillBeSent", lambda e: pending.add(e["requestId"]))
    cdp.on("Network.loadingFailed", lambda e: pending.discard(e["requestId"]))
    cdp.on("Network.dataReceived", lambda e: sizes.__setitem__(
        e["requestId"], sizes.get(e["requestId"], 0) + int(e["encodedDataLength"])))

    def finished(event: dict[str, Any]) -> None:
        pending.discard(event["requestId"])
        sizes[event["requestId"]] = max(sizes.get(event["requestId"], 0), int(event["encodedDataLength"]))

    cdp.on("Network.loadingFinished", finished)
    try:
        page.goto(url, wait_until="load")
        _settle(page, pending)
        before, requests = sum(sizes.values()), len(sizes)
        first_frame_ms = float(page.evaluate(FIRST_FRAME))
        page.wait_for_function("document.getElementById('player').currentTime > 8", timeout=120000)
        return {"before_kib": before / 1024, "requests": requests, "first_frame_ms": first_frame_ms,
                "after_8s_kib": sum(sizes.values()) / 1024}
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-share-") as tmp:
        project = make_project(Path(tmp) / "project")
        phone_video(project.masters / "assembly.mp4", size="1280x720", seconds=args.seconds, noise=True)
        try:
            project.cli("run", check=True)
            [asset] = project.cli_json("status")
            # Captions are not what this measures: whether Whisper hears words in the noise or not, and whatever
            # a checkout asks before publishing a video without speech, the emergency override publishes it.
            if asset["state"] == "awaiting_review":
                project.cli("publish", asset["id"], "--allow-unreviewed", check=True)
            else:
                project.cli_json("publish", asset["id"])
            url = project.cli_json("share", asset["id"])["url"]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                results = {name: [_try(browser, url, view) for _ in range(args.tries)]
                           for name, view in VIEWPORTS.items()}
                browser.close()
        finally:
            project.cli("storage", "stop")
    print(f"pipeline package: {Path(pipeline.__file__).parent}; {platform.node()}, {platform.processor() or ''}")
    print(f"{'viewport':18} {'before play':>12} {'requests':>9} {'first frame':>12} {'after 8 s':>10}")
    for name, tries in results.items():
        median = {key: statistics.median(t[key] for t in tries) for key in tries[0]}
        print(f"{name:18} {median['before_kib']:>8.0f} KiB {median['requests']:>9.0f} "
              f"{median['first_frame_ms']:>9.0f} ms {median['after_8s_kib']:>6.0f} KiB")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
