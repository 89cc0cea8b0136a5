"""Caption quality rules and the approval gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import config
from pipeline.captions import quality, vtt
from pipeline.catalog import Catalog
from pipeline.errors import CaptionError, UsageError
from pipeline.models import AssetState, Cue
from pipeline.review import decisions as review
from tests.conftest import asset_awaiting_review, make_project

CHILDREN = quality.PRESETS["children"]


def test_a_good_cue_has_no_violations() -> None:
    assert quality.check([Cue(0, 3000, "Talk to an adult\nyou trust.")], CHILDREN) == []


def test_each_rule_with_its_value_and_limit() -> None:
    cues = [
        Cue(0, 1200, "This line is far too long for a child to read in time"),  # 53 chars, 44 cps
        Cue(1100, 1900, "Overlaps"),
        Cue(2000, 10000, "one\ntwo\nthree"),
    ]
    found = [(v.cue, v.rule, v.level.value, v.value, v.limit) for v in quality.check(cues, CHILDREN)]
    assert found == [
        (1, "chars_per_line", "error", 53, 42),
        (1, "reading_speed", "error", 44.17, 17.0),
        (1, "duration", "warning", 1200, 1500),
        (1, "time_per_word", "warning", 1200, 3900),
        (2, "overlap", "error", 100, 0),
        (2, "duration", "error", 800, 1000),
        (3, "lines", "error", 3, 2),
        (3, "duration", "error", 8000, 7000),
    ]


def test_presets_and_portrait_limits() -> None:
    cue = Cue(0, 3000, "A line of exactly thirty-nine characters")
    assert [v.rule for v in quality.check([cue], quality.PRESETS["children"])] == ["chars_per_line"]
    assert quality.check([cue], quality.PRESETS["netflix"]) == []
    portrait = quality.rules_for("children", portrait=True)
    assert (portrait.chars_per_line, portrait.max_lines) == (25, 3)


def test_captions_check_on_a_file(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    path = tmp_path / "fast.vtt"
    vtt.write_vtt(path, [Cue(0, 1500, "Too many words for one short moment")])
    done = project.cli("captions", "check", str(path), "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["errors"] == 1 and report["violations"][0]["rule"] == "reading_speed"
    text = project.cli("captions", "check", str(path))
    assert "1 error(s)" in text.stdout and "too fast to read" in text.stdout


def test_errors_block_approval_unless_overridden_with_a_reason(tmp_path: Path) -> None:
    settings = config.parse({}, tmp_path)
    catalog = Catalog.open(settings.state_dir)
    asset = asset_awaiting_review(settings, catalog, "talk.mp4", [Cue(0, 900, "Much too fast to read")])
    with pytest.raises(UsageError, match=r"2 caption errors \(first, caption 1: reading speed 23.3 characters a "
                                         r"second, over the limit of 17\)"):
        review.approve(settings, catalog, asset, "Ann")
    approved = review.approve(settings, catalog, asset, "Ann", override_reason="matches the on-screen text")
    assert approved.state is AssetState.APPROVED
    assert "overridden: matches the on-screen text" in (catalog.events(asset.id)[-1].detail or "")


def test_srt_round_trip_and_a_bad_file_is_named(tmp_path: Path) -> None:
    cues = [Cue(0, 1500, "Tom & Jerry <3"), Cue(2000, 3500, "Two\nlines")]
    srt = vtt.format_srt(cues)
    assert srt == "1\n00:00:00,000 --> 00:00:01,500\nTom & Jerry <3\n\n2\n00:00:02,000 --> 00:00:03,500\nTwo\nlines\n"
    (tmp_path / "edited.srt").write_text(srt)
    assert vtt.read_captions_file(tmp_path / "edited.srt") == cues
    (tmp_path / "broken.srt").write_text("1\n00:00:05,000 --> 00:00:01,000\nbackwards\n")
    with pytest.raises(CaptionError, match="broken.srt"):
        vtt.read_captions_file(tmp_path / "broken.srt")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CaptionError, match=r"notes.txt: not a .vtt or .srt file"):
        vtt.read_captions_file(tmp_path / "notes.txt")


def test_import_puts_the_asset_back_in_review_and_export_writes_srt(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    asset = asset_awaiting_review(settings, catalog, "talk.mp4", [Cue(0, 3000, "Talk to an adult.")])
    project.cli("approve", asset.id, "--reviewer", "Ann", check=True)
    exported = tmp_path / "out.srt"
    project.cli("captions", "export", asset.id, str(exported), check=True)
    assert exported.read_text() == "1\n00:00:00,000 --> 00:00:03,000\nTalk to an adult.\n"
    exported.write_text(exported.read_text().replace("an adult", "an adult you trust"))
    done = project.cli("captions", "import", asset.id, str(exported), "--reviewer", "Sam Editor", check=True)
    assert "as revision 2 (imported out.srt)" in done.stdout and "back in review" in done.stdout
    assert project.cli_json("status")[0]["state"] == "awaiting_review"
    stored = (settings.output_dir / asset.id / "captions.en.vtt").read_text()
    assert "Talk to an adult you trust." in stored
    assert "status: revision 2 by Sam Editor (imported out.srt), not yet reviewed" in stored
    refused = project.cli("captions", "import", asset.id, str(tmp_path / "missing.srt"))
    assert refused.returncode == 1 and "missing.srt: file not found" in refused.stderr
