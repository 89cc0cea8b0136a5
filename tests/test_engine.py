"""The bundled Whisper model through the engine interface."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipeline import config
from pipeline.captions import convert, engines
from pipeline.captions.engines import FasterWhisper, bundled_model_path
from pipeline.catalog import Catalog
from pipeline.errors import CaptionError
from pipeline.media import ffmpeg
from pipeline.stages import caption
from tests.conftest import make_project
from tests.media import speech_video, speech_wav


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


def test_voice_activity_detection_finds_the_speech_and_not_the_silence(tmp_path: Path) -> None:
    wav = speech_wav(tmp_path / "talk.wav", "Please talk to someone you trust.")
    raw = tmp_path / "padded.raw"  # 16 kHz mono s16le, with 4 s of silence after the speech
    subprocess.run(["sox", str(wav), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw",
                    str(raw), "pad", "0", "4"], check=True)
    pcm = raw.read_bytes()
    speech = engines.speech_intervals(pcm)
    total_ms = len(pcm) // 2 * 1000 // engines.SAMPLE_RATE
    assert speech and speech[0][0] < 1000
    assert all(end < total_ms - 3000 for _start, end in speech)  # nothing in the silent tail


def test_the_declared_language_wins_and_a_confident_other_detection_is_kept() -> None:
    assert engines.language_disagreement("en", "en", 0.99) is None
    assert engines.language_disagreement("en", "cy", 0.3) is None
    assert engines.language_disagreement("en", "cy", 0.8) == "cy"
    assert caption.declared_language("assembly.cy.mp4", "en") == "cy"
    assert caption.declared_language("talk.new.mp4", "en") == "en"  # not a language Whisper knows
    assert caption.declared_language("clip.mp4", "en") == "en"


def test_a_master_declared_in_another_language_than_the_model_knows_fails_clearly(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    speech_video(project.masters / "assembly.fr.mp4", "Bonjour.")
    speech_video(project.masters / "talk.mp4", "Please talk to someone you trust.")
    done = project.cli("run")
    assert done.returncode == 1
    by_source = {a["source"]: a for a in project.cli_json("status")}
    assert by_source["talk.mp4"]["state"] == "awaiting_review"
    assert by_source["assembly.fr.mp4"]["state"] == "failed"
    assert "knows English only" in by_source["assembly.fr.mp4"]["error"]
    assert "declared 'fr'" in by_source["assembly.fr.mp4"]["error"]
    settings = project.settings()
    [track] = Catalog.open(settings.state_dir).caption_tracks(by_source["talk.mp4"]["id"])
    assert track.generated_at is not None and track.revision == 1
