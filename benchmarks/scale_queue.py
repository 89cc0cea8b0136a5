"""The review queue at 5,000 assets (#20): time and bytes of the queue page and of `GET /api/assets`.

A catalog is seeded through the catalog's own API with --assets assets awaiting review, no media processing: each
gets a small caption revision (four cues, one of them too fast to read), its WebVTT file and a words file with one
flagged word, so that a queue that opens every draft does all of its per-asset work. `pipeline review`'s
preparation step (decisions.prepare_workspace) runs once, as it does before the app serves; then each request is
made --repeat times in-process (FastAPI TestClient, signed in) and the median time from request to the last byte
is reported, with the response's size.

"Before" and "after" are the same script on two checkouts: the package that PYTHONPATH names is measured.
An older checkout has no paging: its `/?page=1` and `/api/assets?limit=50` answer with every asset.
Usage:
  PYTHONPATH=/work/main .venv/bin/python benchmarks/scale_queue.py      # before
  PYTHONPATH=. .venv/bin/python benchmarks/scale_queue.py               # after
`measure()` gives the same figures as (figure, value, target) rows, for benchmarks/scale.py.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

import pipeline
from pipeline import config
from pipeline.captions import guards, vtt
from pipeline.catalog import Catalog
from pipeline.models import AssetState, CaptionState, CaptionTrack, Cue, Word
from pipeline.review import decisions
from pipeline.web.app import create_app

ASSETS = 5000
TARGET_MS = 300.0
CUES = [Cue(0, 2000, "Welcome to the community centre."), Cue(2500, 5000, "Today we talk about staying safe."),
        Cue(5200, 5600, "Passwords, messages and who to call."), Cue(6000, 9000, "Ask an adult you trust.")]
WORDS = [guards.FlaggedWord(Word(0, 400, " Welcome", 0.97), ()),
         guards.FlaggedWord(Word(2500, 2900, " Today", 0.31), (guards.Flag.LOW_CONFIDENCE,))]


def seed(settings: config.Settings, catalog: Catalog, count: int) -> None:
    """`count` assets awaiting review, each with revision 1 of a four-cue track and its files."""
    for n in range(count):
        source = f"masters/term-{n // 100:02d}/video-{n:05d}.mp4"
        asset = catalog.add_asset(hashlib.sha256(source.encode()).hexdigest(), source, 1000 + n)
        catalog.set_probe(asset.id, 9000 + n, 1280, 720, True)
        catalog.set_state(asset.id, AssetState.PROCESSING)
        folder = settings.output_dir / asset.id
        vtt.write_vtt(folder / "captions.en.vtt", CUES)
        guards.write_words(folder / "captions.en.words.json", WORDS)
        catalog.put_caption_track(CaptionTrack(asset.id, "en", "captions.en.vtt", CaptionState.DRAFT, len(CUES),
                                               "faster-whisper", "tiny.en", None, None))
        catalog.save_revision(asset.id, "en", None, "automatic draft", "made by faster-whisper (tiny.en)", CUES,
                              withdraw=False)
        catalog.set_state(asset.id, AssetState.AWAITING_REVIEW)


def _timed(client: TestClient, url: str, repeat: int) -> tuple[float, int]:
    """Median milliseconds from request to the last byte, and the body's size."""
    times, size = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        answer = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"GET {url}: {answer.status_code} {answer.text[:200]}")
        size = len(answer.content)
    return statistics.median(times), size


def measure(assets: int = ASSETS, repeat: int = 5, progress: Callable[[str], None] | None = None,
            ) -> list[tuple[str, str, str]]:
    """The queue's figures at `assets` assets, as (figure, value, target) rows."""
    say = progress or (lambda _line: None)
    # On tmpfs where there is one: seeding commits 25,000 transactions, and their fsyncs are not what is measured.
    shm = Path("/dev/shm")  # noqa: S108 (a private folder is made in it, as tempfile makes them)
    scratch = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="scale-queue-", dir=scratch) as tmp:
        settings = config.parse({}, Path(tmp))
        catalog = Catalog.open(settings.state_dir)
        start = time.perf_counter()
        seed(settings, catalog, assets)
        seeded = time.perf_counter() - start
        say(f"seeded {assets:,} assets in {seeded:.1f} s")
        start = time.perf_counter()
        problems = decisions.prepare_workspace(settings, catalog)
        prepared = time.perf_counter() - start
        if problems:
            raise SystemExit(f"prepare_workspace: {problems[0]}")
        say(f"prepared for review in {prepared:.1f} s")
        app = create_app(settings, catalog)
        client = TestClient(app, base_url="http://127.0.0.1")
        client.get(app.state.guard.sign_in_path("/"), follow_redirects=False)
        rows: list[tuple[str, str, str]] = [(f"seed {assets:,} assets (catalog API, no media)", f"{seeded:.1f} s", ""),
                                             ("prepare for review (`pipeline review` start)", f"{prepared:.1f} s", "")]
        requests = [("GET / (first page)", "/", True), ("GET /api/assets?limit=50", "/api/assets?limit=50", True),
                    ("GET /?state=awaiting_review&page=LAST (the last page)",
                     f"/?state=awaiting_review&page={max(1, -(-assets // 50))}", False),
                    ("GET /api/assets (every asset, unpaged)", "/api/assets", False)]
        for name, url, targeted in requests:
            if repeat > 1:
                client.get(url)  # warm: templates compiled, connections pooled
            tries = repeat if targeted else max(1, repeat // 2)
            ms, size = _timed(client, url, tries)
            say(f"{name}: {ms:.0f} ms, {size:,} bytes")
            rows.append((f"{name}: time", f"{ms:.0f} ms", f"≤ {TARGET_MS:.0f} ms" if targeted else ""))
            rows.append((f"{name}: bytes", f"{size:,}", ""))
        catalog.close()
    return rows


def table(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| figure | value | target |", "|---|---|---|"]
    lines += [f"| {figure} | {value} | {target} |" for figure, value, target in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=ASSETS)
    parser.add_argument("--repeat", type=int, default=5,
                        help="requests per figure, the median reported, after one to warm up (none with 1)")
    args = parser.parse_args()
    checkout = Path(pipeline.__file__).resolve().parent.parent
    print(f"checkout {checkout}; {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
          flush=True)
    rows = measure(args.assets, args.repeat, progress=lambda line: print(line, flush=True))
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
