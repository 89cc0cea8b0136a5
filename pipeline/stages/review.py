"""Review: a person approves the captions. The web editor (pipeline review) calls the same function."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pipeline import fsutil
from pipeline.captions import vtt
from pipeline.catalog import Catalog
from pipeline.errors import PipelineError, UsageError
from pipeline.models import Asset, AssetState, CaptionState, Cue
from pipeline.stages import playlists


def approve(catalog: Catalog, out_dir: Path, asset_id: str, reviewer: str) -> Asset:
    """Approve the captions as they are on disk now; publish checks that they have not changed since."""
    name = " ".join(reviewer.split())
    if not name:
        raise UsageError("--reviewer: give the name of the person who checked the captions")
    asset = catalog.get(asset_id)
    digests = {}
    for track in catalog.caption_tracks(asset.id):
        path = out_dir / asset.id / track.path
        if not path.is_file():
            raise PipelineError(f"{path}: caption file missing; run `pipeline run` to make it again")
        digests[track.language] = fsutil.sha256_file(path)
    return catalog.approve_captions(asset.id, name, digests)


def replace_captions(catalog: Catalog, out_dir: Path, asset_id: str, language: str, cues: list[Cue]) -> Asset:
    """Store corrected captions for one language. The asset goes back to review: what was approved, and what
    may be published, is only ever what a reviewer has seen."""
    asset = catalog.get(asset_id)
    track = next((t for t in catalog.caption_tracks(asset.id) if t.language == language), None)
    if track is None:
        raise UsageError(f"asset {asset.id} has no {language} captions")
    vtt.write_vtt(out_dir / asset.id / track.path, cues)
    catalog.put_caption_track(replace(track, state=CaptionState.DRAFT if cues else CaptionState.NO_SPEECH,
                                      cue_count=len(cues), reviewer=None, approved_at=None, approved_sha256=None))
    playlists.rebuild(out_dir / asset.id, catalog, asset.id)
    if asset.state is not AssetState.AWAITING_REVIEW:
        asset = catalog.set_state(asset.id, AssetState.AWAITING_REVIEW, detail=f"{language} captions edited")
    return asset
