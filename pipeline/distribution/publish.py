"""Publish: upload an approved asset's renditions and captions to the private bucket; share and unpublish.

Objects go under <prefix>/<asset id>/. An object whose stored SHA-256 matches the local file is not uploaded
again, so re-publishing an unchanged asset uploads nothing; `--verify` (and the publish after a storage error)
compares what the server sends back instead, so lost data is repaired. The manifest is written last: a reader that finds
it knows every file it lists is in place.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline import fsutil
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.descriptions import deliver
from pipeline.distribution import burnin, share
from pipeline.distribution.keys import asset_prefix
from pipeline.errors import PipelineError, StorageError, UsageError
from pipeline.media import hls
from pipeline.models import Asset, AssetState, CaptionState, RenditionKind
from pipeline.stages import playlists, transcode
from pipeline.storage.objects import ObjectStore

MANIFEST = "manifest.json"
FAULT_KILL_AFTER_UPLOADS = "PIPELINE_TEST_KILL_AFTER_UPLOADS"  # fault injection for the crash tests
_TYPES = {".mp4": "video/mp4", ".m4s": "video/iso.segment", ".m3u8": "application/vnd.apple.mpegurl",
          ".vtt": "text/vtt; charset=utf-8", ".json": "application/json", ".jpg": "image/jpeg"}
_IMMUTABLE = "private, max-age=31536000, immutable"
_SHORT = "private, max-age=60"


@dataclass(frozen=True)
class PublishResult:
    asset_id: str
    prefix: str
    uploaded_objects: int
    uploaded_bytes: int
    skipped_objects: int
    uploaded_paths: tuple[str, ...]  # relative to the asset's folder
    refreshed_pages: int = 0  # share pages rewritten because what they show changed


def _cache_control(path: Path) -> str:
    return _IMMUTABLE if path.suffix in {".mp4", ".m4s", ".jpg"} else _SHORT


def publishable_files(out_dir: Path, catalog: Catalog, asset_id: str) -> list[Path]:
    """Exactly what the catalog says the asset consists of; a missing file stops publishing."""
    wanted: list[Path] = []
    for rendition in catalog.renditions(asset_id):
        if rendition.kind is RenditionKind.PROXY:  # for the editor only: it may be the master's own streams
            continue
        if rendition.kind in (RenditionKind.HLS, RenditionKind.AUDIO):
            variant = (out_dir / rendition.path).parent
            wanted.append(variant / "init.mp4")
            wanted.extend(path for _, path in hls.media_segments(out_dir / rendition.path))
        wanted.append(out_dir / rendition.path)
    if any(r.kind is RenditionKind.HLS for r in catalog.renditions(asset_id)):
        wanted.append(out_dir / playlists.HLS_DIR / playlists.MASTER)
    for track in catalog.caption_tracks(asset_id):
        wanted.append(out_dir / track.path)
        if track.state is not CaptionState.NO_SPEECH:
            wanted.extend(out_dir / playlists.HLS_DIR / name for name in playlists.subtitle_names(track.language))
    missing = [p for p in wanted if not p.is_file()]
    if missing:
        raise PipelineError(f"{missing[0]}: missing, so asset {asset_id} cannot be published; restore the output "
                            "folder from a backup, or delete the asset's outputs and catalog entry and run again")
    return sorted(set(wanted))


def _check_captions_unchanged(out_dir: Path, catalog: Catalog, asset_id: str) -> None:
    for track in catalog.caption_tracks(asset_id):
        if track.approved_sha256 and fsutil.sha256_file(out_dir / track.path) != track.approved_sha256:
            raise PipelineError(f"{out_dir / track.path}: changed since {track.reviewer} approved it; check the "
                                f"captions again and approve them with `pipeline approve {asset_id} --reviewer NAME`")


def _manifest(catalog: Catalog, asset: Asset, entries: list[dict[str, object]]) -> str:
    tracks = [{"language": t.language, "path": t.path, "state": t.state.value, "cues": t.cue_count,
               "engine": t.engine, "model": t.model, "reviewer": t.reviewer,
               "approved_at": t.approved_at.isoformat() if t.approved_at else None}
              for t in catalog.caption_tracks(asset.id)]
    renditions = [{"name": r.name, "kind": r.kind.value, "path": r.path, "width": r.width, "height": r.height}
                  for r in catalog.renditions(asset.id) if r.kind is not RenditionKind.PROXY]
    body = {"asset": asset.id, "sha256": asset.sha256, "version": asset.version, "duration_ms": asset.duration_ms,
            "renditions": renditions, "captions": tracks, "files": entries}
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


def no_speech(catalog: Catalog, asset: Asset) -> bool:
    """Whether the asset's captions hold no cue at all: no speech was heard."""
    tracks = catalog.caption_tracks(asset.id)
    return bool(tracks) and all(t.state is CaptionState.NO_SPEECH or not t.cue_count for t in tracks)


def publishable(catalog: Catalog, asset: Asset, allow_unreviewed: bool = False) -> bool:
    """Approved captions (for a video without speech: a reviewer's decision that it needs none, #15), or an
    explicit emergency override."""
    if asset.state in (AssetState.APPROVED, AssetState.PUBLISHED):
        return True
    return asset.state is AssetState.AWAITING_REVIEW and allow_unreviewed


def check_publishable(catalog: Catalog, asset: Asset, allow_unreviewed: bool = False) -> None:
    if publishable(catalog, asset, allow_unreviewed):
        return
    if asset.state is AssetState.AWAITING_REVIEW and no_speech(catalog, asset):
        # Music and sounds may need captions even where nobody speaks: a person decides (#15).
        raise UsageError(f"asset {asset.id} has no captions (no speech was heard) and nobody has decided that it "
                         f"needs none; run `pipeline approve {asset.id} --reviewer NAME --no-speech`, or add sound "
                         "captions in the editor and approve them")
    raise UsageError(f"asset {asset.id} is {asset.state.value}; only assets with approved captions are "
                     f"published (approve with `pipeline approve {asset.id} --reviewer NAME`)")


def check_ladder(catalog: Catalog, asset: Asset) -> None:
    """Approval does not wait for the ladder, publishing does (#19): say how far it is and what to run."""
    note = transcode.ladder_note(catalog, asset)
    if note is None:
        return
    if asset.ladder_error:
        raise UsageError(f"asset {asset.id}: {note}; run `pipeline run` to make the renditions again, then "
                         f"`pipeline publish {asset.id}`")
    raise UsageError(f"asset {asset.id}: ladder still encoding ({note}); publish waits for it: let the "
                     f"`pipeline run` making it finish, or run `pipeline run` if none is (`pipeline status`), "
                     f"then `pipeline publish {asset.id}`")


def _verify_marker(settings: Settings, asset_id: str) -> Path:
    """Present while a publish of the asset met a storage error: the next one reads every object back (#16)."""
    return settings.state_dir / "publish-verify" / asset_id


def verify_next_time(settings: Settings, asset_ids: list[str]) -> None:
    """A storage error before publishing began (the store unreachable, refusing): the next publish verifies."""
    for asset_id in asset_ids:
        marker = _verify_marker(settings, asset_id)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()


def _unchanged(store: ObjectStore, key: str, digest: str, size: int, verify: bool) -> bool:
    """Whether the stored object already holds these bytes: by its recorded checksum, or, verifying, by the
    checksum of what the server sends back (metadata can outlive the data it describes)."""
    if verify:
        return store.content_sha256(key) == digest
    stored = store.head(key)
    return stored is not None and stored.sha256 == digest and stored.size == size


def publish(settings: Settings, catalog: Catalog, store: ObjectStore, asset: Asset,
            on_progress: Callable[[float], None] | None = None, allow_unreviewed: bool = False,
            on_burn_in: Callable[[float], None] | None = None, verify: bool = False) -> PublishResult:
    """Upload what the asset consists of; the manifest last. With allow_unreviewed (emergencies only, and
    recorded), an asset whose captions nobody has approved yet is published too. The burned-in copy, when
    configured, is made first (distribution/burnin.py). With verify, or after a publish of this asset failed on
    a storage error, every object is read back and checked, and what is missing or wrong is sent again."""
    marker = _verify_marker(settings, asset.id)
    try:
        result = _publish(settings, catalog, store, asset, on_progress, allow_unreviewed, on_burn_in,
                          verify or marker.exists())
    except StorageError:
        verify_next_time(settings, [asset.id])
        raise
    marker.unlink(missing_ok=True)
    return result


def _publish(settings: Settings, catalog: Catalog, store: ObjectStore, asset: Asset,
             on_progress: Callable[[float], None] | None, allow_unreviewed: bool,
             on_burn_in: Callable[[float], None] | None, verify: bool) -> PublishResult:
    asset = catalog.get(asset.id)  # as it is now: another command may have changed it since it was resolved
    check_publishable(catalog, asset, allow_unreviewed)
    check_ladder(catalog, asset)
    out_dir = settings.output_dir / asset.id
    _check_captions_unchanged(out_dir, catalog, asset.id)
    # The caption and ladder tasks of the distributed mode write the playlists at once (#19): written whole here.
    playlists.rebuild(out_dir, catalog, asset.id)
    burnin.burn_in(settings, catalog, asset, on_burn_in)
    deliver.make_all(settings, catalog, asset)  # approved descriptions: current; any others: withdrawn (#21)
    files = publishable_files(out_dir, catalog, asset.id)
    if not asset.publication:
        catalog.set_publication(asset.id, secrets.token_hex(8))
        asset = catalog.get(asset.id)
    prefix = asset_prefix(settings, asset)
    store.abort_incomplete_uploads(prefix + "/")
    entries: list[dict[str, object]] = []
    sent_paths: list[str] = []
    kill_after = int(os.environ.get(FAULT_KILL_AFTER_UPLOADS, "0") or 0)
    uploaded = skipped = sent = 0
    manifest_path = out_dir / MANIFEST
    for index, path in enumerate([*files, manifest_path]):
        if path == manifest_path:  # last, once everything it lists is in place
            fsutil.write_text(manifest_path, _manifest(catalog, asset, entries))
        relative = path.relative_to(out_dir).as_posix()
        digest = fsutil.sha256_file(path)
        size = path.stat().st_size
        key = f"{prefix}/{relative}"
        entries.append({"path": relative, "sha256": digest, "bytes": size})
        sent_paths.append(relative)
        if _unchanged(store, key, digest, size, verify):
            skipped += 1
            sent_paths.pop()
        else:
            store.upload(path, key, sha256=digest, content_type=_TYPES.get(path.suffix, "application/octet-stream"),
                         cache_control=_cache_control(path))
            uploaded += 1
            sent += size
            if uploaded == kill_after:  # tests only: a publish killed midway, as by a power cut
                os.kill(os.getpid(), signal.SIGKILL)
        if on_progress:
            on_progress((index + 1) / (len(files) + 1))
    unreviewed = " WITHOUT CAPTION REVIEW (--allow-unreviewed)" if asset.state is AssetState.AWAITING_REVIEW else ""
    catalog.set_state(asset.id, AssetState.PUBLISHED,
                      detail=f"{uploaded} objects ({sent} bytes) uploaded to {store.where}, {skipped} unchanged"
                             f"{unreviewed}")
    refreshed = share.refresh_pages(settings, catalog, store, asset) if uploaded else 0
    return PublishResult(asset.id, prefix, uploaded, sent, skipped, tuple(sent_paths), refreshed)


def unpublish(settings: Settings, catalog: Catalog, store: ObjectStore, asset: Asset) -> int:
    if asset.state is not AssetState.PUBLISHED:
        raise UsageError(f"asset {asset.id} is {asset.state.value}, not published")
    share.remove_all(settings, catalog, store, asset.id)
    removed = store.delete_prefix(asset_prefix(settings, asset) + "/")
    catalog.set_publication(asset.id, None)
    reviewed = all(t.state is not CaptionState.DRAFT for t in catalog.caption_tracks(asset.id))
    catalog.set_state(asset.id, AssetState.APPROVED if reviewed else AssetState.AWAITING_REVIEW,
                      detail=f"unpublished: {removed} objects deleted")
    return removed
