"""The review app and its JSON API in-process, against a real catalog and real caption files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline import config
from pipeline.catalog import Catalog
from pipeline.errors import ConfigError, ConflictError
from pipeline.models import AssetState, Cue
from pipeline.review import decisions as review
from pipeline.review import editing
from pipeline.web.app import create_app
from pipeline.web.security import SESSION_COOKIE
from tests.conftest import asset_awaiting_review, review_client

CUES = [Cue(0, 2000, "Talk to an adult"), Cue(2500, 5000, "you trust.")]
BASE = "http://127.0.0.1"


def _setup(tmp_path: Path, data: dict[str, object] | None = None) -> tuple[config.Settings, Catalog, str]:
    settings = config.parse(data or {}, tmp_path)
    catalog = Catalog.open(settings.state_dir)
    asset = asset_awaiting_review(settings, catalog, "<b>bold</b>.mp4", CUES)
    return settings, catalog, asset.id


def _client(tmp_path: Path) -> tuple[TestClient, Catalog, str, dict[str, str]]:
    settings, catalog, asset_id = _setup(tmp_path)
    app = create_app(settings, catalog)
    return review_client(app, BASE), catalog, asset_id, {"X-CSRF-Token": app.state.guard.csrf_token}


def _body(base: int, cues: list[Cue], author: str = "Ann") -> dict[str, object]:
    return {"base_revision": base, "author": author,
            "cues": [{"start_ms": c.start_ms, "end_ms": c.end_ms, "text": c.text} for c in cues]}


def test_pages_escape_text_and_carry_a_content_security_policy(tmp_path: Path) -> None:
    client, _catalog, asset_id, _csrf = _client(tmp_path)
    queue = client.get("/")
    assert queue.status_code == 200
    assert "&lt;b&gt;bold&lt;/b&gt;.mp4" in queue.text and "<b>bold</b>" not in queue.text
    assert f'href="/assets/{asset_id}"' in queue.text
    assert "script-src 'self';" in queue.headers["content-security-policy"]
    assert "unsafe-inline" not in queue.headers["content-security-policy"]
    editor = client.get(f"/assets/{asset_id}")
    assert editor.status_code == 200 and "<b>bold</b>" not in editor.text


def test_save_makes_a_revision_and_a_stale_base_is_a_409_that_names_who_saved(tmp_path: Path) -> None:
    client, catalog, asset_id, csrf = _client(tmp_path)
    url = f"/api/assets/{asset_id}/captions/en"
    loaded = client.get(url).json()
    assert loaded["revision"]["number"] == 1 and [c["text"] for c in loaded["cues"]] == [c.text for c in CUES]
    edited = [Cue(0, 2000, "Talk to an adult"), Cue(2500, 5000, "you really trust.")]
    saved = client.put(url, json=_body(1, edited, "Ann"), headers=csrf)
    assert saved.status_code == 200, saved.text
    assert saved.json()["revision"] == {**saved.json()["revision"], "number": 2, "author": "Ann",
                                        "summary": "cue 2 text"}
    stale = client.put(url, json=_body(1, [Cue(0, 2000, "Mine")], "Bo"), headers=csrf)
    assert stale.status_code == 409
    assert stale.json()["current_revision"] == 2 and stale.json()["author"] == "Ann"
    assert "Ann saved revision 2" in stale.json()["detail"]
    assert [c.text for c in catalog.revision(asset_id, "en", 2).cues] == ["Talk to an adult", "you really trust."]
    history = client.get(f"{url}/revisions").json()
    assert [(r["number"], r["author"]) for r in history] == [(2, "Ann"), (1, "automatic draft")]


def test_refused_input_is_a_422_naming_the_cue(tmp_path: Path) -> None:
    client, _catalog, asset_id, csrf = _client(tmp_path)
    url = f"/api/assets/{asset_id}/captions/en"
    empty = client.put(url, json=_body(1, [Cue(0, 1000, "ok"), Cue(1000, 2000, "  ")]), headers=csrf)
    assert empty.status_code == 422 and "cue 2 has no text" in empty.json()["detail"]
    backwards = client.put(url, json=_body(1, [Cue(3000, 1000, "late")]), headers=csrf)
    assert backwards.status_code == 422 and "cue 1 ends at" in backwards.json()["detail"]
    assert client.get("/api/assets/nothere/captions/en").status_code == 404


def test_state_changes_need_the_csrf_token(tmp_path: Path) -> None:
    client, _catalog, asset_id, csrf = _client(tmp_path)
    url = f"/api/assets/{asset_id}/approve"
    assert client.post(url, json={"reviewer": "Ann"}).status_code == 403
    assert client.post(url, json={"reviewer": "Ann"}, headers={"X-CSRF-Token": "guess"}).status_code == 403
    assert client.post(url, json={"reviewer": "Ann"}, headers={"Authorization": "Bearer any"}).status_code == 403
    foreign = client.post(url, json={"reviewer": "Ann"}, headers={**csrf, "Origin": "http://evil.example"})
    assert foreign.status_code == 403
    assert client.post(url, json={"reviewer": "Ann", "revisions": {"en": 1}}, headers=csrf).status_code == 200


def test_foreign_host_and_path_traversal_are_refused(tmp_path: Path) -> None:
    client, _catalog, asset_id, _csrf = _client(tmp_path)
    (tmp_path / "secret.txt").write_text("server file")
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/", headers={"Host": "127.0.0.1.evil.example:8000"}).status_code == 400
    assert client.get(f"/media/{asset_id}/../../secret.txt").status_code == 404
    assert client.get(f"/media/{asset_id}/%2e%2e/%2e%2e/secret.txt").status_code == 404
    assert client.get(f"/media/{asset_id}/.captions.lock").status_code == 404
    assert client.get("/assets/nothere").status_code == 404


def test_approval_blocked_by_errors_unless_overridden_and_a_newer_revision_is_a_conflict(tmp_path: Path) -> None:
    client, catalog, asset_id, csrf = _client(tmp_path)
    url = f"/api/assets/{asset_id}"
    too_fast = [Cue(0, 400, "This caption is far too long to read in so short a time")]
    assert client.put(f"{url}/captions/en", json=_body(1, too_fast), headers=csrf).status_code == 200
    blocked = client.post(f"{url}/approve", json={"reviewer": "Ann", "revisions": {"en": 2}}, headers=csrf)
    assert blocked.status_code == 422 and "caption error" in blocked.json()["detail"]
    stale = client.post(f"{url}/approve", json={"reviewer": "Ann", "revisions": {"en": 1},
                                                "override_reason": "on-screen text"}, headers=csrf)
    assert stale.status_code == 409
    done = client.post(f"{url}/approve", json={"reviewer": "Ann", "revisions": {"en": 2},
                                               "override_reason": "matches the on-screen text"}, headers=csrf)
    assert done.status_code == 200 and catalog.get(asset_id).state is AssetState.APPROVED
    # An edit after approval withdraws it.
    assert client.put(f"{url}/captions/en", json=_body(2, CUES), headers=csrf).status_code == 200
    assert catalog.get(asset_id).state is AssetState.AWAITING_REVIEW


def test_request_changes_shows_in_the_queue_until_a_later_save(tmp_path: Path) -> None:
    client, _catalog, asset_id, csrf = _client(tmp_path)
    sent = client.post(f"/api/assets/{asset_id}/request-changes",
                       json={"reviewer": "Ann", "note": "Cue 2: the name is Barnet"}, headers=csrf)
    assert sent.status_code == 200
    [row] = client.get("/api/assets").json()
    assert row["status"] == "changes requested"
    assert "Changes requested: Cue 2: the name is Barnet" in client.get("/").text
    client.put(f"/api/assets/{asset_id}/captions/en", json=_body(1, [CUES[0], Cue(2500, 5000, "in Barnet.")], "Bo"),
               headers=csrf)
    [row] = client.get("/api/assets").json()
    assert (row["status"], row["last_edited_by"]) == ("in review", "Bo")


def test_export_import_and_restore_through_the_api(tmp_path: Path) -> None:
    client, catalog, asset_id, csrf = _client(tmp_path)
    url = f"/api/assets/{asset_id}/captions/en"
    srt = client.get(f"{url}.srt")
    assert srt.status_code == 200 and "attachment" in srt.headers["content-disposition"]
    assert srt.text.startswith("1\n00:00:00,000 --> 00:00:02,000\nTalk to an adult\n")
    assert client.get(f"{url}.vtt").text.startswith("WEBVTT")
    edited = srt.text.replace("you trust.", "you trust <3")
    imported = client.post(f"{url}/import", json={"name": "edited.srt", "content": edited, "base_revision": 1,
                                                 "author": "Ann"}, headers=csrf)
    assert imported.status_code == 200 and imported.json()["cues"][1]["text"] == "you trust <3"
    assert imported.json()["revision"]["summary"] == "imported edited.srt"
    bad = client.post(f"{url}/import", json={"name": "notes.txt", "content": "hi", "base_revision": 2,
                                            "author": "Ann"}, headers=csrf)
    assert bad.status_code == 422 and "notes.txt: not a .vtt or .srt file" in bad.json()["detail"]
    restored = client.post(f"{url}/revisions/1/restore", json={"base_revision": 2, "author": "Bo"}, headers=csrf)
    assert restored.status_code == 200 and restored.json()["revision"]["number"] == 3
    assert list(catalog.revision(asset_id, "en", 3).cues) == CUES


def test_api_is_documented_with_a_local_swagger_page(tmp_path: Path) -> None:
    client, _catalog, _asset_id, _csrf = _client(tmp_path)
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/assets", "/api/assets/{asset_id}/captions/{language}", "/api/assets/{asset_id}/approve",
            "/api/assets/{asset_id}/request-changes"} <= set(paths)
    assert "put" in paths["/api/assets/{asset_id}/captions/{language}"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and 'src="/static/swagger/swagger-ui-bundle.js"' in docs.text
    assert "http" not in docs.text.split("<body>")[1].replace("/openapi.json", "")  # nothing from a CDN
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200


def test_a_network_address_needs_an_access_token_and_sign_in(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    settings, catalog, _asset_id = _setup(tmp_path, {"review": {"allowed_hosts": ["review.example.org"]}})
    monkeypatch.delenv("PIPELINE_REVIEW_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="listening on 0.0.0.0 would let anyone"):
        create_app(settings, catalog, host="0.0.0.0")  # noqa: S104
    monkeypatch.setenv("PIPELINE_REVIEW_TOKEN", "short")
    with pytest.raises(ConfigError, match="too short"):
        create_app(settings, catalog, host="0.0.0.0")  # noqa: S104
    token = "a-long-random-secret-for-tests"
    monkeypatch.setenv("PIPELINE_REVIEW_TOKEN", token)
    app = create_app(settings, catalog, host="0.0.0.0")  # noqa: S104
    client = TestClient(app, base_url="http://review.example.org")
    csrf = {"X-CSRF-Token": app.state.guard.csrf_token}
    assert client.get("/api/assets").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.post("/api/session", json={"token": "wrong"}, headers=csrf).status_code == 401
    assert client.get("/api/assets", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.post("/api/assets/nothere/approve", json={"reviewer": "Ann"},
                       headers={"Authorization": f"Bearer {token}"}).status_code == 404  # a script: no CSRF token
    signed = client.post("/api/session", json={"token": token}, headers=csrf)
    assert signed.status_code == 200 and SESSION_COOKIE in signed.cookies
    assert client.get("/api/assets").status_code == 200


def test_service_layer_conflicts_and_change_summaries(tmp_path: Path) -> None:
    settings, catalog, asset_id = _setup(tmp_path)
    asset = catalog.get(asset_id)
    made = editing.save(settings, catalog, asset, "en", 1, "Ann", [CUES[0], Cue(2600, 5000, "you trust.")])
    assert made.summary == "cue 2 timing"
    # Bo, still on revision 1, retimes the same caption differently: a conflict, nothing saved.
    with pytest.raises(ConflictError, match="Ann saved revision 2.*both changed caption 2"):
        editing.save(settings, catalog, asset, "en", 1, "Bo", [CUES[0], Cue(2500, 4800, "you trust.")])
    # His whole list as it was (nothing changed on his side) keeps Ann's change: no new revision.
    assert editing.save(settings, catalog, asset, "en", 1, "Bo", CUES).number == 2
    assert editing.save(settings, catalog, asset, "en", 2, "Bo", list(made.cues)).number == 2  # no change
    assert editing.describe_changes(CUES, [*CUES, Cue(6000, 7000, "New.")]) == "1 cue added"
    assert editing.describe_changes(CUES, CUES[:1]) == "1 cue removed"
    rows = review.queue(settings, catalog)
    assert [(r.status, r.cues, r.last_author) for r in rows] == [(review.Status.IN_REVIEW, 2, "Ann")]


def test_a_detected_language_other_than_the_declared_one_is_a_warning(tmp_path: Path) -> None:
    settings, catalog, asset_id = _setup(tmp_path)
    [track] = catalog.caption_tracks(asset_id)
    catalog.put_caption_track(dataclasses.replace(track, detected_language="cy"))
    report = review.quality_report(settings, catalog, catalog.get(asset_id))
    [warning] = [v for v in report["en"] if v.rule == "language"]
    assert warning.level.value == "warning" and "heard 'cy'" in warning.message
    client = review_client(create_app(settings, catalog), BASE)
    assert client.get(f"/api/assets/{asset_id}/captions/en").json()["detected_language"] == "cy"
