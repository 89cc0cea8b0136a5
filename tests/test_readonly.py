"""Reads are pure (#14): every page and every GET route of the review app leaves the catalog and the output
folder byte for byte as they were; repairing a track is the explicit step `pipeline review` takes first."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

from pipeline.captions import vtt
from pipeline.catalog import Catalog
from pipeline.models import Cue, RenditionKind
from pipeline.review import decisions, waveform
from pipeline.web.app import create_app
from tests.conftest import Project, asset_awaiting_review, review_client, sign_in_path
from tests.media import sample_master

BASE = "http://127.0.0.1"


def _checksums(project: Project) -> dict[str, str]:
    settings = project.settings()
    database = settings.state_dir / "catalog.sqlite3"
    with sqlite3.connect(database) as connection:  # fold the write-ahead log in, so the files say everything
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    files = [database, *settings.output_dir.rglob("*")]
    wal = database.with_name(database.name + "-wal")
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in [*files, wal] if p.is_file()}


def _get_urls(app: object, asset_id: str, media: str) -> list[str]:
    values = {"asset_id": asset_id, "language": "en", "kind": "vtt", "number": "1", "path": media}
    # The pages (app.routes) and every GET of the documented API (the OpenAPI paths, included routers too).
    paths = [r.path for r in app.routes if "GET" in (getattr(r, "methods", None) or set())]  # type: ignore[attr-defined]
    paths += [path for path, operations in app.openapi()["paths"].items() if "get" in operations]  # type: ignore[attr-defined]
    urls = []
    for path in dict.fromkeys(paths):
        url = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values[m.group(1)], path)
        urls.append(url)
        if "{kind}" in path:
            urls.append(url.replace(".vtt", ".srt"))
    urls = [*urls, "/static/app.css", f"/assets/{asset_id}?language=en"]
    return sorted(urls, key=lambda url: url == "/logout")  # signing out last: the others need the session


def test_every_page_and_read_route_leaves_catalog_and_files_untouched(project: Project, tmp_path: Path) -> None:
    sample_master(project.masters / "sample.mp4")
    project.cli("run", check=True)
    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    [processed] = catalog.list_assets()
    # Two tracks that a GET used to repair: captions from before revisions were kept (no revision recorded),
    # and a file that a crash left behind its latest revision.
    legacy = asset_awaiting_review(settings, catalog, "legacy.mp4", [Cue(0, 1500, "Before revisions.")])
    captions = settings.output_dir / processed.id / "captions.en.vtt"
    vtt.write_vtt(captions, [Cue(0, 1500, "Not the latest revision.")])
    media = next(r.path for r in catalog.renditions(processed.id) if r.kind is RenditionKind.MP4)
    kept = settings.output_dir / processed.id / waveform.NAME
    assert kept.is_file()  # the transcode stage keeps it; an older run did not, so the GET must measure it
    kept.unlink()
    app = create_app(settings, catalog)
    client = review_client(app, BASE)
    before = _checksums(project)

    requested = []
    for asset_id in (processed.id, legacy.id):
        for url in _get_urls(app, asset_id, media):
            if asset_id == legacy.id and (url.startswith(f"/media/{asset_id}") or url.endswith("/waveform")):
                continue  # the legacy asset has no renditions
            answer = client.get(url)
            assert answer.status_code == 200, (url, answer.status_code, answer.text[:200])
            if url == "/logout":  # it signed the client out (and changed no file): in again for the rest
                client.get(sign_in_path(app))
            requested.append(url)
    assert {"/", f"/assets/{processed.id}", "/api/assets", f"/api/assets/{processed.id}/captions/en",
            f"/api/assets/{processed.id}/waveform", f"/api/assets/{legacy.id}/captions/en/revisions/1",
            "/docs", "/openapi.json", f"/media/{processed.id}/{media}"} <= set(requested)
    # What the reads showed is the catalog's latest revision, not the stale file.
    shown = client.get(f"/api/assets/{processed.id}/captions/en").json()
    assert "Not the latest revision." not in [c["text"] for c in shown["cues"]]
    assert client.get(f"/api/assets/{legacy.id}/captions/en").json()["revision"]["number"] == 1

    assert _checksums(project) == before, "a GET wrote to the catalog or the output folder"

    # The explicit step does write: this is what the assertion above would have caught. An asset whose file
    # cannot be read is named and left alone; the others are still prepared.
    broken = asset_awaiting_review(settings, catalog, "broken.mp4", [Cue(0, 1500, "Fine until now.")])
    (settings.output_dir / broken.id / "captions.en.vtt").write_text("this is not WebVTT\n")
    problems = decisions.prepare_workspace(settings, catalog)
    assert len(problems) == 1 and problems[0].startswith(f"broken.mp4 ({broken.id}): "), problems
    after = _checksums(project)
    assert after != before
    assert vtt.read_vtt(captions) == [Cue(c["start_ms"], c["end_ms"], c["text"]) for c in shown["cues"]]
    assert [r.number for r in catalog.revisions(legacy.id, "en")] == [1]
    assert kept.is_file()
