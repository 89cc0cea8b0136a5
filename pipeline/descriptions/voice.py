"""The offline voice that speaks audio descriptions (#21), behind a small interface so that a better offline
engine can be added beside espeak-ng: `synthesise(text)` gives a WAV file and how long it lasts. The editor
shows that duration, the description's cue ends when the voice stops, and the mix places the same file, so the
WebVTT file and the soundtrack agree.

Speech is kept by a digest of engine, voice, rate and text under the asset's folder: saving a description and
mixing the soundtrack synthesise each text once.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipeline import fsutil
from pipeline.config import DescriptionSettings
from pipeline.errors import MediaError, PipelineError

SPEECH_DIR = "descriptions_voice"
TIMEOUT_S = 60


@dataclass(frozen=True)
class Speech:
    path: Path  # a WAV file
    spoken_ms: int


class Voice(Protocol):
    engine: str
    voice: str
    rate_wpm: int

    def synthesise(self, text: str) -> Speech: ...


def wav_ms(path: Path) -> int:
    with wave.open(str(path), "rb") as audio:
        return audio.getnframes() * 1000 // audio.getframerate()


class EspeakVoice:
    """espeak-ng (installed with the pipeline: Makefile SYSTEM_TOOLS)."""

    engine = "espeak-ng"

    def __init__(self, settings: DescriptionSettings, cache_dir: Path) -> None:
        self.voice, self.rate_wpm, self.cache_dir = settings.voice, settings.rate_wpm, cache_dir

    def synthesise(self, text: str) -> Speech:
        key = hashlib.sha256(f"{self.engine}\0{self.voice}\0{self.rate_wpm}\0{text}".encode()).hexdigest()[:32]
        target = self.cache_dir / f"{key}.wav"
        if not target.is_file():
            program = shutil.which("espeak-ng")
            if program is None:
                raise PipelineError("espeak-ng not found: it speaks the audio descriptions; install it with "
                                    "`make install` (apt-get install espeak-ng)")
            with fsutil.atomic_file(target) as partial:
                # The text after "--" is never read as an option; stdin is closed so espeak-ng never waits on it.
                done = subprocess.run([program, "-v", self.voice, "-s", str(self.rate_wpm), "-w", str(partial),
                                       "--", text], capture_output=True, text=True, timeout=TIMEOUT_S,
                                      stdin=subprocess.DEVNULL, check=False)
                if done.returncode != 0 or not partial.is_file():
                    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
                    raise MediaError(f"espeak-ng could not speak a description with [descriptions] voice = "
                                     f"{self.voice!r}: {tail[0]}; pick a voice from `espeak-ng --voices`")
        return Speech(target, wav_ms(target))


def make_voice(settings: DescriptionSettings, out_dir: Path) -> Voice:
    """The configured engine ([descriptions] engine), keeping its speech under the asset's folder `out_dir`."""
    return EspeakVoice(settings, out_dir / SPEECH_DIR)
