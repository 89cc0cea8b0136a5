"""The review queue at scale (#20): its per-row figures kept in the catalog, pages and filters on the queue page
and `GET /api/assets`, and the migration that back-fills an older catalog. Real SQLite catalog and caption
files, the app in-process; no media."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline import config
from pipeline.captions import guards, quality
from pipeline.catalog import Catalog
from pipeline.catalog.schema import MIGRATIONS
from pipeline.models import Asset, AssetState, Cue, Word
from pipeline.review import decisions as review
from pipeline.review import editing, flags
from pipeline.stages import caption
from pipeline.web.app import create_app
from tests.conftest import asset_awaiting_review, review_client

CUES = [Cue(0, 2000, "Call childline"), Cue(2500, 5000, "if Miss Okonquo is not there."),
        Cue(5200, 5500, "This caption is on screen far too briefly to read.")]  # an error, and a warning or two
WORDS = [Word(0, 300, "Call", 0.9), Word(400, 1200, "childline", 0.9), Word(2500, 2700, "if", 0.9),
         Word(2800, 3100, "Miss", 0.9), Word(3200, 3900, "Okonquo", 0.3)]


def _asset(settings: config.Settings, catalog: Catalog, source: str) -> Asset:
    asset = asset_awaiting_review(settings, catalog, source, CUES)
    guards.write_words(settings.output_dir / asset.id / caption.words_path("en"), guards.flag_words(WORDS))
    return asset


def _old_status(asset: Asset, requested: list[datetime], last: tuple[str, datetime] | None) -> review.Status:
    """The queue's status as it was computed per request before #20."""
    if asset.state is not AssetState.AWAITING_REVIEW:
        return {AssetState.PUBLISHED: review.Status.PUBLISHED, AssetState.APPROVED: review.Status.APPROVED,
                AssetState.FAILED: review.Status.FAILED}.get(asset.state, review.Status.PROCESSING)
    if requested and (last is None or last[0] == caption.AUTOMATIC or last[1] <= max(requested)):
        return review.Status.CHANGES_REQUESTED
    if last is not None and last[0] != caption.AUTOMATIC:
        return review.Status.IN_REVIEW
    return review.Status.AWAITING_REVIEW


def _fresh(settings: config.Settings, catalog: Catalog) -> list[tuple[Any, ...]]:
    """Every row as a fresh recomputation from the drafts gives it: what the queue did per request before #20."""
    rows = []
    for asset in catalog.list_assets():
        tracks = catalog.caption_tracks(asset.id)
        cues = errors = warnings = flagged = 0
        last: tuple[str, datetime] | None = None
        for track in tracks:
            draft = editing.read_draft(settings, catalog, asset, track.language)
            cues += len(draft.revision.cues)
            errors += len(quality.errors(draft.problems))
            warnings += len(draft.problems) - len(quality.errors(draft.problems))
            flagged += sum(1 for f in flags.evaluate(draft.words, list(draft.revision.cues),
                                                     catalog.flag_records(asset.id, track.language))
                           if f.state is flags.State.OPEN)
            if last is None or draft.revision.created_at > last[1]:
                last = (draft.revision.author, draft.revision.created_at)
        status = _old_status(asset, [t.changes_at for t in tracks if t.changes_at], last)
        note = next((t.changes_note for t in tracks if t.changes_note), None)
        rows.append((asset.id, status, cues, errors, warnings, flagged, last[0] if last else None, note))
    return sorted(rows, key=lambda r: (review.QUEUE_ORDER.index(r[1]), catalog.get(r[0]).source))


def _rows(found: list[review.QueueRow]) -> list[tuple[Any, ...]]:
    return [(r.asset.id, r.status, r.cues, r.errors, r.warnings, r.flagged, r.last_author, r.changes_note)
            for r in found]


def _stored(catalog: Catalog, asset_id: str) -> tuple[int, int, int] | None:
    """The counts the catalog keeps for the asset's one track (None: not counted)."""
    [track] = catalog.queue_tracks(asset_id)
    return None if track.counts is None else (track.counts.errors, track.counts.warnings, track.counts.flagged)


def _varied(settings: config.Settings, catalog: Catalog, published: bool = False) -> dict[str, str]:
    """Assets in every review status (published too, when `published`), made through the review layer as people
    make them: 9 assets, or 10."""
    names = ("awaiting", "edited", "requested", "approved", "withdrawn", "checked", "awaiting-2")
    ids = {name: _asset(settings, catalog, f"{name}.mp4").id for name in names + (("published",) * published)}
    assert review.prepare_workspace(settings, catalog) == []  # the explicit step: legacy drafts become revision 1
    get = catalog.get
    editing.save(settings, catalog, get(ids["edited"]), "en", 1, "Ann", [Cue(0, 2000, "Call Childline"), *CUES[1:]])
    review.request_changes(settings, catalog, get(ids["requested"]), "Bo", "Cue 2: the name is Okonkwo")
    for name in ("approved", "withdrawn", "published")[:3 if published else 2]:
        review.approve(settings, catalog, get(ids[name]), "Cy", "checked by ear")
        if published and name != "approved":
            catalog.set_state(ids[name], AssetState.PUBLISHED, detail="published")  # as publish records it
    editing.save(settings, catalog, get(ids["withdrawn"]), "en", 1, "Di", [*CUES[:2], Cue(5200, 8000, "Longer.")])
    checked = get(ids["checked"])
    key = next(f.key for f in flags.track_flags(settings, catalog, checked, "en") if f.state is flags.State.OPEN)
    flags.check(settings, catalog, checked, "en", key, "Ed")
    processing = catalog.add_asset("a" * 64, "processing.mp4", 1)
    catalog.set_state(processing.id, AssetState.PROCESSING)
    failed = catalog.add_asset("b" * 64, "failed.mp4", 1)
    catalog.set_state(failed.id, AssetState.FAILED, error="ffprobe: not a video")
    return {**ids, "processing": processing.id, "failed": failed.id}


def test_stored_figures_equal_a_fresh_count_and_pages_and_filters_cover_the_queue(tmp_path: Path) -> None:
    settings = config.parse({}, tmp_path)
    catalog = Catalog.open(settings.state_dir)
    ids = _varied(settings, catalog, published=True)
    fresh = _fresh(settings, catalog)
    assert _rows(review.queue(settings, catalog)) == fresh
    assert {r[1] for r in fresh} == set(review.Status)  # every status is there
    # Counted when saved, never per request: every reviewable track holds its counts for its latest revision.
    for name in ("awaiting", "edited", "requested", "approved", "withdrawn", "checked", "published"):
        assert _stored(catalog, ids[name]) == next(r[3:6] for r in fresh if r[0] == ids[name]), name
    assert _stored(catalog, ids["checked"])[2] == _stored(catalog, ids["awaiting"])[2] - 1  # one flag checked

    pages = [review.queue_page(settings, catalog, None, 4, offset) for offset in (0, 4, 8)]
    assert [p.total for p in pages] == [len(fresh)] * 3 and [p.pages for p in pages] == [3, 3, 3]
    assert [p.page for p in pages] == [1, 2, 3]
    assert sum((_rows(p.rows) for p in pages), []) == fresh  # the pages, in order, are the whole queue
    counts = Counter(r[1] for r in fresh)
    assert pages[0].counts == {s: counts[s] for s in review.QUEUE_ORDER}
    for status in review.Status:
        assert _rows(review.queue(settings, catalog, status)) == [r for r in fresh if r[1] is status]
    assert review.queue_page(settings, catalog, None, 4, 40).rows == []  # past the end: nothing, unless strict
    with pytest.raises(review.NotFoundError, match="page 11 of the queue is past its last: 10 assets fill 3 pages"):
        review.queue_page(settings, catalog, None, 4, 40, strict=True)


def test_the_queue_page_is_paged_and_filtered_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = config.parse({}, tmp_path)
    catalog = Catalog.open(settings.state_dir)
    ids = _varied(settings, catalog)
    monkeypatch.setattr(review, "PAGE_SIZE", 4)
    client = review_client(create_app(settings, catalog))
    before = (settings.state_dir / "catalog.sqlite3").read_bytes()

    first = client.get("/").text
    assert "Showing 1–4 of 9" in first and len(re.findall(r"<tr data-asset=", first)) == 4
    assert '<a href="/?page=1" aria-current="page">' in first and 'href="/?page=2" rel="next"' in first
    assert '<option value="awaiting_review">Awaiting review (3)</option>' in first
    assert '<option value="all" selected>All states (9)</option>' in first
    assert "<h2" in first and "Awaiting review <span class=\"count\">(3)</span>" in first
    last = client.get("/?page=3").text
    assert "Showing 9–9 of 9" in last and f'data-asset="{ids["failed"]}"' in last and 'rel="prev"' in last
    assert "rel=\"next\"" not in last

    in_review = client.get("/?state=in_review").text
    assert "Showing 1–2 of 2 in review (9 in all)" in in_review
    assert set(re.findall(r'<tr data-asset="(\w+)"', in_review)) == {ids["edited"], ids["withdrawn"]}
    assert '<option value="in_review" selected>' in in_review and "aria-label=\"Queue pages\"" not in in_review
    monkeypatch.setattr(review, "PAGE_SIZE", 1)
    kept = client.get("/?state=in_review&page=2").text
    assert 'href="/?state=in_review&amp;page=1" rel="prev"' in kept  # the filter is kept across pages

    published = client.get("/?state=published")
    assert published.status_code == 200 and "No assets are published now." in published.text
    past = client.get("/?page=99")
    assert past.status_code == 404 and "page 99 of the queue is past its last: 9 assets fill 9 pages" in past.text
    for bad, said in (("/?state=lost", "state &#39;lost&#39; is not a review state; use one of: all, awaiting_review"),
                      ("/?page=two", "page &#39;two&#39;: give the page&#39;s number"),
                      ("/?page=0", "page 0: the queue&#39;s pages are numbered from 1")):
        answer = client.get(bad)
        assert answer.status_code == 422 and said in answer.text, bad
    assert (settings.state_dir / "catalog.sqlite3").read_bytes() == before  # the page only reads


def test_the_api_pages_filters_and_keeps_the_unpaged_list(tmp_path: Path) -> None:
    settings = config.parse({}, tmp_path)
    catalog = Catalog.open(settings.state_dir)
    ids = _varied(settings, catalog)
    client = review_client(create_app(settings, catalog))
    everything = client.get("/api/assets").json()
    assert isinstance(everything, list) and len(everything) == 9  # no parameters: the list of old, every field
    assert set(everything[0]) == {"id", "source", "state", "status", "duration_ms", "cues", "errors", "warnings",
                                  "flagged_words", "last_edited_by", "last_edited_at", "editor_url"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", everything[0]["last_edited_at"])  # as before
    pages = [client.get(f"/api/assets?limit=4&offset={n}").json() for n in (0, 4, 8)]
    assert sum((p["items"] for p in pages), []) == everything
    assert [(p["total"], p["page"], p["pages"], p["offset"], p["limit"]) for p in pages] == [
        (9, 1, 3, 0, 4), (9, 2, 3, 4, 4), (9, 3, 3, 8, 4)]
    assert pages[0]["counts"] == {"awaiting_review": 3, "in_review": 2, "changes_requested": 1, "approved": 1,
                                  "published": 0, "processing": 1, "failed": 1} and pages[0]["state"] is None
    assert client.get("/api/assets?page=2&limit=4").json()["items"] == pages[1]["items"]
    by_state = client.get("/api/assets?state=in_review").json()
    assert [i["id"] for i in by_state["items"]] == [i["id"] for i in everything if i["status"] == "in review"]
    assert by_state["total"] == 2 and {ids["edited"], ids["withdrawn"]} == {i["id"] for i in by_state["items"]}
    assert client.get("/api/assets?state=published").json()["items"] == []
    assert client.get("/api/assets?offset=50").json()["items"] == []
    assert client.get("/api/assets?page=4&limit=4").status_code == 404
    bad = client.get("/api/assets?state=lost")
    assert bad.status_code == 422 and "use one of: all, awaiting_review" in bad.json()["detail"]
    assert client.get("/api/assets?limit=0").status_code == 422
    assert client.get("/api/assets?page=1&offset=4").status_code == 422


def test_the_migration_back_fills_an_older_catalog(tmp_path: Path) -> None:
    settings = config.parse({}, tmp_path)
    catalog = Catalog.open(settings.state_dir)
    _varied(settings, catalog, published=True)
    fresh = _fresh(settings, catalog)
    catalog.close()
    with sqlite3.connect(settings.state_dir / "catalog.sqlite3") as db:  # as a catalog from before the queue's
        db.execute("DROP TABLE caption_figures")
        db.execute("DROP TABLE review_queue")
        db.execute("DELETE FROM schema_version WHERE version > 3")  # later migrations run again, in any order
    reopened = Catalog.open(settings.state_dir)
    assert reopened.schema_version() == len(MIGRATIONS)
    found = reopened.queue_slice()
    assert [(e.asset.id, e.status, sum(t.cues for t in e.tracks), e.last_author, e.changes_note)
            for e in found.entries] == [(r[0], r[1], r[2], r[6], r[7]) for r in fresh]
    assert all(t.counts is None for e in found.entries for t in e.tracks)  # the quality figures need the rules
    assert _rows(review.queue(settings, reopened)) == fresh  # counted as read until then, reading only
    assert review.prepare_workspace(settings, reopened) == []  # `pipeline review` counts them and keeps them
    assert all(t.counts is not None for e in reopened.queue_slice().entries for t in e.tracks)
    assert _rows(review.queue(settings, reopened)) == fresh

    oldest = tmp_path / "v1"  # a catalog of schema version 1 (tests/data), one new asset and no tracks
    oldest.mkdir()
    with sqlite3.connect(oldest / "catalog.sqlite3") as db:
        db.executescript((Path(__file__).parent / "data" / "catalog-v1.sql").read_text())
    [entry] = Catalog.open(oldest).queue_slice().entries
    assert (entry.asset.id, entry.status, entry.tracks) == ("abababababab", review.Status.PROCESSING, ())


def test_postgresql_keeps_the_same_figures_and_order(cluster: Any) -> None:
    """The distributed mode's catalog (#8): the same rows, in Python's order of the source paths (PostgreSQL's
    locale would put "a.mp4" before "B.mp4")."""
    from tests.conftest import empty_database

    empty_database(cluster.postgres_url)
    catalog = Catalog.connect(cluster.postgres_url)
    try:
        for source in ("a.mp4", "B.mp4", "Ä.mp4", "b.mp4"):
            asset = catalog.add_asset(source.encode().hex().ljust(64, "0"), source, 1)
            catalog.set_state(asset.id, AssetState.PROCESSING)
        first = catalog.queue_slice(review.Status.PROCESSING, 2, 0)
        rest = catalog.queue_slice(review.Status.PROCESSING, 2, 2)
        assert [e.asset.source for e in first.entries + rest.entries] == ["B.mp4", "a.mp4", "b.mp4", "Ä.mp4"]
        assert (first.total, first.counts[review.Status.PROCESSING], first.counts[review.Status.FAILED]) == (4, 4, 0)
    finally:
        catalog.close()
