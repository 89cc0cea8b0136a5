"""Transcode: the rendition ladder (one progressive MP4 per rung), its HLS variants and sound, a poster and a
thumbnail, all from one decode by one ffmpeg run (#20). Loudness is measured first (or was, by the captions'
decode of a short master) and normalised in the same encode. HLS is packaged from the MP4s by a second run only
where the tee muxer cannot name the output folder, or the MP4s outlived an interrupted run; the poster is looked
for again in the MP4 when the encode's was black. It runs after the asset is reviewable (#19): the editor plays
the proxy (stages/proxy.py) meanwhile."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from pipeline import fsutil
from pipeline.catalog import Catalog
from pipeline.config import TranscodeSettings
from pipeline.errors import DiskSpaceError, MediaError
from pipeline.media import encode, ffmpeg, hls, ladder
from pipeline.models import Asset, Probe, Rendition, RenditionKind
from pipeline.stages import playlists
from pipeline.stages.job import Job

POSTER = "poster.jpg"
THUMBNAIL = "thumbnail.jpg"
THUMBNAIL_WIDTH = 320
MB = 1_000_000
MIB = 2**20


def mp4_name(rung: ladder.Rung) -> str:
    return f"video_{rung.name}.mp4"


def _done(job: Job) -> bool:
    recorded = [r for r in job.catalog.renditions(job.asset.id) if r.kind is not RenditionKind.PROXY]
    return bool(recorded) and all((job.out_dir / r.path).is_file() for r in recorded)


def _use_nvenc(job: Job) -> bool:
    choice = job.settings.transcode.encoder
    if choice == "nvenc" and not ffmpeg.nvenc_available():
        raise MediaError('[transcode] encoder = "nvenc" but no NVIDIA GPU with an NVENC-capable ffmpeg was found; '
                         'set encoder = "auto" or "libx264"')
    return choice == "nvenc" or (choice == "auto" and ffmpeg.nvenc_available())


def _scaled(job: Job, low: float, high: float) -> ffmpeg.ProgressHook:
    return lambda fraction: job.on_progress(low + (high - low) * fraction)


def _rung_bytes(rung: ladder.Rung, found: Probe, settings: TranscodeSettings) -> int:
    """The most one rung's MP4 can hold: the VBV buffer caps the video at maxrate over any stretch of time."""
    kbps = rung.maxrate_kbps + (settings.audio_bitrate_kbps if found.has_audio else 0)
    return int(kbps * 1000 / 8 * (found.duration_ms / 1000 + 2))


def _job_limits(job: Job, found: Probe, rungs: list[ladder.Rung]) -> ffmpeg.Limits:
    """No file of this job can rightly be more than twice the top rung's cap: a larger one means a crafted or
    runaway input, and ffmpeg is stopped before it fills the disk (#7)."""
    top = max(_rung_bytes(rung, found, job.settings.transcode) for rung in rungs)
    return ffmpeg.Limits(memory_bytes=job.settings.limits.ffmpeg_memory_mb * MIB, file_bytes=2 * top + 64 * MIB)


def check_disk_space(job: Job, found: Probe, rungs: list[ladder.Rung]) -> None:
    """Refuse to start a transcode that could fill the output disk midway: every rung at its cap, as MP4 and
    again as HLS, plus [limits] min_free_mb."""
    needed = 2 * sum(_rung_bytes(rung, found, job.settings.transcode) for rung in rungs)
    margin = job.settings.limits.min_free_mb * MB
    output = job.out_dir.parent
    output.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(output).free
    if free < needed + margin:
        raise DiskSpaceError(
            f"{output}: transcoding {fsutil.display_name(job.master)} needs up to {needed / MB:,.0f} MB, and "
            f"[limits] min_free_mb = {job.settings.limits.min_free_mb} MB must stay free, but only "
            f"{free / MB:,.0f} MB is free; free some space or set [paths] output to a bigger disk",
            needed_bytes=needed + margin, free_bytes=free)


def _reusable(path: Path, rung: ladder.Rung) -> bool:
    """An MP4 that an interrupted run finished: files appear only when complete, so it is kept, unless the
    ladder changed since."""
    if not path.is_file():
        return False
    try:
        stream = ffmpeg.video_stream(path)
    except MediaError:  # damaged since (a disk error): made again
        return False
    return (stream.width, stream.height) == (rung.width, rung.height)


def _encode_ladder(job: Job, found: Probe, rungs: list[ladder.Rung],
                   limits: ffmpeg.Limits) -> tuple[list[tuple[ladder.Rung, Path]], float | None]:
    """The MP4s, and from the same ffmpeg run (#20) the HLS folder (when the output folder's name allows:
    encode.tee_safe) and the poster with its thumbnail; the poster's average luma (0 when none was made), None
    when the MP4s were already there and nothing was encoded."""
    settings = job.settings.transcode
    targets = [(rung, job.out_dir / mp4_name(rung)) for rung in rungs]
    if all(_reusable(path, rung) for rung, path in targets):
        return targets, None
    job.on_progress(0.0)
    loudness = None
    if found.has_audio:
        loudness = encode.measure_loudness(job.master, settings, limits)
        job.catalog.set_loudness(job.asset.id, loudness.input_i, loudness.input_tp, loudness.input_lra)
    job.on_progress(0.1)
    with contextlib.ExitStack() as stack:
        # Entered first, left last: the HLS folder and the images appear after the MP4s they are newer than.
        folder = (stack.enter_context(fsutil.atomic_dir(job.out_dir / playlists.HLS_DIR))
                  if encode.tee_safe(job.out_dir) else None)
        # Not written when the picture ends before a third of the way in (sound longer than it): _images then
        # looks for the poster in the MP4, nearer the start.
        images = [stack.enter_context(fsutil.atomic_file(job.out_dir / name, missing_ok=True))
                  for name in (POSTER, THUMBNAIL)]
        temporary = [(rung, stack.enter_context(fsutil.atomic_file(path))) for rung, path in targets]
        packages = _hls_folders(folder, rungs, bool(found.has_audio)) if folder is not None else None
        stats = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pipeline-poster-"))) / "stats.txt"
        frames = encode.Frames(found.duration_ms / 1000 * encode.POSTER_AT[0],
                               encode.poster_stills(images[0], (images[1], THUMBNAIL_WIDTH)), stats)
        ffmpeg.run(encode.ladder_args(job.master, found, temporary, settings, loudness, _use_nvenc(job), packages,
                                      frames),
                   what=f"{fsutil.display_name(job.master)}: transcode", duration_ms=found.duration_ms,
                   on_progress=_scaled(job, 0.1, 0.9), timeout_s=settings.timeout_seconds, limits=limits)
        made = all(image.is_file() for image in images)
        for image in images if not made else ():
            image.unlink(missing_ok=True)
        for written in [*(images if made else ()), *(folder.glob("*/stream.m3u8") if folder is not None else ())]:
            os.utime(written)  # written with the MP4s: not older than them
        return targets, encode.luma(stats) if made else 0.0


def _hls_folders(folder: Path, rungs: list[ladder.Rung], audio: bool) -> list[list[tuple[Path, str]]]:
    """For each rung, where the encode writes its HLS (picture only when there is sound); the sound itself
    goes with the top rung, as in _package_hls."""
    packages = []
    for index, rung in enumerate(rungs):
        (folder / rung.name).mkdir()
        packages.append([(folder / rung.name, "v")])
        if audio and index == 0:
            (folder / AUDIO_DIR).mkdir()
            packages[0].append((folder / AUDIO_DIR, "a"))
    return packages


def _newer(path: Path, than: Path) -> bool:
    return path.is_file() and path.stat().st_mtime_ns >= than.stat().st_mtime_ns


AUDIO_DIR = "audio"  # hls/audio/: the programme's sound, one rendition every variant refers to (#21)


def _package_hls(job: Job, encoded: list[tuple[ladder.Rung, Path]], limits: ffmpeg.Limits) -> list[Rendition]:
    """The variants as pictures only, and the sound once as an audio rendition (from the top rung's MP4: every
    rung's sound is the same encode), so that an alternate soundtrack such as the described one (#21) can be
    offered beside it in the master playlist."""
    settings = job.settings.transcode
    hls_dir = job.out_dir / playlists.HLS_DIR
    audio = bool(job.asset.has_audio)
    folders: list[tuple[str, Path, str | None]] = [(rung.name, mp4, "v:0" if audio else None) for rung, mp4 in encoded]
    if audio:
        folders.append((AUDIO_DIR, encoded[0][1], "a:0"))
    if not all(_newer(hls_dir / name / "stream.m3u8", mp4) for name, mp4, _ in folders):
        with fsutil.atomic_dir(hls_dir) as folder:
            for name, _mp4, _only in folders:
                (folder / name).mkdir()
            ffmpeg.run(encode.hls_many_args([(mp4, folder / name, only) for name, mp4, only in folders], settings),
                       what=f"{fsutil.display_name(job.master)}: HLS packaging", timeout_s=settings.timeout_seconds,
                       limits=limits)
    made = []
    for rung, mp4 in encoded:
        relative = f"{playlists.HLS_DIR}/{rung.name}/stream.m3u8"
        peak, average = hls.measured_bandwidth(job.out_dir / relative)
        stream = ffmpeg.video_stream(mp4)
        size = sum(f.stat().st_size for f in (hls_dir / rung.name).iterdir())
        codecs = hls.avc_codec(stream.profile, stream.level)
        if audio:  # RFC 8216 4.3.4.2: CODECS names the audio rendition's codec too
            codecs += f",{hls.AAC_LC}"
        made.append(Rendition(job.asset.id, f"hls-{rung.name}", RenditionKind.HLS, relative, rung.width,
                              rung.height, size, codecs, stream.fps, peak, average))
    if audio:
        relative = f"{playlists.HLS_DIR}/{AUDIO_DIR}/stream.m3u8"
        peak, average = hls.measured_bandwidth(job.out_dir / relative)
        size = sum(f.stat().st_size for f in (hls_dir / AUDIO_DIR).iterdir())
        made.append(Rendition(job.asset.id, playlists.MAIN_AUDIO, RenditionKind.AUDIO, relative, 0, 0, size,
                              hls.AAC_LC, None, peak, average))
    return made


def _images(job: Job, top: Path, duration_ms: int, limits: ffmpeg.Limits,
            encoded_luma: float | None) -> list[Rendition]:
    """The poster and thumbnail the encode made, or if it made none, or a black one, looked for in the top
    rung's MP4 (the poster and its thumbnail from one ffmpeg run, #20)."""
    timeout = job.settings.transcode.timeout_seconds
    poster, thumbnail = job.out_dir / POSTER, job.out_dir / THUMBNAIL
    dark = encoded_luma is not None and encoded_luma < encode.BLACK_LUMA
    if dark or not _newer(poster, top):
        with fsutil.atomic_file(poster) as tmp, fsutil.atomic_file(thumbnail) as small:
            encode.poster(top, duration_ms, tmp, timeout, limits, thumbnail=(small, THUMBNAIL_WIDTH),
                          tried=1 if dark else 0)
            os.utime(small, ns=(tmp.stat().st_atime_ns, tmp.stat().st_mtime_ns))  # made with it: not older
    if not _newer(thumbnail, poster):  # a run stopped between the two renames
        with fsutil.atomic_file(thumbnail) as tmp:
            encode.thumbnail(poster, tmp, THUMBNAIL_WIDTH, timeout, limits)
    made = []
    for kind, name in ((RenditionKind.POSTER, POSTER), (RenditionKind.THUMBNAIL, THUMBNAIL)):
        stream = ffmpeg.video_stream(job.out_dir / name)
        made.append(Rendition(job.asset.id, kind, kind, name, stream.width, stream.height,
                              (job.out_dir / name).stat().st_size))
    return made


def ladder_note(catalog: Catalog, asset: Asset) -> str | None:
    """How far an asset's ladder is, for `pipeline status`, the review queue and publish (#19): None when it
    is done, e.g. "renditions 63%"."""
    if catalog.ladder_done(asset.id):
        return None
    if asset.ladder_error:
        return f"renditions failed: {asset.ladder_error}"
    if asset.stage == "transcode" and asset.progress is not None:
        return f"renditions {asset.progress:.0%}"
    return "renditions not made yet"


def transcode(job: Job) -> None:
    """The renditions. Each piece already finished by an interrupted run (an MP4, the HLS folder, the poster)
    is kept, so a run after a crash redoes only what was not complete (#7)."""
    if _done(job):
        return
    found = ffmpeg.probe(job.master, max_streams=job.settings.limits.max_streams)
    rungs = ladder.plan(found.width, found.height, job.settings.transcode.ladder,
                        job.settings.transcode.bitrates_kbps)
    fsutil.remove_partials(job.out_dir, *(Path(mp4_name(rung)).stem for rung in rungs), playlists.HLS_DIR,
                           Path(POSTER).stem, Path(THUMBNAIL).stem)
    check_disk_space(job, found, rungs)
    limits = _job_limits(job, found, rungs)
    encoded, poster_luma = _encode_ladder(job, found, rungs, limits)
    downloads = [Rendition(job.asset.id, f"mp4-{rung.name}", RenditionKind.MP4, path.name, rung.width, rung.height,
                           path.stat().st_size) for rung, path in encoded]
    variants = _package_hls(job, encoded, limits)
    job.on_progress(0.95)
    images = _images(job, encoded[0][1], found.duration_ms, limits, poster_luma)
    job.catalog.replace_renditions(job.asset.id, downloads + variants + images)
    playlists.rebuild(job.out_dir, job.catalog, job.asset.id)
    job.on_progress(1.0)
