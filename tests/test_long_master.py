"""A long master in bounded memory, and few program launches per master (#20).

Whisper hears a long soundtrack streamed from ffmpeg in chunks cut at silences (engines.chunks): the words must
be those the whole-file path hears, at the master's own times, none lost or doubled where a cut falls inside
speech. The launch count is of real ffmpeg and ffprobe processes, counted as they start."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipeline import config, runner
from pipeline.captions import engines
from pipeline.captions.engines import FasterWhisper
from pipeline.catalog import Catalog
from pipeline.media import ffmpeg
from pipeline.models import Asset, Word
from pipeline.review import waveform
from tests.conftest import Project, make_project
from tests.media import silent_video, speech_wav

PHRASE = "Please talk to someone you trust."
AT_S = (2, 16, 30)  # where the phrase is spoken in the long master, far apart
LONG_S = 36
PASSAGE = ("If something online worries you, talk to an adult you trust. You are not alone, and it is never "
           "your fault.")


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def long_master(path: Path, wav: Path) -> Path:
    """LONG_S seconds of picture and a quiet tone, with `wav` spoken at each of AT_S."""
    copies = f"[1:a]asplit={len(AT_S)}" + "".join(f"[s{i}]" for i in range(len(AT_S)))
    mixes = ";".join(f"[s{i}]adelay=delays={at * 1000}:all=1[p{i}]" for i, at in enumerate(AT_S))
    labels = "".join(f"[p{i}]" for i in range(len(AT_S)))
    _ffmpeg("-f", "lavfi", "-i", f"color=c=gray:s=160x90:r=5:d={LONG_S}", "-i", str(wav),
            "-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=16000:d={LONG_S},volume=0.01",
            "-filter_complex", f"{copies};{mixes};[2:a]{labels}amix=inputs={len(AT_S) + 1}:duration=first:"
            "normalize=0[a]", "-map", "0:v", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "1", str(path))
    return path


def short_master(path: Path, wav: Path) -> Path:
    _ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=160x90:r=5", "-i", str(wav), "-filter_complex",
            "[1:a]apad=pad_dur=0.5[a]", "-map", "0:v", "-map", "[a]", "-shortest", "-c:v", "libx264", "-preset",
            "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "1", str(path))
    return path


def _engine(tmp_path: Path, chunk_seconds: int) -> FasterWhisper:
    return FasterWhisper(config.parse({"captions": {"chunk_seconds": chunk_seconds}}, tmp_path).captions)


def _streamed(engine: FasterWhisper, master: Path) -> tuple[engines.Transcript, list[engines.Chunk]]:
    """The caption stage's path: ffmpeg's pipe, chunks, the engine; the chunks kept to look at their cuts."""
    seen: list[engines.Chunk] = []

    def kept(pieces: Any) -> Any:
        for chunk in pieces:
            seen.append(engines.Chunk(chunk.audio[:0], chunk.start_ms, chunk.keep_from_ms, chunk.keep_to_ms,
                                      chunk.speech))
            yield chunk
    pieces = engines.chunks(ffmpeg.audio_blocks(master, block_seconds=2), engine.settings.chunk_seconds * 1000)
    return engine.transcribe_chunks(kept(pieces), ffmpeg.probe(master).duration_ms), seen


def _texts(words: list[Word]) -> list[str]:
    return [w.text.lower().strip(".,") for w in words]


def test_a_long_master_heard_in_chunks_gives_the_short_masters_words_at_its_own_times(tmp_path: Path) -> None:
    wav = speech_wav(tmp_path / "phrase.wav", PHRASE)
    short = short_master(tmp_path / "short.mp4", wav)
    long = long_master(tmp_path / "long.mp4", wav)
    whole = _engine(tmp_path, 600).transcribe(ffmpeg.decode_audio(short)).words  # one chunk: the whole file
    assert "someone" in _texts(whole)
    heard, chunks = _streamed(_engine(tmp_path, 10), long)
    assert len(chunks) >= 3  # several chunks, cut in the silences between the phrases
    assert all(a.keep_to_ms == b.keep_from_ms == b.start_ms for a, b in zip(chunks, chunks[1:], strict=False))
    words = heard.words
    assert len(words) == len(AT_S) * len(whole)
    for index, at in enumerate(AT_S):
        said = words[index * len(whole):(index + 1) * len(whole)]
        assert _texts(said) == _texts(whole)
        # Offset by where the phrase is, within 0.3 s; not the first word's start, which Whisper puts where the
        # VAD's padded speech starts (0 in the short master, 0.4 s before the voice in the long one).
        assert abs(said[0].end_ms - (whole[0].end_ms + at * 1000)) <= 300
        for mine, reference in zip(said[1:], whole[1:], strict=True):
            assert abs(mine.start_ms - (reference.start_ms + at * 1000)) <= 300
            assert abs(mine.end_ms - (reference.end_ms + at * 1000)) <= 300
    # The VAD heard the three phrases, at their places, and nothing in the tone between them.
    assert len(heard.speech) == len(AT_S)
    for (start, end), at in zip(heard.speech, AT_S, strict=True):
        assert at * 1000 - 600 <= start <= at * 1000 + 400 and end <= at * 1000 + 4000


def test_a_cut_inside_speech_neither_loses_nor_doubles_a_word(tmp_path: Path) -> None:
    wav = speech_wav(tmp_path / "passage.wav", PASSAGE)
    pcm = ffmpeg.decode_audio(short_master(tmp_path / "passage.mp4", wav))
    engine = _engine(tmp_path, 600)
    whole = engine.transcribe(pcm).words
    # The passage has no pause of 500 ms, so the first chunk is cut inside speech, OVERLAP_MS before the end of
    # what it holds: chunk_ms is chosen to put that cut in the middle of a word.
    word = next(w for w in whole if w.start_ms >= 3000 and w.end_ms - w.start_ms >= 200)
    cut = (word.start_ms + word.end_ms) // 2
    pieces = list(engines.chunks([pcm], cut + engines.OVERLAP_MS - engines.GUARD_MS))
    assert len(pieces) >= 2 and pieces[0].keep_to_ms == cut and pieces[1].start_ms < cut
    heard = engine.transcribe_chunks(pieces, len(pcm) // 32)
    assert _texts(heard.words) == _texts(whole)
    # Whisper times a word after a cut a little differently (it glues a start to the word before): within 0.5 s.
    assert all(abs(a.start_ms - b.start_ms) <= 500 and abs(a.end_ms - b.end_ms) <= 500
               for a, b in zip(heard.words, whole, strict=True))
    # The VAD's speech across the cut is one stretch again, where the whole file's VAD puts it.
    reference = engines.speech_intervals(pcm)
    assert len(heard.speech) == len(reference)
    assert all(abs(a - c) <= 100 and abs(b - d) <= 100 for (a, b), (c, d) in zip(heard.speech, reference, strict=True))


def test_a_chunk_is_cut_in_the_latest_silence_and_never_in_the_last_second() -> None:
    speech = [(0, 4000), (5000, 9000), (9500, 12000)]
    assert engines._silent_cut(speech, 1000, 11000) == 9250  # between the second and third
    assert engines._silent_cut(speech, 9300, 11000) is None  # speech runs across the end: no silence left
    assert engines._silent_cut([(8000, 12000)], 1000, 11000) == 8000  # the silence before it
    assert engines._silent_cut([(0, 4000)], 1000, 11000) == 11000  # silence to the end
    assert engines._silent_cut([], 1000, 11000) == 11000
    assert engines.merge_intervals([(0, 10), (10, 20), (30, 40)]) == [(0, 20), (30, 40)]


def test_the_waveform_measured_in_blocks_is_the_waveform_measured_whole() -> None:
    pcm = bytes(range(256)) * 400 + b"\x00\x80" * 333  # loud and quiet, an odd number of columns
    meter = waveform.PeakMeter(8000)
    for start in range(0, len(pcm), 777):  # odd block sizes, a sample split across two blocks
        meter.add(pcm[start:start + 777])
    assert meter.peaks() == waveform.peaks(pcm, 8000)
    assert waveform.peaks(b"\x00\x80" * 160, 8000)[0] == 100  # -32768 is full scale
    assert len(waveform.peaks(b"\x00\x00" * 161, 8000)) == 2


class _Quiet:
    def asset_started(self, master: Path, asset: Asset, index: int, total: int) -> None:
        pass

    def stage_progress(self, stage: str, fraction: float, media_ms: int | None = None) -> None:
        pass

    def asset_finished(self, outcome: runner.Outcome) -> None:
        pass


LAUNCHES_PER_MASTER = 4  # ingest 1 ffprobe, proxy 1, caption 1 (its decode measures the loudness too), the
# ladder 1 (MP4s, HLS, poster and thumbnail from one encode); 17 before #20
WRAPPERS = ("setpriv", "prlimit")  # what contains each program (media/ffmpeg.contained), not programs of their own


def _program(args: Any) -> str:
    words = [str(a) for a in args]
    while words and Path(words[0]).name in WRAPPERS:
        words = words[words.index("--") + 1:]
    return Path(words[0]).name


def test_a_one_second_master_takes_at_most_four_program_launches(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    project: Project = make_project(tmp_path / "p")
    first = silent_video(project.masters / "first.mp4", seconds=1, size="160x90", audio=True)
    second = silent_video(project.masters / "second.mp4", seconds=1, size="320x180", audio=True)
    settings = project.settings()
    catalog = Catalog.open(settings.state_dir)
    run = runner.Runner(settings, catalog, _Quiet())
    [done] = run.run([first])  # the model loaded, ffmpeg found: what every later master does not pay again
    assert done.error is None
    started: list[str] = []
    real_init = subprocess.Popen.__init__

    def counted(self: subprocess.Popen[Any], args: Any, *rest: Any, **options: Any) -> None:
        real_init(self, args, *rest, **options)  # the real program runs
        started.append(_program(args))
    monkeypatch.setattr(subprocess.Popen, "__init__", counted)
    [outcome] = run.run([second])
    monkeypatch.undo()
    assert outcome.error is None and outcome.asset is not None
    out = settings.output_dir / outcome.asset.id
    for made in ("hls/master.m3u8", "hls/audio/stream.m3u8", "hls/180p/stream.m3u8", "waveform.json",
                 "video_180p.mp4", "poster.jpg", "thumbnail.jpg", "proxy.mp4", "captions.en.vtt"):
        assert (out / made).is_file(), made
    assert catalog.get(outcome.asset.id).loudness_lufs is not None  # measured by the captions' decode
    assert set(started) <= {"ffmpeg", "ffprobe"}
    assert 0 < len(started) <= LAUNCHES_PER_MASTER, started
