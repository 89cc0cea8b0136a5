"""The bundled Whisper model through the engine interface."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import config
from pipeline.captions.engines import FasterWhisper, bundled_model_path
from pipeline.errors import CaptionError
from pipeline.media import ffmpeg
from tests.media import speech_video


def test_a_local_model_folder_transcribes_speech(tmp_path: Path) -> None:
    video = speech_video(tmp_path / "talk.mp4", "Please talk to someone you trust.")
    settings = config.parse({"captions": {"model": str(bundled_model_path())}}, tmp_path).captions
    progress: list[float] = []
    transcript = FasterWhisper(settings).transcribe(ffmpeg.decode_audio(video), on_progress=progress.append)
    text = " ".join(w.text for w in transcript.words).lower()
    assert "someone" in text and "trust" in text
    assert transcript.language == "en" and progress[-1] == 1.0
    assert all(w.start_ms < w.end_ms for w in transcript.words)
    starts = [w.start_ms for w in transcript.words]
    assert starts == sorted(starts)


def test_a_model_that_cannot_be_loaded_names_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    settings = config.parse({"captions": {"model": "no-such-model"}}, tmp_path).captions
    with pytest.raises(CaptionError, match=r"\[captions\] model = 'no-such-model' could not be loaded"):
        FasterWhisper(settings).transcribe(b"\x00\x00" * 16000)
