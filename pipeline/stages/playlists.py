"""The HLS master playlist and subtitles playlists of an asset, rebuilt from the catalog whenever the
renditions or the captions change (after transcoding, after captioning, after a caption edit)."""

from __future__ import annotations

from pathlib import Path

from pipeline import fsutil
from pipeline.catalog import Catalog
from pipeline.media import ffmpeg, hls
from pipeline.models import CaptionState, Rendition, RenditionKind

HLS_DIR = "hls"
MASTER = "master.m3u8"
MAIN_AUDIO = "hls-audio"  # the ladder's sound as its own rendition (#21); the variants are pictures only
_LANGUAGE_NAMES = {"en": "English", "cy": "Cymraeg", "fr": "Français", "de": "Deutsch", "es": "Español",
                   "pl": "Polski", "ur": "اردو", "pa": "ਪੰਜਾਬੀ", "ar": "العربية"}

# ISO 639-1 (the catalog's codes) to ISO 639-2/T, which MP4 language tags use (the export's captions, the described
# MP4's sound); others are tagged "und".
ISO_639_2 = {"en": "eng", "cy": "cym", "gd": "gla", "ga": "gle", "fr": "fra", "de": "deu", "es": "spa",
             "it": "ita", "pt": "por", "pl": "pol", "ro": "ron", "lt": "lit", "uk": "ukr", "ru": "rus",
             "tr": "tur", "ar": "ara", "ur": "urd", "pa": "pan", "bn": "ben", "gu": "guj", "hi": "hin",
             "ta": "tam", "so": "som", "zh": "zho", "nl": "nld", "sv": "swe", "da": "dan", "nb": "nob"}


def language_name(language: str) -> str:
    return _LANGUAGE_NAMES.get(language, language)


def _audio_tracks(renditions: list[Rendition], language: str) -> list[hls.AudioTrack]:
    """The programme's sound (named "hls-audio", the default) and each described soundtrack (#21)."""
    tracks: list[hls.AudioTrack] = []
    for r in renditions:
        if r.kind is not RenditionKind.AUDIO:
            continue
        uri = r.path.removeprefix(f"{HLS_DIR}/")
        if r.name == MAIN_AUDIO:
            tracks.insert(0, hls.AudioTrack(uri, language, language_name(language), True, r.bandwidth or 0,
                                            r.average_bandwidth or 0))
        else:
            described = r.name.removeprefix("described-").removesuffix("-audio")
            tracks.append(hls.AudioTrack(uri, described, f"{language_name(described)}, described", False,
                                         r.bandwidth or 0, r.average_bandwidth or 0, hls.DESCRIBES_VIDEO))
    return tracks if tracks and tracks[0].default else []


def subtitle_names(language: str) -> tuple[str, str]:
    return f"captions_{language}.vtt", f"captions_{language}.m3u8"


def rebuild(out_dir: Path, catalog: Catalog, asset_id: str) -> None:
    renditions = catalog.renditions(asset_id)
    variants = [hls.Variant(r.path.removeprefix(f"{HLS_DIR}/"), r.width, r.height, r.bandwidth or 0,
                            r.average_bandwidth or 0, r.codecs or "", r.frame_rate or 0.0)
                for r in renditions if r.kind is RenditionKind.HLS]
    if not variants:
        return
    folder = out_dir / HLS_DIR
    asset = catalog.get(asset_id)
    top = next(r for r in renditions if r.kind is RenditionKind.MP4)
    if not (out_dir / top.path).is_file():  # a caption task beside a ladder task not yet uploaded (#19)
        return
    start_s = ffmpeg.video_stream(out_dir / top.path).start_s
    tracks = []
    for track in catalog.caption_tracks(asset_id):
        source = out_dir / track.path
        if track.state is CaptionState.NO_SPEECH or not source.is_file():
            continue
        vtt_name, playlist_name = subtitle_names(track.language)
        fsutil.write_text(folder / vtt_name, hls.with_timestamp_map(source.read_text(encoding="utf-8"), start_s))
        fsutil.write_text(folder / playlist_name, hls.subtitle_playlist(vtt_name, (asset.duration_ms or 0) / 1000))
        tracks.append(hls.SubtitleTrack(playlist_name, track.language,
                                        language_name(track.language)))
    language = next((t.language for t in catalog.caption_tracks(asset_id)), None) or "en"
    audio = _audio_tracks(renditions, language)
    fsutil.write_text(folder / MASTER, hls.master_playlist(variants, tracks, audio))
