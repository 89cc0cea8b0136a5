"""`pipeline run` over a folder of mixed masters, with the real model."""

from __future__ import annotations

from tests.conftest import Project
from tests.media import silent_video, speech_video


def test_bad_master_fails_alone_and_no_speech_is_not_an_error(project: Project) -> None:
    speech_video(project.masters / "talk.mp4", "Please talk to someone you trust.")
    silent_video(project.masters / "mute.mp4", seconds=2)
    silent_video(project.masters / "quiet.mp4", seconds=2, audio=True)
    (project.masters / "notes.txt").write_text("not a video")
    (project.masters / ".hidden").write_text("skipped")

    done = project.cli("run")
    assert done.returncode == 1
    assert "notes.txt: not a readable video" in done.stderr
    assert "Traceback" not in done.stderr

    states = {a["source"]: a for a in project.cli_json("status")}
    assert set(states) == {"talk.mp4", "mute.mp4", "quiet.mp4", "notes.txt"}
    assert states["notes.txt"]["state"] == "failed"
    assert "notes.txt" in states["notes.txt"]["error"]
    for name in ("talk.mp4", "mute.mp4", "quiet.mp4"):
        assert states[name]["state"] == "awaiting_review", states[name]
        assert "error" not in states[name]

    from pipeline.catalog import Catalog

    catalog = Catalog.open(project.settings().state_dir)
    tracks = {name: catalog.caption_tracks(states[name]["id"])[0] for name in ("talk.mp4", "mute.mp4", "quiet.mp4")}
    assert tracks["talk.mp4"].state.value == "draft" and tracks["talk.mp4"].cue_count >= 1
    assert tracks["mute.mp4"].state.value == "no_speech" and tracks["mute.mp4"].cue_count == 0
    assert tracks["quiet.mp4"].state.value == "no_speech"
    talk = project.root / "output" / states["talk.mp4"]["id"] / "captions.en.vtt"
    assert "trust" in talk.read_text().lower()

    # A second run does nothing new, and still reports the bad file.
    again = project.cli("run")
    assert again.returncode == 1 and "3 already known" in again.stdout


def test_unknown_asset_id_is_a_usage_error(project: Project) -> None:
    done = project.cli("approve", "abcdef123456", "--reviewer", "Ann")
    assert done.returncode == 2 and "no asset with id 'abcdef123456'" in done.stderr
    assert done.stderr.count("\n") == 1
    usage = project.cli("approve", "abcdef123456")
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1 and "--reviewer" in usage.stderr
