"""The described soundtrack and what carries it (#21): made when descriptions are approved (CLI or editor), made
again by `pipeline publish` when stale, and withdrawn when a save makes the descriptions a draft again, so that
unapproved descriptions are never published. Each piece is a rendition in the catalog, so publishing, the share
page's signed playlists and revocation treat it like the ladder:

  audio_described_<lang>.m4a        the mix: programme ducked under each description + the voice, at the
                                    ladder's loudness target (media/mixing.py)
  hls/audio_described_<lang>/       its HLS audio rendition (kind AUDIO), beside the programme's hls/audio/
  video_described_<lang>.mp4        the top rung's picture with the mix (kind DESCRIBED): the download, and
                                    the share page's fallback where hls.js does not run
  descriptions_<lang>.vtt           the approved descriptions (kind DESCRIPTIONS)
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from pipeline import fsutil
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.descriptions.voice import make_voice
from pipeline.media import encode, ffmpeg, hls, mixing
from pipeline.models import Asset, Cue, DescriptionState, Rendition, RenditionKind
from pipeline.stages import playlists


def language_name(language: str) -> str:
    return playlists.language_name(language)


def label(language: str) -> str:
    """What the player's audio menu and the share page's switch call the described soundtrack."""
    return f"{language_name(language)}, described"


def names(language: str) -> dict[str, str]:
    return {"mix": f"audio_described_{language}.m4a", "hls": f"{playlists.HLS_DIR}/audio_described_{language}",
            "mp4": f"video_described_{language}.mp4", "vtt": f"descriptions_{language}.vtt",
            "rendition": f"described-{language}"}


def _ours(r: Rendition, language: str) -> bool:
    return r.name.startswith(names(language)["rendition"])


def withdraw(settings: Settings, catalog: Catalog, asset: Asset, language: str) -> None:
    """Take the described renditions of `language` out of the catalog (and so out of the next publish and the
    master playlist); the files stay until approval makes them again."""
    renditions = catalog.renditions(asset.id)
    if any(_ours(r, language) for r in renditions):
        catalog.replace_renditions(asset.id, [r for r in renditions if not _ours(r, language)])
        playlists.rebuild(settings.output_dir / asset.id, catalog, asset.id)


def _current(paths: list[Path], sources: list[Path]) -> bool:
    if not all(p.is_file() for p in paths):
        return False
    oldest = min(p.stat().st_mtime_ns for p in paths)
    return all(oldest >= s.stat().st_mtime_ns for s in sources)


def _mix(settings: Settings, asset: Asset, cues: Sequence[Cue], programme: Path | None, target: Path) -> None:
    d = settings.descriptions
    speaker = make_voice(d, settings.output_dir / asset.id)
    spans = [(c.start_ms, c.end_ms) for c in cues]
    timeout = settings.transcode.timeout_seconds
    with tempfile.TemporaryDirectory(prefix="pipeline-describe-") as tmp:
        voice = Path(tmp) / "voice.wav"
        mixing.voice_track([(c.start_ms, speaker.synthesise(c.text).path) for c in cues],
                           asset.duration_ms or max((e for _, e in spans), default=1000), voice)
        expression = mixing.gain_expression(spans, d.duck_db, d.ramp_ms)
        stderr = ffmpeg.run(mixing.voice_measure_args(voice, settings.transcode),
                            what=f"{target.name}: loudness of the voice", timeout_s=timeout, loglevel="info")
        voice_db = mixing.voice_gain_db(mixing.parse_measurement(stderr), settings.transcode)
        stderr = ffmpeg.run(mixing.measure_args(programme, voice, expression, voice_db, settings.transcode),
                            what=f"{target.name}: loudness of the described soundtrack", timeout_s=timeout,
                            loglevel="info")
        measured = mixing.parse_measurement(stderr)
        with fsutil.atomic_file(target) as partial:
            ffmpeg.run(mixing.mix_args(programme, voice, expression, voice_db, measured, settings.transcode, partial),
                       what=f"{target.name}: mixing the described soundtrack", duration_ms=asset.duration_ms or 0,
                       timeout_s=timeout)


def make(settings: Settings, catalog: Catalog, asset: Asset, language: str) -> bool:
    """Make (or keep, when newer than the approved descriptions and the top MP4) the described renditions of
    `language`; False, with them withdrawn, when the descriptions are not approved or the ladder is not done."""
    out_dir = settings.output_dir / asset.id
    described = catalog.description_track(asset.id, language)
    renditions = catalog.renditions(asset.id)
    top = next((r for r in renditions if r.kind is RenditionKind.MP4), None)
    n = names(language)
    vtt_path = out_dir / n["vtt"]
    if (described is None or described.state is not DescriptionState.APPROVED or top is None
            or not (out_dir / top.path).is_file() or not vtt_path.is_file()):
        withdraw(settings, catalog, asset, language)
        return False
    mix, mp4, folder = out_dir / n["mix"], out_dir / n["mp4"], out_dir / n["hls"]
    top_mp4 = out_dir / top.path
    if not _current([mix, mp4, folder / "stream.m3u8"], [vtt_path, top_mp4]):
        timeout = settings.transcode.timeout_seconds
        cues = catalog.description_revision(asset.id, language, described.approved_revision or described.revision).cues
        _mix(settings, asset, cues, top_mp4 if asset.has_audio else None, mix)
        with fsutil.atomic_dir(folder) as partial:
            ffmpeg.run(encode.hls_args(mix, partial, settings.transcode, stream="a:0"),
                       what=f"{mix.name}: HLS packaging", timeout_s=timeout)
        with fsutil.atomic_file(mp4) as partial_mp4:
            ffmpeg.run(mixing.described_mp4_args(top_mp4, mix, partial_mp4, _iso_639_2(language), label(language)),
                       what=f"{mp4.name}: the described MP4", timeout_s=timeout)
    relative = f"{n['hls']}/stream.m3u8"
    peak, average = hls.measured_bandwidth(out_dir / relative)
    made = [Rendition(asset.id, f"{n['rendition']}-audio", RenditionKind.AUDIO, relative, 0, 0,
                      sum(f.stat().st_size for f in folder.iterdir()), hls.AAC_LC, None, peak, average),
            Rendition(asset.id, f"{n['rendition']}-mp4", RenditionKind.DESCRIBED, mp4.name, top.width, top.height,
                      mp4.stat().st_size),
            Rendition(asset.id, f"{n['rendition']}-vtt", RenditionKind.DESCRIPTIONS, vtt_path.name, 0, 0,
                      vtt_path.stat().st_size)]
    catalog.replace_renditions(asset.id, [r for r in catalog.renditions(asset.id) if not _ours(r, language)] + made)
    playlists.rebuild(out_dir, catalog, asset.id)
    return True


def make_all(settings: Settings, catalog: Catalog, asset: Asset) -> None:
    """What publishing does first: every language's described renditions made current, or withdrawn."""
    for described in catalog.description_tracks(asset.id):
        make(settings, catalog, asset, described.language)


def _iso_639_2(language: str) -> str:
    return playlists.ISO_639_2.get(language, "und")
