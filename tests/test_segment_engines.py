"""Both engines, the bundled tiny.en, on espeak-ng speech: the drafts' text is the engine's own text apart from
whitespace, and every cue is within the hard limits (issue 18)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pipeline import config
from pipeline.captions import engines, quality
from pipeline.media import ffmpeg
from pipeline.stages import caption
from tests.media import speech_video

PASSAGE = ("Mr. John Dashwood had then leisure to consider how much there might be prudently in his power to do "
           "for them. He was not an ill-disposed young man, unless to be rather cold-hearted. Tickets cost 3.5 "
           "pounds, and the bus leaves at 10:30.")
HARD = {"duration", "overlap", "order", "lines", "chars_per_line"}


def _spy_on_text(model: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The engine's own text, as the library returns it (the real model runs: this only records)."""
    texts: list[str] = []
    real = model.transcribe

    def recording(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        if isinstance(result, dict):  # openai-whisper
            texts.append(str(result["text"]))
            return result
        segments, info = result  # faster-whisper: a generator of segments
        segments = list(segments)
        texts.extend(s.text for s in segments)
        return iter(segments), info

    monkeypatch.setattr(model, "transcribe", recording)
    return texts


@pytest.mark.parametrize("engine", ["faster-whisper", "openai-whisper"])
def test_the_drafts_text_is_the_engines_text(engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = config.parse({"captions": {"engine": engine}}, tmp_path)
    transcriber = engines.make_transcriber(settings.captions, tmp_path / "models")
    texts = _spy_on_text(transcriber._load(), monkeypatch)  # type: ignore[attr-defined]
    pcm = ffmpeg.decode_audio(speech_video(tmp_path / "talk.mp4", PASSAGE))
    words = transcriber.transcribe(pcm).words
    cues = caption.segment.segment(words, caption.layout(settings.captions))
    engine_text = "".join(texts)
    assert "".join("".join(c.text.split()) for c in cues) == "".join(engine_text.split())
    # Tokens Whisper attached stay attached: every word of the engine's text is a word of a cue.
    cue_words = [word for c in cues for word in c.text.split()]
    assert cue_words == engine_text.split()
    assert re.search(r"\w-\w", " ".join(cue_words))  # "ill-disposed" or "cold-hearted", as the model wrote it
    assert not any(line.startswith("-") for c in cues for line in c.lines)
    assert not [v for v in quality.errors(quality.check(cues, quality.PRESETS["children"])) if v.rule in HARD]
    starts = [w.start_ms for w in words if w.starts_segment]
    assert starts and starts[0] == words[0].start_ms
