"""Two reviewers through the review API, in-process against a real catalog and real caption files (#15): saves
carry per-cue changes against a base revision and merge per caption; a caption both changed is a 409 that lists
both versions and saves nothing; restore and import name whose change each caption would replace; revisions list
from their summaries; comments and the asset's events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.test_web import _client


def _change(cue: dict[str, Any], text: str | None = None, start_ms: int | None = None) -> dict[str, Any]:
    return {"id": cue["id"], "cue": {"start_ms": cue["start_ms"] if start_ms is None else start_ms,
                                     "end_ms": cue["end_ms"], "text": cue["text"] if text is None else text}}


def _save(client: TestClient, url: str, csrf: dict[str, str], base: int, author: str,
          changes: list[dict[str, Any]]) -> Any:
    return client.put(url, json={"base_revision": base, "author": author, "changes": changes}, headers=csrf)


def test_edits_to_different_captions_by_two_reviewers_merge_without_a_prompt(tmp_path: Path) -> None:
    client, catalog, asset_id, csrf = _client(tmp_path)
    url = f"/api/assets/{asset_id}/captions/en"
    loaded = client.get(url).json()
    first, second = loaded["cues"]
    assert first["id"] and second["id"] and first["id"] != second["id"]
    ann = _save(client, url, csrf, 1, "Ann", [_change(first, "Talk to an adult.")])
    assert ann.status_code == 200 and ann.json()["revision"]["number"] == 2
    assert ann.json()["merged_with"] is None and ann.json()["cues"] is None  # nothing to show: the editor has it
    assert ann.json()["revision"]["cues_changed"] == 1
    bob = _save(client, url, csrf, 1, "Bob", [_change(second, "you really trust.")])  # still on revision 1
    assert bob.status_code == 200, bob.text
    body = bob.json()
    assert body["revision"]["number"] == 3 and body["merged_with"] == [{"number": 2, "author": "Ann"}]
    assert [c["text"] for c in body["cues"]] == ["Talk to an adult.", "you really trust."]
    latest = catalog.revision(asset_id, "en", 3)
    assert [c.text for c in latest.cues] == ["Talk to an adult.", "you really trust."] and latest.author == "Bob"
    vtt_text = client.get(f"{url}.vtt").text
    assert "Talk to an adult." in vtt_text and "you really trust." in vtt_text


def test_the_same_caption_changed_by_both_is_a_409_with_both_versions_and_nothing_saved(tmp_path: Path) -> None:
    client, catalog, asset_id, csrf = _client(tmp_path)
    url = f"/api/assets/{asset_id}/captions/en"
    first, second = client.get(url).json()["cues"]
    assert _save(client, url, csrf, 1, "Ann", [_change(first, "Talk to a grown-up"), _change(second, start_ms=2400)]
                 ).status_code == 200
    refused = _save(client, url, csrf, 1, "Bob", [_change(first, "Talk to an adult!")])
    assert refused.status_code == 409
    body = refused.json()
    assert body["current_revision"] == 2 and body["author"] == "Ann"
    assert "you both changed caption 1" in body["detail"]
    [conflict] = body["conflicts"]
    assert conflict["id"] == first["id"] and conflict["position"] == 1
    assert (conflict["base"]["text"], conflict["mine"]["text"], conflict["theirs"]["text"]) == (
        "Talk to an adult", "Talk to an adult!", "Talk to a grown-up")
    assert conflict["theirs_author"] == "Ann" and conflict["theirs_revision"] == 2
    assert [c["text"] for c in body["latest_cues"]] == ["Talk to a grown-up", "you trust."]
    assert body["merged"][1]["start_ms"] == 2400  # Ann's retiming is in what the editor rebases onto
    assert catalog.caption_track(asset_id, "en").revision == 2  # nothing saved
    # Bob decides: his version, knowingly replacing Ann's, saved from the revision he rebased onto.
    kept = _save(client, url, csrf, 2, "Bob", [_change(conflict["mine"])])
    assert kept.status_code == 200 and kept.json()["merged_with"] is None
    assert [c.text for c in catalog.revision(asset_id, "en", 3).cues] == ["Talk to an adult!", "you trust."]


def test_deleting_and_adding_captions_by_id_and_a_whole_track_save_still_works(tmp_path: Path) -> None:
    client, catalog, asset_id, csrf = _client(tmp_path)
    url = f"/api/assets/{asset_id}/captions/en"
    first, second = client.get(url).json()["cues"]
    added = {"id": "enew1", "cue": {"start_ms": 6000, "end_ms": 7000, "text": "[music]"}}
    done = _save(client, url, csrf, 1, "Ann", [{"id": second["id"], "cue": None}, added])
    assert done.status_code == 200 and done.json()["revision"]["summary"] == "1 cue added; 1 cue removed"
    assert [(c.id, c.text) for c in catalog.revision(asset_id, "en", 2).cues] == [
        (first["id"], "Talk to an adult"), ("enew1", "[music]")]
    cues = [{"start_ms": 0, "end_ms": 2000, "text": "Talk to an adult."},
            {"start_ms": 6000, "end_ms": 7000, "text": "[music]"}]
    whole = client.put(url, json={"base_revision": 2, "author": "Ann", "cues": cues}, headers=csrf)
    assert whole.status_code == 200 and [c["id"] for c in whole.json()["cues"]] == [first["id"], "enew1"]
    twice = _save(client, url, csrf, 3, "Ann", [added, {"id": "enew1", "cue": None}])
    assert twice.status_code == 200  # the later change to the same id wins; nothing else is touched
    bad = _save(client, url, csrf, 4, "Ann", [{"id": "bad id!", "cue": None}])
    assert bad.status_code == 422 and "bad id!" not in bad.text.replace('"bad id!"', "")


def test_restore_and_import_preview_name_whose_change_each_caption_replaces(tmp_path: Path) -> None:
    client, catalog, asset_id, csrf = _client(tmp_path)
    url = f"/api/assets/{asset_id}/captions/en"
    first, second = client.get(url).json()["cues"]
    _save(client, url, csrf, 1, "Ann", [_change(first, "Talk to an adult.")])
    _save(client, url, csrf, 2, "Bob", [_change(second, "you really trust.")])
    preview = client.get(f"{url}/revisions/1/compare-latest").json()
    assert preview["from"] == 3 and preview["to"] == 1
    assert [(c["position"], c["kind"], c["changed_by"], c["changed_in"]) for c in preview["changes"]] == [
        (1, "text", "Ann", 2), (2, "text", "Bob", 3)]
    # Bob restores only his own caption: Ann's fix stays.
    restored = client.post(f"{url}/revisions/1/restore", json={"base_revision": 3, "author": "Bob",
                                                                 "ids": [second["id"]]}, headers=csrf)
    assert restored.status_code == 200
    assert [c["text"] for c in restored.json()["cues"]] == ["Talk to an adult.", "you trust."]
    assert restored.json()["revision"]["summary"] == "restored revision 1 (1 caption)"
    srt = "1\n00:00:00,000 --> 00:00:02,000\nTalk to an adult\n\n2\n00:00:02,500 --> 00:00:05,000\nyou trust!\n"
    seen = client.post(f"{url}/import", json={"name": "old.srt", "content": srt, "base_revision": 4,
                                              "preview": True}, headers=csrf).json()
    assert [(c["position"], c["before"]["text"], c["after"]["text"], c["changed_by"]) for c in seen["changes"]] == [
        (1, "Talk to an adult.", "Talk to an adult", "Ann"), (2, "you trust.", "you trust!", "Bob")]
    assert catalog.caption_track(asset_id, "en").revision == 4  # a preview saves nothing
    chosen = client.post(f"{url}/import", json={"name": "old.srt", "content": srt, "base_revision": 4,
                                                "author": "Cy", "ids": [second["id"]]}, headers=csrf)
    assert [c["text"] for c in chosen.json()["cues"]] == ["Talk to an adult.", "you trust!"]
    longer = srt + "\n3\n00:00:06,000 --> 00:00:07,000\n[music]\n"
    [added] = [c for c in client.post(f"{url}/import", json={"name": "more.srt", "content": longer, "base_revision": 5,
                                                              "preview": True}, headers=csrf).json()["changes"]
               if c["kind"] == "added"]
    only_added = client.post(f"{url}/import", json={"name": "more.srt", "content": longer, "base_revision": 5,
                                                    "author": "Cy", "ids": [added["id"]]}, headers=csrf)
    assert [c["text"] for c in only_added.json()["cues"]] == ["Talk to an adult.", "you trust!", "[music]"]


def test_history_lists_summaries_compares_any_two_revisions_and_shows_events_and_comments(tmp_path: Path) -> None:
    client, catalog, asset_id, csrf = _client(tmp_path)
    url = f"/api/assets/{asset_id}/captions/en"
    first, second = client.get(url).json()["cues"]
    _save(client, url, csrf, 1, "Ann", [_change(first, "Talk to an adult.")])
    _save(client, url, csrf, 2, "Bob", [_change(second, start_ms=2600)])
    listed = client.get(f"{url}/revisions").json()
    assert [(r["number"], r["author"], r["summary"], r["cues_changed"]) for r in listed] == [
        (3, "Bob", "cue 2 timing", 1), (2, "Ann", "cue 1 text", 1), (1, "automatic draft", "automatic draft", None)]
    between = client.get(f"{url}/compare", params={"from": 1, "to": 3}).json()
    assert [(c["kind"], c["before"]["text"], c["after"]["text"], c["changed_by"]) for c in between["changes"]] == [
        ("text", "Talk to an adult", "Talk to an adult.", "Ann"), ("timing", "you trust.", "you trust.", "Bob")]
    note = client.post(f"{url}/comments", json={"cue_id": second["id"], "author": "Ann",
                                                "text": "Check this line with the film's makers"}, headers=csrf)
    assert note.status_code == 200
    [shown] = client.get(f"{url}/comments").json()
    assert (shown["cue_id"], shown["author"], shown["resolved_by"]) == (second["id"], "Ann", None)
    done = client.post(f"{url}/comments/{shown['id']}/resolve", json={"author": "Bob"}, headers=csrf).json()
    assert done["resolved_by"] == "Bob" and done["resolved_at"]
    assert client.post(f"{url}/comments/nothere/resolve", json={"author": "Bob"}, headers=csrf).status_code == 404
    events = client.get(f"/api/assets/{asset_id}/events").json()
    assert [e["state"] for e in events][-1] == "awaiting_review"
