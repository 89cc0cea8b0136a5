"""The project's caption drafts against one cue per Whisper segment (the platforms' layout), on the same audio and
the same words, for both engines with the bundled tiny.en.

Prints, per engine and layout, over all the audio: the share of cues within the hard limits of the `children`
preset (1 to 7 s on screen, no overlap, at most 2 lines of at most 42 characters, start within 1.5 s of the
speech), the share of lines within 37 characters, the reading-speed distribution, text-fidelity errors (words of
the cues that differ from the engine's own text, whitespace aside), and SubER (the `subtitle-edit-rate` package)
against a reference where one exists: benchmarks/data/jfk.wav, whose published transcript is laid out below by
hand at its pauses, with times from voice activity detection (Silero VAD).
Speech: three espeak-ng passages (titles, hyphenated words, decimals and times, and one fast voice) and jfk.wav.
Usage: .venv/bin/python benchmarks/captions.py
"""

from __future__ import annotations

import difflib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import config
from pipeline.captions import engines, quality, segment, vtt
from pipeline.models import Cue, Word
from pipeline.stages import caption

PASSAGES = [
    ("en-gb", 150, "Mr. John Dashwood had then leisure to consider how much there might be prudently in his power "
                   "to do for them. He was not an ill-disposed young man, unless to be rather cold-hearted and "
                   "rather selfish is to be ill-disposed."),
    ("en-gb", 150, "Dr. Patel and Mrs. Khan met the pupils at 10:30. Tickets cost 3.5 pounds each, e.g. for the "
                   "bus. If something online worries you, talk to an adult you trust. You are not alone."),
    ("en-us", 200, "Welcome to our short film about staying safe online. Before you share a photo, think about who "
                   "can see it. Ask permission before posting pictures of your friends, and check your privacy "
                   "settings every few months."),
]
JFK = Path(__file__).parent / "data" / "jfk.wav"
JFK_REFERENCE = [Cue(0, 2640, "And so, my fellow Americans,"), Cue(2928, 4752, "ask not"),
                 Cue(5040, 7920, "what your country\ncan do for you,"),
                 Cue(8000, 11000, "ask what you can do\nfor your country.")]
HARD = {"duration", "overlap", "order", "lines", "chars_per_line"}
RULES = quality.PRESETS["children"]


@dataclass
class Heard:
    name: str
    words: list[Word]
    text: str  # the engine's own text


def pcm_of(source: Path, folder: Path) -> bytes:
    raw = folder / (source.stem + ".s16le")
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(source), "-f", "s16le", "-ac", "1", "-ar",
                    "16000", str(raw)], check=True)
    return raw.read_bytes()


def make_audio(folder: Path) -> list[tuple[str, bytes]]:
    audio = []
    for index, (voice, speed, text) in enumerate(PASSAGES):
        wav = folder / f"passage{index}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text], check=True)
        audio.append((f"passage{index}", pcm_of(wav, folder)))
    return [*audio, ("jfk", pcm_of(JFK, folder))]


def transcribe(engine: str, audio: list[tuple[str, bytes]], cache: Path) -> list[Heard]:
    settings = config.parse({"captions": {"engine": engine}}, cache).captions
    transcriber: Any = engines.make_transcriber(settings, cache / "models")
    model = transcriber._load()
    real, texts = model.transcribe, []

    def recording(*args: Any, **kwargs: Any) -> Any:  # keeps the library's own text; the model runs as always
        result = real(*args, **kwargs)
        if isinstance(result, dict):
            texts.append(str(result["text"]))
            return result
        found = list(result[0])
        texts.append("".join(s.text for s in found))
        return iter(found), result[1]

    model.transcribe = recording
    heard = []
    for name, pcm in audio:
        words = transcriber.transcribe(pcm).words
        heard.append(Heard(name, words, texts[-1]))
    return heard


def per_segment(words: list[Word]) -> list[Cue]:
    """One cue per Whisper segment, on one line, from its first word to its last: the platforms' layout."""
    groups: list[list[Word]] = []
    for word in words:
        if word.starts_segment or not groups:
            groups.append([])
        groups[-1].append(word)
    return [Cue(g[0].start_ms, g[-1].end_ms, " ".join(w.text for w in g)) for g in groups]


def first_starts(cues: list[Cue], words: list[Word]) -> list[int]:
    starts, position = [], 0
    for cue in cues:
        starts.append(words[position].start_ms)
        position += len(cue.text.split())
    return starts


def fidelity_errors(cues: list[Cue], text: str) -> int:
    ours, theirs = " ".join(c.text for c in cues).split(), text.split()
    matcher = difflib.SequenceMatcher(a=ours, b=theirs, autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")


def suber(cues: list[Cue], reference: list[Cue], folder: Path) -> float | None:
    try:
        from suber.file_readers import read_input_file
        from suber.metrics.suber import calculate_SubER
    except ImportError:
        return None
    hypothesis_file, reference_file = folder / "hypothesis.srt", folder / "reference.srt"
    hypothesis_file.write_text(vtt.format_srt(cues), encoding="utf-8")
    reference_file.write_text(vtt.format_srt(reference), encoding="utf-8")
    return float(calculate_SubER(read_input_file(str(hypothesis_file), "SRT"),
                                 read_input_file(str(reference_file), "SRT")))


def figures(layouts: list[tuple[list[Cue], Heard]], folder: Path) -> dict[str, Any]:
    cues_within = cues_total = lines_within = lines_total = errors = 0
    speeds: list[float] = []
    score = None
    for cues, heard in layouts:
        found = quality.check(cues, RULES)
        bad = {v.cue for v in quality.errors(found) if v.rule in HARD}
        for index, (cue, start) in enumerate(zip(cues, first_starts(cues, heard.words), strict=True), start=1):
            cues_total += 1
            cues_within += index not in bad and abs(cue.start_ms - start) <= 1500
            lines_total += len(cue.lines)
            lines_within += sum(len(line) <= RULES.chars_per_line for line in cue.lines)
            speeds.append(quality.reading_speed(cue))
        errors += fidelity_errors(cues, heard.text)
        if heard.name == "jfk":
            score = suber(cues, JFK_REFERENCE, folder)
    deciles = statistics.quantiles(speeds, n=10) if len(speeds) > 1 else speeds * 9
    return {"cues": cues_total, "within": cues_within / cues_total, "lines": lines_within / lines_total,
            "median": statistics.median(speeds), "p90": deciles[8],
            "over15": sum(s > RULES.warn_cps for s in speeds) / len(speeds),
            "over17": sum(s > RULES.error_cps for s in speeds) / len(speeds), "fidelity": errors, "suber": score}


def main() -> None:
    engine_names = ["faster-whisper"]
    try:
        import whisper  # noqa: F401
        engine_names.append("openai-whisper")
    except ImportError:
        print("openai-whisper: not installed (make install-openai); measuring faster-whisper only")
    rows = []
    with tempfile.TemporaryDirectory(prefix="pipeline-captions-") as tmp:
        folder = Path(tmp)
        audio = make_audio(folder)
        for engine in engine_names:
            heard = transcribe(engine, audio, folder)
            layout = caption.layout(config.parse({}, folder).captions)
            drafts = [(segment.segment(h.words, layout), h) for h in heard]
            rows.append((engine, "project drafts", figures(drafts, folder)))
            rows.append((engine, "one cue per segment", figures([(per_segment(h.words), h) for h in heard], folder)))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"{len(PASSAGES)} espeak-ng passages and jfk.wav; preset children")
    print(f"{'engine':<16}{'layout':<21}{'cues':>5}{'in limits':>10}{'lines<=37':>10}{'cps med':>8}{'cps p90':>8}"
          f"{'>15 cps':>8}{'>17 cps':>8}{'text errs':>10}{'SubER jfk':>10}")
    for engine, name, f in rows:
        score = "n/a" if f["suber"] is None else f"{f['suber']:.1f}"
        print(f"{engine:<16}{name:<21}{f['cues']:>5}{f['within']:>10.0%}{f['lines']:>10.0%}{f['median']:>8.1f}"
              f"{f['p90']:>8.1f}{f['over15']:>8.0%}{f['over17']:>8.0%}{f['fidelity']:>10}{score:>10}")
    if rows and rows[0][2]["suber"] is None:
        print("SubER: not installed (make install puts subtitle-edit-rate in .venv)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
