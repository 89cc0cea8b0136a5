"""The review gate (#15): flag states, approval that refuses while flagged words or caption errors are unchecked
(API and CLI) and records a reason, the no-speech decision before publishing, and line breaks from the
segmenter. Real SQLite catalog, the real app in-process, the real CLI; the share page in Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from pipeline import config
from pipeline.captions import guards, segment, vtt
from pipeline.catalog import Catalog
from pipeline.distribution import publish as publishing
from pipeline.errors import UsageError
from pipeline.models import Asset, AssetState, CaptionState, CaptionTrack, Cue, Word
from pipeline.review import decisions as review
from pipeline.review import flags
from pipeline.stages import caption, ingest, transcode
from pipeline.stages.job import Job
from pipeline.storage.embedded import EmbeddedStorage
from pipeline.web.api_gate import gate_summary
from pipeline.web.app import create_app
from tests.conftest import asset_awaiting_review, make_project, review_client
from tests.media import silent_video

BASE = "http://127.0.0.1"
CUES = [Cue(0, 3000, "If you need help,\ncall childline."), Cue(3500, 6000, "Miss Okonquo will listen."),
        Cue(6500, 9000, "Talk to someone you trust.")]


def _words() -> list[Word]:
    """Whisper's words for CUES: "childline" (a helpline) and "Okonquo" (heard with low confidence)."""
    spoken = [("If", 0, 0.9), ("you", 300, 0.9), ("need", 600, 0.9), ("help,", 900, 0.9), ("call", 1400, 0.9),
              ("childline.", 1800, 0.9), ("Miss", 3500, 0.9), ("Okonquo", 3900, 0.3), ("will", 4600, 0.9),
              ("listen.", 5000, 0.9), ("Talk", 6500, 0.9), ("to", 6900, 0.9), ("someone", 7200, 0.9),
              ("you", 7700, 0.9), ("trust.", 8000, 0.9)]
    return [Word(start, start + 280, text, p) for text, start, p in spoken]


def _asset(settings: config.Settings, catalog: Catalog, source: str = "helpline.mp4",
           cues: list[Cue] | None = None) -> str:
    asset = asset_awaiting_review(settings, catalog, source, CUES if cues is None else cues)
    guards.write_words(settings.output_dir / asset.id / caption.words_path("en"), guards.flag_words(_words()))
    return asset.id


def _client(tmp_path: Path) -> tuple[TestClient, config.Settings, Catalog, str, dict[str, str]]:
    settings = config.parse({}, tmp_path)
    catalog = Catalog.open(settings.state_dir)
    asset_id = _asset(settings, catalog)
    app = create_app(settings, catalog)
    return review_client(app, BASE), settings, catalog, asset_id, {"X-CSRF-Token": app.state.guard.csrf_token}


def _save(client: TestClient, asset_id: str, csrf: dict[str, str], cues: list[Cue], author: str) -> int:
    url = f"/api/assets/{asset_id}/captions/en"
    base = client.get(url).json()["revision"]["number"]
    body = {"base_revision": base, "author": author,
            "cues": [{"start_ms": c.start_ms, "end_ms": c.end_ms, "text": c.text} for c in cues]}
    saved = client.put(url, json=body, headers=csrf)
    assert saved.status_code == 200, saved.text
    return int(saved.json()["revision"]["number"])


def test_every_flag_has_a_plain_label() -> None:
    assert set(flags.LABELS) == set(guards.Flag)
    assert all("_" not in label for label in flags.LABELS.values())


def test_flags_are_open_then_corrected_or_checked_and_a_changed_caption_reopens_a_check(tmp_path: Path) -> None:
    client, settings, catalog, asset_id, csrf = _client(tmp_path)
    url = f"/api/assets/{asset_id}/captions/en/flags"
    listed = client.get(url).json()
    assert [(f["word"], f["state"], f["cue"]) for f in listed["flags"]] == [
        ("childline.", "open", 1), ("Okonquo", "open", 2)]
    helpline, name = listed["flags"]
    assert helpline["labels"] == ["helpline name"] and helpline["kinds"] == ["helpline"]
    assert name["labels"] == ["low confidence", "possible name of a person or place"]
    assert name["message"] == "check \"Okonquo\" (low confidence and possible name of a person or place)"
    assert listed["decision"] is None  # captions with cues: no no-speech decision to make

    # Ann corrects the helpline's name: the flag is corrected, by her, in the revision that removed the word.
    fixed = [Cue(0, 3000, "If you need help,\ncall Childline."), *CUES[1:]]
    revision = _save(client, asset_id, csrf, fixed, "Ann")
    [helpline, name] = client.get(url).json()["flags"]
    made = catalog.revision(asset_id, "en", revision)
    assert (helpline["state"], helpline["by"], helpline["at"]) == ("corrected", "Ann", made.created_at.isoformat())
    assert helpline["message"] == "\"childline\" corrected by Ann"

    # Bo listens and finds the name right: checked, with who and when, stored in the catalog.
    checked = client.post(f"{url}/{name['key']}/check", json={"author": "Bo"}, headers=csrf)
    assert checked.status_code == 200 and (checked.json()["state"], checked.json()["by"]) == ("checked", "Bo")
    record = catalog.flag_records(asset_id, "en")[name["key"]]
    assert (record.state, record.by, record.cue_text) == ("checked", "Bo", "Miss Okonquo will listen.")
    assert client.post(f"{url}/{helpline['key']}/check", json={"author": "Bo"}, headers=csrf).status_code == 422

    # A later edit of that caption keeps the word: the check no longer holds, the flag is open again.
    _save(client, asset_id, csrf, [fixed[0], Cue(3500, 6000, "Miss Okonquo will listen to you."), CUES[2]], "Cy")
    [_, name] = client.get(url).json()["flags"]
    assert (name["state"], name["by"]) == ("open", None)
    assert name["message"].startswith("check \"Okonquo\" again") and "after Bo checked it" in name["message"]
    reopened = client.post(f"{url}/{name['key']}/check", json={"author": "Bo"}, headers=csrf).json()
    assert reopened["state"] == "checked"
    assert client.post(f"{url}/{name['key']}/reopen", json={"author": "Di"}, headers=csrf).json()["state"] == "open"
    assert client.post(f"{url}/nothere/check", json={"author": "Bo"}, headers=csrf).status_code == 404
    # The same summary is what the captions answer carries (the lead wires it into GET captions).
    assert gate_summary(settings, catalog, catalog.get(asset_id), "en") == client.get(url).json()


def test_approval_lists_open_flags_and_errors_and_needs_a_reason_to_go_past_them(tmp_path: Path) -> None:
    client, settings, catalog, asset_id, csrf = _client(tmp_path)
    too_fast = Cue(6500, 7000, "Talk to someone you trust.")
    revision = _save(client, asset_id, csrf, [*CUES[:2], too_fast], "Ann")
    url = f"/api/assets/{asset_id}/approve"
    refused = client.post(url, json={"reviewer": "Ann", "revisions": {"en": revision}}, headers=csrf)
    assert refused.status_code == 422
    body = refused.json()
    assert body["detail"].startswith(f"asset {asset_id} is not approved: 2 flagged words not checked and "
                                     "2 caption errors (first, caption 1: check \"childline\" (helpline name))")
    assert [(i["kind"], i["cue"], i["cue_id"]) for i in body["open_items"]] == [
        ("flag", 1, "n1"), ("flag", 2, "n2"), ("error", 3, "n3"), ("error", 3, "n3")]
    assert body["open_items"][2]["text"] == "reading speed 52 characters a second, over the limit of 17"
    assert catalog.get(asset_id).state is AssetState.AWAITING_REVIEW

    approved = client.post(url, json={"reviewer": "Ann", "revisions": {"en": revision},
                                      "reason": "read against the script"}, headers=csrf)
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    [track] = catalog.caption_tracks(asset_id)
    record = catalog.approval_records(asset_id)["en"]
    assert (record.unchecked, record.reason, record.sha256) == (4, "read against the script", track.approved_sha256)
    details = [e.detail for e in catalog.events(asset_id)]
    assert "approved by Ann with 4 unchecked items: read against the script" in details
    assert details[-1] == "captions approved by Ann; quality errors overridden: read against the script"


def test_approval_with_everything_checked_needs_no_reason(tmp_path: Path) -> None:
    client, settings, catalog, asset_id, csrf = _client(tmp_path)
    asset = catalog.get(asset_id)
    for flag in flags.track_flags(settings, catalog, asset, "en"):
        flags.check(settings, catalog, asset, "en", flag.key, "Bo")
    assert review.open_items(settings, catalog, asset) == []
    done = client.post(f"/api/assets/{asset_id}/approve", json={"reviewer": "Bo"}, headers=csrf)
    assert done.status_code == 200
    record = catalog.approval_records(asset_id)["en"]
    assert (record.unchecked, record.reason, record.no_speech) == (0, None, False)


def test_the_cli_refuses_listing_the_open_items_and_approves_with_a_reason(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    settings = project.settings()
    asset_id = _asset(settings, Catalog.open(settings.state_dir))
    refused = project.cli("approve", asset_id, "--reviewer", "Ann")
    assert refused.returncode == 2 and refused.stdout == ""
    lines = refused.stderr.splitlines()
    assert lines[0].split() == ["TRACK", "CUE", "KIND", "KEY", "OPEN", "ITEM"]
    assert "check \"childline\" (helpline name)" in lines[1] and "1800-2080" in lines[1]
    assert lines[-1].startswith(f"pipeline: asset {asset_id} is not approved: 2 flagged words not checked")
    assert "--reason" in lines[-1]

    listed = project.cli("captions", "flags", asset_id)
    assert listed.returncode == 0 and "helpline name" in listed.stdout and "2 flagged word(s), 2 open" in listed.stdout
    keys = [row["key"] for row in json.loads(project.cli("captions", "flags", asset_id, "--json").stdout)]
    done = project.cli("captions", "check-flag", asset_id, keys[0], "--reviewer", "Bo", check=True)
    assert "checked by Bo" in done.stdout
    assert "1 open" in project.cli("captions", "flags", asset_id).stdout

    approved = project.cli("approve", asset_id, "--reviewer", "Ann", "--override", "the name is right", check=True)
    assert "Approved captions" in approved.stdout
    record = Catalog.open(settings.state_dir).approval_records(asset_id)["en"]
    assert (record.unchecked, record.reason) == (1, "the name is right")
    helped = project.cli("approve", "--help").stdout
    assert "--reason WHY, --override WHY" in helped and "--no-speech" in helped


def _silent(settings: config.Settings, catalog: Catalog, source: str) -> Asset:
    """An asset whose captions have no cue, as the caption stage leaves a master without speech."""
    silent = asset_awaiting_review(settings, catalog, source, [])
    catalog.put_caption_track(CaptionTrack(silent.id, "en", "captions.en.vtt", CaptionState.NO_SPEECH, 0,
                                           "faster-whisper", "tiny.en", None, None))
    return catalog.get(silent.id)


def test_a_no_speech_asset_is_published_only_after_a_reviewer_decides(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    silent = _silent(settings, catalog, "music.mp4")
    refused = project.cli("publish", silent.id)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert f"run `pipeline approve {silent.id} --reviewer NAME --no-speech`" in refused.stderr
    assert "nobody has decided" in refused.stderr
    everything = project.cli("publish")  # publishing everything names it too, and publishes nothing
    assert f"{silent.id}: no speech, not published until a reviewer decides" in everything.stderr

    plain = project.cli("approve", silent.id, "--reviewer", "Ann")
    assert plain.returncode == 2 and "--no-speech" in plain.stderr and "sound captions" in plain.stderr
    undecided = gate_summary(settings, catalog, catalog.get(silent.id), "en")["decision"]
    assert undecided == {"no_speech": True, "no_speech_decided_by": None, "no_speech_reason": None,
                         "no_speech_at": None}

    decided = project.cli("approve", silent.id, "--reviewer", "Ann", "--no-speech", check=True)
    assert "(no speech: nothing to caption)" in decided.stdout
    asset = catalog.get(silent.id)
    assert asset.state is AssetState.APPROVED
    publishing.check_publishable(catalog, asset)  # no longer refused
    decision = gate_summary(settings, catalog, asset, "en")["decision"]
    assert (decision["no_speech_decided_by"], decision["no_speech_reason"]) == ("Ann", review.NO_SPEECH)
    assert any(e.detail == "no speech: nothing to caption, decided by Ann" for e in catalog.events(silent.id))

    talking = asset_awaiting_review(settings, catalog, "talk.mp4", CUES)
    with pytest.raises(UsageError, match="approve its captions without --no-speech"):
        review.approve(settings, catalog, talking, "Ann", no_speech=True)


def test_sound_captions_added_to_a_no_speech_asset_are_approved_as_captions(tmp_path: Path) -> None:
    client, settings, catalog, _asset_id, csrf = _client(tmp_path)
    silent = _silent(settings, catalog, "music.mp4")
    with pytest.raises(UsageError, match="no speech was heard"):
        publishing.check_publishable(catalog, catalog.get(silent.id))
    _save(client, silent.id, csrf, [Cue(0, 3000, "[gentle piano music]")], "Ann")
    assert catalog.caption_track(silent.id, "en").state is CaptionState.DRAFT
    done = client.post(f"/api/assets/{silent.id}/approve", json={"reviewer": "Ann"}, headers=csrf)
    assert done.status_code == 200 and catalog.get(silent.id).state is AssetState.APPROVED
    assert gate_summary(settings, catalog, catalog.get(silent.id), "en")["decision"] is None
    # The no-speech decision over the API, for an asset that has none yet.
    other = _silent(settings, catalog, "quiet.mp4")
    decided = client.post(f"/api/assets/{other.id}/no-speech", json={"reviewer": "Bo", "reason": "titles only"},
                          headers=csrf)
    assert decided.status_code == 200 and decided.json()["state"] == "approved"
    decision = gate_summary(settings, catalog, catalog.get(other.id), "en")["decision"]
    assert (decision["no_speech_decided_by"], decision["no_speech_reason"]) == ("Bo", "titles only")


def test_layout_breaks_lines_as_drafts_do(tmp_path: Path) -> None:
    client, settings, catalog, asset_id, csrf = _client(tmp_path)
    merged = "Hi, I'm Priya from Milton Keynes and I help young people online."
    answer = client.post(f"/api/assets/{asset_id}/captions/en/layout",
                         json={"texts": [merged, "Short.", "Hi, I'm Priya\nfrom Milton\nKeynes"]}, headers=csrf)
    assert answer.status_code == 200
    assert answer.json()["texts"] == ["Hi, I'm Priya from Milton Keynes\nand I help young people online.",
                                      "Short.", "Hi, I'm Priya from Milton Keynes"]
    too_long = client.post(f"/api/assets/{asset_id}/captions/en/layout", json={"texts": ["x" * 1001]}, headers=csrf)
    assert too_long.status_code == 422
    missing = client.post(f"/api/assets/{asset_id}/captions/cy/layout", json={"texts": ["a"]}, headers=csrf)
    assert missing.status_code == 404


def test_layout_equals_the_segmenters_line_breaks_of_a_draft() -> None:
    words = [Word(i * 300, i * 300 + 250, text, 0.9) for i, text in enumerate(
        "Hi, I'm Priya from Milton Keynes and today we talk about staying safe online with friends and family "
        "and what to do when something worries you.".split())]
    rules = segment.Layout(max_chars_per_line=37, max_lines=2)
    drafted = segment.segment(words, rules)
    assert len(drafted) >= 2 and any("\n" in c.text for c in drafted)
    for cue in drafted:
        assert segment.layout(" ".join(cue.text.split()), rules) == cue.text
    # Text too long for two lines gets a third rather than an overlong line; a word longer than a line stays whole.
    three = segment.layout(" ".join(["caption"] * 12), rules)
    assert three.count("\n") == 2 and max(len(line) for line in three.split("\n")) <= 37
    assert segment.layout("x" * 50, rules) == "x" * 50


def _transcoded_asset(project_root: Path, settings: config.Settings, catalog: Catalog) -> str:
    """A real master transcoded by the real stage, with draft captions and flagged words (no Whisper)."""
    master = silent_video(project_root / "masters" / "helpline.mp4", seconds=10, audio=True)
    asset, _ = ingest.identify(master, settings, catalog)
    catalog.set_state(asset.id, AssetState.PROCESSING)
    job = Job(asset, master, settings, catalog, lambda: None, lambda _f: None)  # type: ignore[arg-type,return-value]
    ingest.ingest(job)
    job.refresh()
    transcode.transcode(job)
    out = settings.output_dir / asset.id
    vtt.write_vtt(out / "captions.en.vtt", CUES)
    guards.write_words(out / caption.words_path("en"), guards.flag_words(_words()))
    catalog.put_caption_track(CaptionTrack(asset.id, "en", "captions.en.vtt", CaptionState.DRAFT, len(CUES),
                                           "faster-whisper", "tiny.en", None, None))
    catalog.set_state(asset.id, AssetState.AWAITING_REVIEW)
    return asset.id


@pytest.mark.media
@pytest.mark.storage
def test_the_share_page_says_how_many_items_were_approved_unchecked_and_why(tmp_path: Path,
                                                                          browser: Browser) -> None:
    project = make_project(tmp_path / "p")
    with project.config_file.open("a") as extra:
        extra.write("[transcode]\nladder = [240]\nbitrates_kbps = [300]\n")
    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    asset_id = _transcoded_asset(project.root, settings, catalog)
    try:
        refused = project.cli("approve", asset_id, "--reviewer", "Ann Example")
        assert refused.returncode == 2 and "2 flagged words not checked" in refused.stderr
        project.cli("approve", asset_id, "--reviewer", "Ann Example", "--reason", "checked against the script",
                    check=True)
        project.cli_json("publish", asset_id)
        link = project.cli_json("share", asset_id)
        page = browser.new_page()
        page.goto(link["url"])
        notes = page.locator("main p").all_inner_texts()
        page.close()
        assert "Captions checked by a person." in notes  # the reviewer's name only by setting (#16)
        assert "Approved with 2 unchecked items: checked against the script" in notes
    finally:
        EmbeddedStorage(settings).stop()
