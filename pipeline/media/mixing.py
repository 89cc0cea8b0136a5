"""The described soundtrack (#21), as ffmpeg commands run through media.ffmpeg: the programme's sound lowered
under each description by a deterministic gain envelope (a `volume` expression of time, so the amount is exact
and the ramps are the same on every run; a compressor's would depend on the voice), the voice track brought to
the programme's loudness and added without amix's normalisation (which would lower both), then EBU R128
two-pass loudnorm of the whole to the ladder's target.
"""

from __future__ import annotations

import json
import re
import wave
from collections.abc import Sequence
from pathlib import Path

from pipeline.config import TranscodeSettings
from pipeline.media import ffmpeg
from pipeline.media.encode import LOUDNESS_RANGE, Loudness, _number

VOICE_RATE = 48000


def gain_expression(spans: Sequence[tuple[int, int]], duck_db: float, ramp_ms: int) -> str:
    """The programme's gain at time t: 1 outside descriptions, 10^(-duck_db/20) during each [start, end) ms,
    with linear ramps of `ramp_ms` before each start and after each end (overlapping ramps never go below the
    ducked level)."""
    if not spans:
        return "1"
    depth = 1 - 10 ** (-duck_db / 20)
    r = ramp_ms / 1000
    parts = [f"clip((t-{s / 1000 - r:.3f})/{r:.3f},0,1)*clip(({e / 1000 + r:.3f}-t)/{r:.3f},0,1)" for s, e in spans]
    return f"1-{depth:.6f}*min(1,{'+'.join(parts)})"


def voice_track(placed: Sequence[tuple[int, Path]], duration_ms: int, target: Path) -> None:
    """One mono 48 kHz WAV as long as the programme, holding each spoken description (a 16-bit mono WAV) at its
    start time in ms: a single input for the mix, and what the tests compare the mix with."""
    import numpy as np  # here: every command imports this module (through publish), few of them mix

    total = np.zeros(max(1, duration_ms * VOICE_RATE // 1000), dtype=np.float32)
    for start_ms, path in placed:
        with wave.open(str(path), "rb") as audio:
            rate, frames = audio.getframerate(), audio.readframes(audio.getnframes())
            channels = audio.getnchannels()
        samples = np.frombuffer(frames, dtype=np.int16).astype(np.float32).reshape(-1, channels).mean(axis=1)
        if rate != VOICE_RATE:  # espeak-ng speaks at 22,050 Hz: linear resampling is plenty for speech
            samples = np.interp(np.arange(0, len(samples), rate / VOICE_RATE), np.arange(len(samples)), samples)
        begin = start_ms * VOICE_RATE // 1000
        end = min(len(total), begin + len(samples))
        if end > begin:
            total[begin:end] += samples[:end - begin].astype(np.float32)
    pcm = np.clip(total, -32768, 32767).astype("<i2").tobytes()
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(VOICE_RATE)
        out.writeframes(pcm)


def voice_measure_args(voice: Path, settings: TranscodeSettings) -> list[str]:
    """The voice track's loudness (EBU R128 gates out the silence between descriptions)."""
    return ["-protocol_whitelist", "file", "-i", ffmpeg.input_url(voice), "-af",
            f"loudnorm=I={settings.loudness_lufs}:TP={settings.true_peak_dbtp}:LRA={LOUDNESS_RANGE}:print_format=json",
            "-f", "null", "-"]


def voice_gain_db(measured: Loudness, settings: TranscodeSettings) -> float:
    """The gain that brings the voice to the programme's target loudness, as broadcasters set a describer's
    voice level with the dialogue's: then the ducked programme under it is far below it, and the whole mix needs
    almost no further gain, so the programme outside descriptions keeps its level."""
    return 0.0 if measured.silent else settings.loudness_lufs - measured.input_i


def _graph(has_programme: bool, expression: str, voice_db: float, tail: str) -> str:
    stereo = "aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo"
    voice = f"[{1 if has_programme else 0}:a]{stereo},volume={voice_db:.2f}dB"
    if not has_programme:
        return f"{voice}{tail}[out]"
    return (f"[0:a:0]{stereo},volume='{expression}':eval=frame[programme];{voice}[voice];"
            f"[programme][voice]amix=inputs=2:normalize=0:duration=first:dropout_transition=0{tail}[out]")


def _inputs(programme: Path | None, voice: Path) -> list[str]:
    own = ["-protocol_whitelist", "file"]
    return [*own, "-i", ffmpeg.input_url(programme), *own, "-i", ffmpeg.input_url(voice)] if programme else [
        *own, "-i", ffmpeg.input_url(voice)]


def measure_args(programme: Path | None, voice: Path, expression: str, voice_db: float,
                 settings: TranscodeSettings) -> list[str]:
    """The mix's first loudnorm pass: measures, writes nothing."""
    tail = (f",loudnorm=I={settings.loudness_lufs}:TP={settings.true_peak_dbtp}:LRA={LOUDNESS_RANGE}"
            ":print_format=json")
    return [*_inputs(programme, voice), "-filter_complex", _graph(programme is not None, expression, voice_db, tail),
            "-map", "[out]", "-f", "null", "-"]


def parse_measurement(stderr: str) -> Loudness:
    found = re.search(r"\{[^{}]*\"input_i\"[^{}]*\}", stderr)
    data = json.loads(found.group(0)) if found else {}
    return Loudness(_number(data.get("input_i")), _number(data.get("input_tp")), _number(data.get("input_lra")),
                    _number(data.get("input_thresh")), _number(data.get("target_offset")))


def mix_args(programme: Path | None, voice: Path, expression: str, voice_db: float, measured: Loudness,
             settings: TranscodeSettings, target: Path) -> list[str]:
    """The mix, normalised with the first pass's figures (linear: one gain for the whole soundtrack, so the
    programme keeps its dynamics), as AAC-LC stereo in an MP4 audio file."""
    tail = ""
    if not measured.silent:
        tail = (f",loudnorm=I={settings.loudness_lufs}:TP={settings.true_peak_dbtp}:LRA={LOUDNESS_RANGE}"
                f":measured_I={measured.input_i}:measured_TP={measured.input_tp}:measured_LRA={measured.input_lra}"
                f":measured_thresh={measured.input_thresh}:offset={measured.target_offset}:linear=true")
    tail += ",aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo"
    return [*_inputs(programme, voice), "-filter_complex", _graph(programme is not None, expression, voice_db, tail),
            "-map", "[out]", "-c:a", "aac", "-b:a", f"{settings.audio_bitrate_kbps}k", "-ac", "2",
            "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", "-y", ffmpeg.input_url(target)]


def described_mp4_args(video_mp4: Path, soundtrack: Path, target: Path, language: str, label: str) -> list[str]:
    """The top rung's picture with the described soundtrack, both copied; the sound track names its language
    (ISO 639-2 for MP4) and what it is."""
    own = ["-protocol_whitelist", "file"]
    return [*own, "-i", ffmpeg.input_url(video_mp4), *own, "-i", ffmpeg.input_url(soundtrack), "-map", "0:v:0",
            "-map", "1:a:0", "-c", "copy", "-map_metadata", "-1", "-map_chapters", "-1",
            "-metadata:s:a:0", f"language={language}", "-metadata:s:a:0", f"title={label}",
            "-movflags", "+faststart", "-f", "mp4", "-y", ffmpeg.input_url(target)]
