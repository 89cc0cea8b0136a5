"""Export (#17): what a presenter needs to show an asset with no network, written into one folder (a USB stick).

- video-with-captions.mp4: the top rung with the approved captions as a mov_text track (VLC, QuickTime and
  PowerPoint can switch it on), tagged with its ISO 639-2 language;
- video-captions-on-picture.mp4: the burned-in copy (distribution/burnin.py), made if missing, for players
  that cannot show captions;
- video-with-audio-description.mp4 and descriptions.<lang>.vtt, where approved audio description exists (#21);
- captions.<lang>.vtt and .srt, transcript.txt, poster.jpg;
- index.html: plays the MP4 from file:// with the captions. Chromium refuses a <track> file next to a page
  opened from file:// (each file is its own origin), so the page carries the WebVTT in a data: URL;
- approval.json: who approved the captions and when, and each file's SHA-256.

Only approved captions are exported, and only as approved: a file changed since is refused.
"""

from __future__ import annotations

import base64
import getpass
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from pipeline import fsutil
from pipeline.captions import vtt
from pipeline.catalog import Catalog, now
from pipeline.config import Settings
from pipeline.distribution import burnin
from pipeline.errors import PipelineError, UsageError
from pipeline.media import encode, ffmpeg
from pipeline.models import Asset, CaptionState, CaptionTrack, Cue, RenditionKind
from pipeline.stages.playlists import ISO_639_2

_PAGES = Environment(loader=FileSystemLoader(str(Path(__file__).resolve().parent.parent / "web" / "templates")),
                     autoescape=select_autoescape())
SOFT = "video-with-captions.mp4"
BURNED = "video-captions-on-picture.mp4"
DESCRIBED = "video-with-audio-description.mp4"  # the described soundtrack (#21), where descriptions are approved


@dataclass(frozen=True)
class ExportResult:
    asset_id: str
    folder: Path
    files: tuple[str, ...]
    reviewer: str
    approved_at: datetime


def _approved_track(settings: Settings, catalog: Catalog, asset: Asset) -> CaptionTrack:
    track = next((t for t in catalog.caption_tracks(asset.id) if t.state is CaptionState.APPROVED), None)
    if track is None or track.approved_at is None:
        raise UsageError(f"asset {asset.id} has no approved captions; only approved captions are exported: check "
                         f"them and run `pipeline approve {asset.id} --reviewer NAME` first")
    path = settings.output_dir / asset.id / track.path
    if track.approved_sha256 and fsutil.sha256_file(path) != track.approved_sha256:
        raise UsageError(f"{path}: changed since {track.reviewer} approved it; check the captions again and "
                         f"approve them with `pipeline approve {asset.id} --reviewer NAME`")
    return track


def _transcript(cues: list[Cue]) -> str:
    return "".join(f"{vtt.timestamp(c.start_ms)[:8]}  {' '.join(vtt.clean_text(c.text).split())}\n" for c in cues)


def _page(asset: Asset, track: CaptionTrack, cues: list[Cue], files: dict[str, str]) -> str:
    inline = base64.b64encode(vtt.format_vtt(cues).encode()).decode()
    return _PAGES.get_template("export.html").render(
        title=asset.display_title, language=track.language, video=SOFT, burned=files.get("burned"),
        poster=files.get("poster"), captions_data=f"data:text/vtt;charset=utf-8;base64,{inline}",
        vtt_name=files["vtt"], srt_name=files["srt"], reviewer=track.reviewer, approved_at=track.approved_at)


def _soft_mp4(settings: Settings, asset: Asset, top_mp4: Path, srt: Path, target: Path, language: str) -> None:
    label = f"Captions ({language})"
    with fsutil.atomic_file(target) as partial:
        ffmpeg.run(encode.soft_captions_args(top_mp4, srt, partial, ISO_639_2.get(language, "und"), label),
                   what=f"{target}: adding the caption track", duration_ms=asset.duration_ms or 0,
                   timeout_s=settings.transcode.timeout_seconds)


def _record(asset: Asset, track: CaptionTrack, folder: Path, names: list[str]) -> str:
    body = {"asset": asset.id, "title": asset.display_title, "source": asset.source, "version": asset.version,
            "language": track.language, "reviewer": track.reviewer,
            "approved_at": track.approved_at.isoformat() if track.approved_at else None,
            "captions_sha256": track.approved_sha256,
            "exported_at": now().isoformat(), "exported_by": _who(),
            "files": {name: fsutil.sha256_file(folder / name) for name in names}}
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


def export(settings: Settings, catalog: Catalog, asset: Asset, folder: Path,
           on_burn_in: Callable[[float], None] | None = None) -> ExportResult:
    asset = catalog.get(asset.id)  # as it is now
    track = _approved_track(settings, catalog, asset)
    out_dir = settings.output_dir / asset.id
    top = next((r for r in catalog.renditions(asset.id) if r.kind is RenditionKind.MP4), None)
    if top is None or not (out_dir / top.path).is_file():
        raise PipelineError(f"asset {asset.id}: its MP4 is missing from {out_dir}; run `pipeline run` again")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: not a folder; give the folder to export into (it is made if missing)")
    folder.mkdir(parents=True, exist_ok=True)
    burned = burnin.burn_in(settings, catalog, asset, on_burn_in, force=True)
    cues = vtt.read_vtt(out_dir / track.path)
    files = {"vtt": f"captions.{track.language}.vtt", "srt": f"captions.{track.language}.srt"}
    _copy(out_dir / track.path, folder / files["vtt"])  # byte for byte what was approved
    fsutil.write_text(folder / files["srt"], vtt.format_srt(cues))
    fsutil.write_text(folder / "transcript.txt", f"{asset.display_title}\n\n{_transcript(cues)}")
    _soft_mp4(settings, asset, out_dir / top.path, folder / files["srt"], folder / SOFT, track.language)
    if burned is not None:
        _copy(out_dir / burned.path, folder / BURNED)
        files["burned"] = BURNED
    files.update(_described(settings, catalog, asset, folder))
    poster = next((r for r in catalog.renditions(asset.id) if r.kind is RenditionKind.POSTER), None)
    if poster is not None and (out_dir / poster.path).is_file():
        _copy(out_dir / poster.path, folder / "poster.jpg")
        files["poster"] = "poster.jpg"
    fsutil.write_text(folder / "index.html", _page(asset, track, cues, files))
    names = sorted({*files.values(), SOFT, "transcript.txt", "index.html"})
    fsutil.write_text(folder / "approval.json", _record(asset, track, folder, names))
    return ExportResult(asset.id, folder, (*names, "approval.json"), track.reviewer or "unknown",
                        track.approved_at or now())


def _described(settings: Settings, catalog: Catalog, asset: Asset, folder: Path) -> dict[str, str]:
    """The described MP4 and the descriptions' WebVTT, where approved descriptions exist (#21)."""
    from pipeline.descriptions import deliver  # here: publish imports deliver, and export only needs it here

    deliver.make_all(settings, catalog, asset)
    out_dir, copied = settings.output_dir / asset.id, {}
    for r in catalog.renditions(asset.id):
        if r.kind is RenditionKind.DESCRIBED:
            copied["described"] = DESCRIBED
            _copy(out_dir / r.path, folder / DESCRIBED)
        elif r.kind is RenditionKind.DESCRIPTIONS:
            copied["descriptions"] = r.path.replace("descriptions_", "descriptions.")
            _copy(out_dir / r.path, folder / copied["descriptions"])
    return copied


def _copy(source: Path, target: Path) -> None:
    with fsutil.atomic_file(target) as partial:
        shutil.copyfile(source, partial)


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
