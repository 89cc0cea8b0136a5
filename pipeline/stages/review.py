"""Review: a person approves the captions. The web editor (pipeline review) calls the same function."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pipeline import fsutil
from pipeline.captions import guards, quality, vtt
from pipeline.catalog import Catalog
from pipeline.config import CaptionSettings, Settings
from pipeline.errors import PipelineError, UsageError
from pipeline.models import Asset, AssetState, CaptionState, Cue
from pipeline.stages import caption, playlists


def rules(settings: CaptionSettings, asset: Asset) -> quality.Rules:
    portrait = bool(asset.width and asset.height and asset.height > asset.width)
    return quality.rules_for(settings.preset, settings.max_chars_per_line, settings.max_lines, portrait)


def _flag_warnings(cues: list[Cue], flagged: list[guards.FlaggedWord]) -> list[quality.Violation]:
    """Words the guards flagged, as warnings on the cue that shows them."""
    found = []
    for item in flagged:
        index = next((i for i, c in enumerate(cues, start=1) if c.start_ms <= item.word.start_ms < c.end_ms + 500),
                     None)
        for flag in item.flags:
            found.append(quality.Violation(index or 0, item.word.start_ms, f"word:{flag.value}",
                                           quality.Level.WARNING, round(item.word.probability, 2), 0,
                                           f"check \"{item.word.text}\" ({flag.value.replace('_', ' ')})"))
    return found


def quality_report(settings: Settings, catalog: Catalog, asset_id: str) -> dict[str, list[quality.Violation]]:
    """Every quality problem of each caption track of the asset, by language, with the words flagged for a
    person to check."""
    asset = catalog.get(asset_id)
    report = {}
    for track in catalog.caption_tracks(asset.id):
        folder = settings.output_dir / asset.id
        cues = vtt.read_vtt(folder / track.path)
        found = quality.check(cues, rules(settings.captions, asset))
        found += _flag_warnings(cues, guards.read_words(folder / caption.words_path(track.language)))
        report[track.language] = sorted(found, key=lambda v: (v.cue, v.start_ms))
    return report


def approve(settings: Settings, catalog: Catalog, asset_id: str, reviewer: str,
            override_reason: str | None = None) -> Asset:
    """Approve the captions as they are on disk now; publish checks that they have not changed since.
    Error-level quality problems block approval unless the reviewer gives a reason, which is recorded."""
    name = " ".join(reviewer.split())
    if not name:
        raise UsageError("--reviewer: give the name of the person who checked the captions")
    asset = catalog.get(asset_id)
    out_dir = settings.output_dir
    for track in catalog.caption_tracks(asset.id):
        if not (out_dir / asset.id / track.path).is_file():
            raise PipelineError(f"{out_dir / asset.id / track.path}: caption file missing; run `pipeline run` to "
                                "make it again")
    reason = " ".join((override_reason or "").split()) or None
    blocking = [v for found in quality_report(settings, catalog, asset.id).values() for v in quality.errors(found)]
    if blocking and not reason:
        first = blocking[0]
        raise UsageError(f"asset {asset.id}: {len(blocking)} caption error(s), first at cue {first.cue}: "
                         f"{first.message} ({first.rule} {first.value:g}, limit {first.limit:g}); fix them, or "
                         "approve anyway with --override \"why\"; `pipeline captions check` lists them all")
    digests = {}
    for track in catalog.caption_tracks(asset.id):
        path = out_dir / asset.id / track.path
        vtt.write_vtt(path, vtt.read_vtt(path), caption.provenance(track.engine, track.model, track.language,
                                                                   f"reviewed by {name}"))
        digests[track.language] = fsutil.sha256_file(path)
    playlists.rebuild(out_dir / asset.id, catalog, asset.id)
    return catalog.approve_captions(asset.id, name, digests, reason if blocking else None)


def import_captions(settings: Settings, catalog: Catalog, asset_id: str, source: Path) -> Asset:
    """Captions edited in another program (.vtt or .srt) replace the current ones; the asset goes back to
    review."""
    cues = vtt.read_captions_file(source)
    asset = catalog.get(asset_id)
    return replace_captions(catalog, settings.output_dir, asset.id, settings.captions.language, cues,
                            note=f"imported from {source.name}")


def export_captions(settings: Settings, catalog: Catalog, asset_id: str, target: Path) -> int:
    """Write the asset's captions to `target` as WebVTT or SubRip, by its suffix; returns the cue count."""
    asset = catalog.get(asset_id)
    track = next((t for t in catalog.caption_tracks(asset.id) if t.language == settings.captions.language), None)
    if track is None:
        raise UsageError(f"asset {asset.id} has no {settings.captions.language} captions yet")
    cues = vtt.read_vtt(settings.output_dir / asset.id / track.path)
    kind = target.suffix.lower()
    if kind not in (".vtt", ".srt"):
        raise UsageError(f"{target.name}: name the file .vtt (WebVTT) or .srt (SubRip)")
    fsutil.write_text(target, vtt.format_srt(cues) if kind == ".srt" else vtt.format_vtt(cues))
    return len(cues)


def replace_captions(catalog: Catalog, out_dir: Path, asset_id: str, language: str, cues: list[Cue],
                     note: str = "edited") -> Asset:
    """Store corrected captions for one language. The asset goes back to review: what was approved, and what
    may be published, is only ever what a reviewer has seen."""
    asset = catalog.get(asset_id)
    track = next((t for t in catalog.caption_tracks(asset.id) if t.language == language), None)
    if track is None:
        raise UsageError(f"asset {asset.id} has no {language} captions")
    vtt.write_vtt(out_dir / asset.id / track.path, cues,
                  caption.provenance(track.engine, track.model, language, f"{note}, not yet reviewed"))
    catalog.put_caption_track(replace(track, state=CaptionState.DRAFT if cues else CaptionState.NO_SPEECH,
                                      cue_count=len(cues), reviewer=None, approved_at=None, approved_sha256=None))
    playlists.rebuild(out_dir / asset.id, catalog, asset.id)
    if asset.state is not AssetState.AWAITING_REVIEW:
        asset = catalog.set_state(asset.id, AssetState.AWAITING_REVIEW, detail=f"{language} captions edited")
    return asset
