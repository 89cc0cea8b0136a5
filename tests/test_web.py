"""The review app in-process against a real catalog."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from pipeline import config
from pipeline.catalog import Catalog
from pipeline.models import Cue
from pipeline.web.app import create_app
from tests.conftest import asset_awaiting_review


def _client(tmp_path: Path) -> tuple[TestClient, str]:
    settings = config.parse({}, tmp_path)
    catalog = Catalog.open(settings.state_dir)
    asset = asset_awaiting_review(settings, catalog, "<b>bold</b>.mp4", [Cue(0, 1000, "<img src=x onerror=alert(1)>")])
    (tmp_path / "secret.txt").write_text("server file")
    return TestClient(create_app(settings, catalog)), asset.id


def test_queue_and_asset_pages_escape_text(tmp_path: Path) -> None:
    client, asset_id = _client(tmp_path)
    queue = client.get("/")
    assert queue.status_code == 200
    assert "&lt;b&gt;bold&lt;/b&gt;.mp4" in queue.text and "<b>bold</b>" not in queue.text
    assert f'href="/assets/{asset_id}"' in queue.text
    page = client.get(f"/assets/{asset_id}")
    assert page.status_code == 200 and "awaiting review" in page.text
    captions = client.get(f"/media/{asset_id}/captions.en.vtt")
    assert captions.status_code == 200 and "&lt;img src=x" in captions.text
    assert client.get("/api/assets").json()[0]["state"] == "awaiting_review"


def test_foreign_host_and_path_traversal_are_refused(tmp_path: Path) -> None:
    client, asset_id = _client(tmp_path)
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    assert client.get(f"/media/{asset_id}/../../secret.txt").status_code == 404
    assert client.get(f"/media/{asset_id}/%2e%2e/%2e%2e/secret.txt").status_code == 404
    assert client.get("/assets/nothere").status_code == 404
