"""Display titles (#17): the catalog column and its migration, the review app's API for it, and the rules for
what a title may be. In-process, against a real SQLite catalog."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline import config
from pipeline.catalog import Catalog
from pipeline.distribution import share
from pipeline.errors import UsageError
from pipeline.models import Cue
from pipeline.web.app import create_app
from tests.conftest import asset_awaiting_review, review_client


def test_a_catalog_from_before_titles_gains_the_column_and_keeps_its_assets(tmp_path: Path) -> None:
    settings = config.parse({}, tmp_path)
    catalog = Catalog.open(settings.state_dir)
    asset = asset_awaiting_review(settings, catalog, "IMG_4032.mp4", [Cue(0, 1000, "Hello.")])
    catalog.close()
    with sqlite3.connect(settings.state_dir / "catalog.sqlite3") as db:  # as a catalog of the last release
        db.execute("ALTER TABLE assets DROP COLUMN title")
        db.execute("DELETE FROM schema_version WHERE version > 3")
    reopened = Catalog.open(settings.state_dir)
    assert reopened.get(asset.id).title is None and reopened.get(asset.id).display_title == "IMG_4032"
    reopened.set_title(asset.id, "Staying safe online")
    assert reopened.get(asset.id).display_title == "Staying safe online"


def test_titles_are_one_line_and_short(tmp_path: Path) -> None:
    assert share.clean_title("  Staying safe\n online ") == "Staying safe online"
    assert share.clean_title("   ") is None
    with pytest.raises(UsageError, match="keep it to 120 or fewer"):
        share.clean_title("x" * 121)


def test_the_review_app_sets_and_clears_the_title(tmp_path: Path) -> None:
    settings = config.parse({}, tmp_path)
    catalog = Catalog.open(settings.state_dir)
    asset = asset_awaiting_review(settings, catalog, "IMG_4032.mp4", [Cue(0, 1000, "Hello.")])
    app = create_app(settings, catalog)
    client = review_client(app)
    csrf = {"X-CSRF-Token": app.state.guard.csrf_token}
    url = f"/api/assets/{asset.id}/title"
    assert client.put(url, json={"title": "Staying safe online"}).status_code == 403  # no CSRF token
    done = client.put(url, json={"title": "Staying safe online"}, headers=csrf)
    assert done.status_code == 200 and done.json() == {"title": "Staying safe online", "refreshed_share_pages": 0}
    assert catalog.get(asset.id).title == "Staying safe online"
    editor = client.get(f"/assets/{asset.id}").text
    assert 'id="display-title"' in editor and 'value="Staying safe online"' in editor
    too_long = client.put(url, json={"title": "x" * 200}, headers=csrf)
    assert too_long.status_code == 422 and "120 or fewer" in too_long.json()["detail"]
    assert client.put(url, json={"title": ""}, headers=csrf).json()["title"] == "IMG_4032"
    assert catalog.get(asset.id).title is None
