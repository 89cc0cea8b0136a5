"""Caption: Whisper's words, segmented into cues, written as a draft WebVTT file for review; and the editor's
waveform, from the same decode of the soundtrack."""

from __future__ import annotations

from pathlib import Path

from pipeline.captions import engines, guards, quality, segment, vtt
from pipeline.catalog import now, queue
from pipeline.config import CaptionSettings
from pipeline.descriptions import speech as speech_file
from pipeline.media import encode, ffmpeg
from pipeline.models import CaptionState, CaptionTrack, Cue
from pipeline.review import figures, waveform
from pipeline.stages import playlists
from pipeline.stages.job import Job

AUTOMATIC = queue.AUTOMATIC  # the author of a track's first revision


def caption_path(language: str) -> str:
    return f"captions.{language}.vtt"


def words_path(language: str) -> str:
    """Whisper's words with timings, confidence and flags, for the reviewer (never published)."""
    return f"captions.{language}.words.json"


def layout(settings: CaptionSettings) -> segment.Layout:
    rules = quality.PRESETS[settings.preset]  # drafts never break its hard limits (issue 18)
    return segment.Layout(
        max_chars_per_line=settings.max_chars_per_line, max_lines=settings.max_lines,
        max_cue_ms=int(settings.max_cue_seconds * 1000),
        min_cue_ms=max(int(settings.min_cue_seconds * 1000), rules.error_min_ms),
        target_cue_ms=max(int(settings.min_cue_seconds * 1000), 1500),
        pause_break_ms=int(settings.pause_break_seconds * 1000),
        target_cps=rules.target_cps, hard_max_cue_ms=rules.error_max_ms)


def provenance(engine: str, model: str, language: str, status: str) -> dict[str, str]:
    """What the captions' NOTE block says about where they came from (the catalog holds the same)."""
    return {"engine": engine, "model": model, "language": language,
            "written": now().strftime("%Y-%m-%dT%H:%M:%SZ"), "status": status}


def _done(job: Job, language: str) -> bool:
    return any(t.language == language and (job.out_dir / t.path).is_file()
               for t in job.catalog.caption_tracks(job.asset.id))


def declared_language(source: str, default: str) -> str:
    """A master named like `assembly.cy.mp4` is in the language its name gives (a code Whisper knows);
    any other master is in [captions] language."""
    parts = Path(source).name.split(".")
    if len(parts) >= 3 and parts[-2] in engines.whisper_languages():
        return parts[-2]
    return default


# Up to this length, the ladder's loudness is measured by the captions' decode, where it costs less than the
# ffmpeg launch of its own pass (about 0.1 s); a longer master's pass (about 3 s a minute here) stays in the
# ladder, after the asset is reviewable (#19).
LOUDNESS_WITH_CAPTIONS_MS = 10 * 60_000


def _measure_loudness_here(job: Job) -> bool:
    """Only where this process runs the ladder next: a caption worker's measurement would be lost."""
    return job.ladder_follows and 0 < (job.asset.duration_ms or 0) <= LOUDNESS_WITH_CAPTIONS_MS


def _transcribe(job: Job, language: str, meter: waveform.PeakMeter) -> engines.Transcript:
    """One ffmpeg decode of the master's sound, streamed (#20): Whisper hears it chunk by chunk, and the editor's
    waveform is measured from the same samples on the way, so memory stays the same for a two-hour master.
    A short master's loudness is measured by the same decode for the ladder (LOUDNESS_WITH_CAPTIONS_MS)."""
    limits = ffmpeg.Limits(memory_bytes=job.settings.limits.ffmpeg_memory_mb * 2**20)
    loudness = _measure_loudness_here(job)
    blocks = ffmpeg.audio_blocks(
        job.master, engines.SAMPLE_RATE, timeout_s=job.settings.transcode.timeout_seconds, limits=limits,
        also=encode.loudness_output(job.settings.transcode) if loudness else (),
        on_stderr=(lambda stderr: encode.keep_loudness(job.master, job.settings.transcode, stderr)) if loudness
        else None)
    pieces = engines.chunks(meter.through(blocks), job.settings.captions.chunk_seconds * 1000)
    return job.transcriber().transcribe_chunks(pieces, job.asset.duration_ms or 0, job.on_progress, language)


def caption(job: Job) -> None:
    settings = job.settings.captions
    language = declared_language(job.asset.source, settings.language)
    if _done(job, language):
        return
    words, model, engine, detected = [], settings.model or "tiny.en (bundled)", settings.engine, None
    speech: list[tuple[int, int]] | None = None
    meter = waveform.PeakMeter(engines.SAMPLE_RATE)
    if job.asset.has_audio:
        transcript = _transcribe(job, language, meter)
        words, model, engine = transcript.words, transcript.model, job.transcriber().engine
        detected, speech = transcript.detected_language, list(transcript.speech)
    waveform.keep_peaks(job.out_dir, meter.peaks())
    speech_file.record(job.out_dir, speech or [])  # the audio description panel's gaps (#21)
    flagged = guards.flag_words(words, settings.glossary, speech)
    guards.write_words(job.out_dir / words_path(language), flagged)
    # Stored as the file will read back, so the revision and the file agree byte for byte in meaning.
    cues = [Cue(c.start_ms, c.end_ms, vtt.clean_text(c.text)) for c in segment.segment(words, layout(settings))]
    path = caption_path(language)
    vtt.write_vtt(job.out_dir / path, cues, provenance(engine, model, language, "automatic draft, "
                                                       "not yet reviewed"))
    state = CaptionState.DRAFT if cues else CaptionState.NO_SPEECH
    # A track whose file was lost keeps its history: the new draft is its next revision.
    before = next((t.revision for t in job.catalog.caption_tracks(job.asset.id) if t.language == language), None)
    job.catalog.put_caption_track(CaptionTrack(job.asset.id, language, path, state, len(cues), engine, model, None,
                                               None, revision=before, generated_at=now(), detected_language=detected))
    counted = figures.count(figures.rules_for(job.settings, job.asset), cues, flagged,
                            job.catalog.flag_records(job.asset.id, language))  # the queue's figures (#20)
    job.catalog.save_revision(job.asset.id, language, before, AUTOMATIC, f"made by {engine} ({model})", cues,
                              withdraw=False, counts=counted)
    playlists.rebuild(job.out_dir, job.catalog, job.asset.id)
