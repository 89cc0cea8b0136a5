"""The bundled Whisper model through the engine interface."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import config
from pipeline.captions import convert
from pipeline.captions.engines import FasterWhisper, bundled_model_path
from pipeline.errors import CaptionError
from pipeline.media import ffmpeg
from tests.conftest import make_project
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


def test_the_bundled_weights_convert_to_an_openai_whisper_checkpoint() -> None:
    ct2 = convert.read_ctranslate2(bundled_model_path() / "model.bin")
    dims, state = convert.openai_state(ct2)
    assert dims == {"n_mels": 80, "n_vocab": 51864, "n_audio_ctx": 1500, "n_audio_state": 384, "n_audio_head": 6,
                    "n_audio_layer": 4, "n_text_ctx": 448, "n_text_state": 384, "n_text_head": 6,
                    "n_text_layer": 4}
    assert state["decoder.blocks.0.attn.query.weight"].shape == (384, 384)
    assert "decoder.blocks.0.attn.key.bias" not in state  # openai-whisper's keys have no bias
    assert not ct2["decoder/layer_0/self_attention/linear_0/bias"][384:768].any()  # ...CTranslate2's are zero
    assert len(state) == 4 + 1 + 4 * 15 + 2 + 2 + 4 * 24 + 2


def test_openai_whisper_transcribes_speech_through_the_pipeline(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    with project.config_file.open("a") as handle:
        handle.write('[captions]\nengine = "openai-whisper"\n')
    speech_video(project.masters / "talk.mp4", "Please talk to someone you trust.")
    project.cli("run", check=True)
    [asset] = project.cli_json("status")
    text = (project.root / "output" / asset["id"] / "captions.en.vtt").read_text()
    assert "engine: openai-whisper" in text and "model: tiny.en (bundled, converted)" in text
    assert "someone you trust" in text.lower()
    assert (project.root / "state" / "models" / "openai-whisper-tiny.en.pt").is_file()
