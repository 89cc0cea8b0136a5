"""Publish: upload an approved asset's renditions and captions to the private bucket; share and unpublish.

Objects go under <prefix>/<asset id>/. An object whose stored SHA-256 matches the local file is not uploaded
again, so re-publishing an unchanged asset uploads nothing. The manifest is written last: a reader that finds
it knows every file it lists is in place.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pipeline import fsutil
from pipeline.catalog import Catalog, now
from pipeline.config import Settings
from pipeline.durations import format_duration
from pipeline.errors import UsageError
from pipeline.models import Asset, AssetState
from pipeline.storage.objects import ObjectStore

MANIFEST = "manifest.json"
MAX_LINK_SECONDS = 7 * 86400  # the longest an S3 SigV4 presigned URL can be valid
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


@dataclass(frozen=True)
class ShareResult:
    asset_id: str
    link_id: str
    url: str
    captions_url: str | None
    expires_at: datetime


def asset_prefix(settings: Settings, asset: Asset) -> str:
    return f"{settings.publish.prefix.strip('/')}/{asset.id}"


def _cache_control(path: Path) -> str:
    return _IMMUTABLE if path.suffix in {".mp4", ".m4s", ".jpg"} else _SHORT


def _local_files(out_dir: Path) -> list[Path]:
    return sorted(p for p in out_dir.rglob("*")
                  if p.is_file() and fsutil.PARTIAL not in p.name and p.name != MANIFEST)


def _manifest(catalog: Catalog, asset: Asset, entries: list[dict[str, object]]) -> str:
    tracks = [{"language": t.language, "path": t.path, "state": t.state.value, "cues": t.cue_count,
               "engine": t.engine, "model": t.model, "reviewer": t.reviewer,
               "approved_at": t.approved_at.isoformat() if t.approved_at else None}
              for t in catalog.caption_tracks(asset.id)]
    renditions = [{"name": r.name, "kind": r.kind, "path": r.path, "width": r.width, "height": r.height}
                  for r in catalog.renditions(asset.id)]
    body = {"asset": asset.id, "sha256": asset.sha256, "version": asset.version, "duration_ms": asset.duration_ms,
            "renditions": renditions, "captions": tracks, "files": entries}
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


def check_publishable(asset: Asset) -> None:
    if asset.state not in (AssetState.APPROVED, AssetState.PUBLISHED):
        raise UsageError(f"asset {asset.id} is {asset.state.value}; only approved assets are published "
                         f"(approve with `pipeline approve {asset.id} --reviewer NAME`)")


def publish(settings: Settings, catalog: Catalog, store: ObjectStore, asset_id: str,
            on_progress: Callable[[float], None] | None = None) -> PublishResult:
    asset = catalog.get(asset_id)
    check_publishable(asset)
    out_dir = settings.output_dir / asset.id
    prefix = asset_prefix(settings, asset)
    files = _local_files(out_dir)
    entries: list[dict[str, object]] = []
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
        stored = store.head(key)
        if stored is not None and stored.sha256 == digest and stored.size == size:
            skipped += 1
        else:
            store.upload(path, key, sha256=digest, content_type=_TYPES.get(path.suffix, "application/octet-stream"),
                         cache_control=_cache_control(path))
            uploaded += 1
            sent += size
        if on_progress:
            on_progress((index + 1) / (len(files) + 1))
    catalog.set_state(asset.id, AssetState.PUBLISHED,
                      detail=f"{uploaded} objects ({sent} bytes) uploaded to {store.where}, {skipped} unchanged")
    return PublishResult(asset.id, prefix, uploaded, sent, skipped)


def unpublish(settings: Settings, catalog: Catalog, store: ObjectStore, asset_id: str) -> int:
    asset = catalog.get(asset_id)
    if asset.state is not AssetState.PUBLISHED:
        raise UsageError(f"asset {asset.id} is {asset.state.value}, not published")
    removed = store.delete_prefix(asset_prefix(settings, asset) + "/")
    catalog.set_state(asset.id, AssetState.APPROVED, detail=f"unpublished: {removed} objects deleted")
    return removed


def share(settings: Settings, catalog: Catalog, store: ObjectStore, asset_id: str, expires_s: int,
          audience: str | None = None) -> ShareResult:
    if expires_s > MAX_LINK_SECONDS:
        raise UsageError(f"--expires {format_duration(expires_s)} is longer than 7d, the most a signed link "
                         "can last; share again when it expires")
    asset = catalog.get(asset_id)
    if asset.state is not AssetState.PUBLISHED:
        raise UsageError(f"asset {asset.id} is {asset.state.value}; publish it first with "
                         f"`pipeline publish {asset.id}`")
    prefix = asset_prefix(settings, asset)
    video = next((r for r in catalog.renditions(asset.id) if r.kind == "mp4"), None)
    if video is None or store.head(f"{prefix}/{video.path}") is None:
        raise UsageError(f"asset {asset.id}: its video is not in storage; run `pipeline publish {asset.id}`")
    track = next(iter(catalog.caption_tracks(asset.id)), None)
    key = f"{prefix}/{video.path}"
    link = catalog.add_share_link(asset.id, key, audience, now() + timedelta(seconds=expires_s))
    captions_url = store.presign_get(f"{prefix}/{track.path}", expires_s) if track else None
    return ShareResult(asset.id, link.id, store.presign_get(key, expires_s), captions_url, link.expires_at)
