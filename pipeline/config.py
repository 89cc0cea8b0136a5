"""config.toml -> frozen, typed settings.

Every setting is declared once, here, as a dataclass field with its default, a one-line description and the
values it allows. `load()` rejects unknown sections and keys and bad values with one line naming the key, the
value and what is allowed. A test checks that config.toml lists every setting with a comment.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError

CONFIG_ENV = "PIPELINE_CONFIG"
MAX_LINK_SECONDS = 7 * 86400  # the longest an S3 SigV4 presigned URL can be valid
DEFAULT_CONFIG_NAME = "config.toml"


def _setting(default: Any, doc: str, *, low: float | None = None, high: float | None = None,
             choices: tuple[str, ...] | None = None, item: type | None = None) -> Any:
    """A setting: its default, a one-line description, and what it allows (`item`: a list's element type)."""
    return field(default=default, metadata={"doc": doc, "low": low, "high": high, "choices": choices,
                                            "item": item})


@dataclass(frozen=True)
class PathSettings:
    masters: str = _setting("masters", "folder of source videos; every file in it is a master")
    output: str = _setting("output", "renditions and captions are written to output/<asset id>/")
    state: str = _setting("state", "catalog, logs, credentials and embedded storage data")
    allow_symlinks: bool = _setting(False, "accept a master that is a symbolic link (its target is read, its own "
                                    "name shown); off: a link is refused, so a master is always a file put there")


@dataclass(frozen=True)
class TranscodeSettings:
    ladder: tuple[int, ...] = _setting((1080, 720, 480, 360), "rung sizes: the short side in pixels, largest first; "
                                       "never upscaled, at least one rung always made", low=144, high=2160)
    bitrates_kbps: tuple[int, ...] = _setting((5000, 3000, 1400, 800), "video bitrate cap (maxrate) per rung, in "
                                              "kbit/s, same order as ladder", low=100, high=50000)
    crf: int = _setting(23, "x264 constant rate factor under the cap: lower is better and bigger", low=0, high=51)
    preset: str = _setting("veryfast", "x264 speed/compression trade-off",
                           choices=("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"))
    encoder: str = _setting("auto", "auto: NVENC when an NVIDIA GPU and an ffmpeg with h264_nvenc are present, "
                            "else libx264", choices=("auto", "libx264", "nvenc"))
    max_fps: int = _setting(30, "frame rate cap; faster masters are reduced to this", low=10, high=60)
    audio_bitrate_kbps: int = _setting(128, "AAC-LC stereo bitrate in kbit/s", low=32, high=320)
    loudness_lufs: float = _setting(-16.0, "integrated loudness target (EBU R128 two-pass loudnorm)",
                                    low=-31.0, high=-5.0)
    true_peak_dbtp: float = _setting(-1.0, "true peak ceiling in dBTP", low=-9.0, high=0.0)
    keyframe_seconds: int = _setting(2, "seconds between keyframes (closed GOPs, aligned across rungs)",
                                     low=1, high=10)
    hls_segment_seconds: int = _setting(4, "HLS segment length; a multiple of keyframe_seconds", low=4, high=6)
    burn_in_captions: bool = _setting(False, "also publish an MP4 with the approved captions burned in, for "
                                      "players that cannot show captions")
    timeout_seconds: int = _setting(3600, "an ffmpeg job running longer than this is stopped", low=10,
                                    high=86400)


@dataclass(frozen=True)
class CaptionSettings:
    engine: str = _setting("faster-whisper", "speech recogniser; openai-whisper needs the openai extra "
                           "(make install-openai)", choices=("faster-whisper", "openai-whisper"))
    model: str = _setting("", "empty: the bundled offline tiny.en; else a model name, or a model folder "
                          "(faster-whisper) or checkpoint file (openai-whisper)")
    language: str = _setting("en", "spoken language of the masters (ISO 639-1)")
    preset: str = _setting("children", "caption quality rules: children (strictest, the default), bbc or netflix",
                           choices=("children", "bbc", "netflix"))
    glossary: tuple[str, ...] = _setting((), "names of places, agencies and programmes, e.g. [\"NSPCC\", \"Barnet\"]: "
                                         "given to the model, and near-misses are flagged", item=str)
    device: str = _setting("auto", "where Whisper runs", choices=("auto", "cpu", "cuda"))
    compute_type: str = _setting("default", "CTranslate2 precision; default: int8 on CPU, float16 on GPU",
                                 choices=("default", "int8", "int8_float16", "float16", "float32"))
    cpu_threads: int = _setting(1, "faster-whisper threads on the CPU; 1 is fastest for tiny.en on 2 cores "
                                "(BENCHMARKS.md); more may help larger models on more cores; 0: CTranslate2's default",
                                low=0, high=64)
    chunk_seconds: int = _setting(60, "Whisper hears the soundtrack in pieces about this long, cut in silences, so a "
                                  "two-hour master needs no more memory than a short one (#20)", low=5, high=600)
    max_chars_per_line: int = _setting(37, "longest caption line (BBC: 37)", low=16, high=60)
    max_lines: int = _setting(2, "lines per cue", low=1, high=3)
    max_cue_seconds: float = _setting(6.0, "longest cue duration", low=2.0, high=10.0)
    min_cue_seconds: float = _setting(1.0, "shortest draft cue, held into silence where possible; never below "
                                      "the preset's hard minimum",
                                      low=0.3, high=3.0)
    pause_break_seconds: float = _setting(0.5, "a pause this long between words starts a new cue, except after a "
                                          "title such as Mr. or Dr.",
                                          low=0.1, high=3.0)


@dataclass(frozen=True)
class ReviewSettings:
    host: str = _setting("127.0.0.1", "address the review app listens on")
    port: int = _setting(8000, "port the review app listens on", low=1, high=65535)
    access_token: str = _setting("", "required when host is not 127.0.0.1 or localhost (reviewers sign in with "
                                 "it); prefer the PIPELINE_REVIEW_TOKEN variable to writing it here")
    allowed_hosts: tuple[str, ...] = _setting((), "extra Host names the app answers to when it listens on another "
                                              "address, e.g. [\"review.example.org\"]", item=str)
    autosave_seconds: float = _setting(2.0, "the editor saves this long after the last change", low=0.5,
                                       high=60.0)
    session_hours: float = _setting(12.0, "a reviewer's sign-in lasts this long (each sign-in is its own session)",
                                    low=0.01, high=720.0)
    max_body_bytes: int = _setting(1_000_000, "largest request body the review app reads (JSON); larger is refused "
                                   "before it is parsed", low=1024, high=100_000_000)
    max_import_bytes: int = _setting(5_000_000, "largest caption import the review app reads", low=1024,
                                     high=100_000_000)


@dataclass(frozen=True)
class StorageSettings:
    endpoint: str = _setting("", "empty: the embedded SeaweedFS; else an S3 URL such as https://s3.eu-west-2.amazonaws.com")
    bucket: str = _setting("media", "private bucket that published assets go to")
    region: str = _setting("us-east-1", "S3 region used for signing")
    access_key_id: str = _setting("", "external S3 only; empty: boto3's usual sources (AWS_* variables, ~/.aws)")
    secret_access_key: str = _setting("", "external S3 only; prefer the AWS_SECRET_ACCESS_KEY variable")
    addressing_style: str = _setting("path", "S3 URL style", choices=("path", "virtual", "auto"))
    embedded_s3_port: int = _setting(8333, "embedded SeaweedFS S3 port (127.0.0.1 only)", low=1024, high=55535)
    embedded_master_port: int = _setting(9333, "embedded SeaweedFS master port; its gRPC port is this + 10000",
                                         low=1024, high=55535)
    embedded_volume_port: int = _setting(9340, "embedded SeaweedFS volume port; its gRPC port is this + 10000",
                                         low=1024, high=55535)
    embedded_filer_port: int = _setting(8888, "embedded SeaweedFS filer port; its gRPC port is this + 10000",
                                        low=1024, high=55535)
    start_timeout_seconds: int = _setting(90, "how long to wait for the embedded storage to come up",
                                          low=5, high=600)
    embedded_private_network: bool = _setting(
        True, "run the embedded SeaweedFS in its own network namespace so that no other local account can reach "
        "its master, volume or filer APIs (only signed S3 through 127.0.0.1); false only where user namespaces "
        "are forbidden")


@dataclass(frozen=True)
class PublishSettings:
    prefix: str = _setting("assets", "object key prefix: <prefix>/<asset id>/...")
    default_link_expiry: str = _setting("3d", "share links expire after this (s, m, h, d); at most 7d")
    public_base_url: str = _setting("", "empty: private bucket, signed links; else the public URL of the bucket "
                                    "behind a CDN, e.g. https://media.example.org/ (links then never expire)")
    show_reviewer_name: bool = _setting(False, "share pages name the person who checked the captions; off: they "
                                        "only say a person checked them (the audience need not know who)")


@dataclass(frozen=True)
class LimitSettings:
    """What a master may be and what an ffmpeg job may use (#7): volunteers' files are checked before any
    transcoding, and one bad file must not exhaust the machine for the others."""

    max_file_mb: int = _setting(20000, "a master larger than this (in MB) is rejected", low=1, high=500_000)
    max_duration_minutes: int = _setting(120, "a master longer than this is rejected", low=1, high=1440)
    max_long_side: int = _setting(8192, "a master wider or taller than this many pixels is rejected",
                                  low=144, high=16384)
    max_streams: int = _setting(16, "a master with more streams than this is rejected (phones write 2 to 6)",
                                low=1, high=64)
    ffmpeg_memory_mb: int = _setting(8192, "heap memory one ffmpeg job may allocate before it is stopped",
                                     low=256, high=524_288)
    min_free_mb: int = _setting(1024, "free space (MB) left on the output disk beyond a transcode's estimated "
                                "size; a master that would leave less is not started", low=0, high=999_999)


@dataclass(frozen=True)
class ClusterSettings:
    """Many machines (#8): Celery workers on Redis run the stages, PostgreSQL holds the catalog, and masters
    and outputs travel through the object store, so no machine needs a shared file system."""

    mode: str = _setting("embedded", "embedded: one machine runs everything in `pipeline run`; distributed: "
                         "`pipeline run` queues work for `pipeline worker` processes (README, \"Deployment\")",
                         choices=("embedded", "distributed"))
    broker: str = _setting("", "distributed: the Redis URL for Celery's broker and results, e.g. "
                           "redis://:PASSWORD@queue.internal:6379/0")
    catalog: str = _setting("", "distributed: the PostgreSQL URL of the catalog, e.g. "
                            "postgresql+psycopg://pipeline:PASSWORD@db.internal:5432/pipeline")
    work_bucket: str = _setting("pipeline-work", "distributed: private bucket on [storage] endpoint for masters "
                                "and outputs on their way between machines")
    max_attempts: int = _setting(3, "a stage that fails this many times (error, or its worker killed) stops, "
                                 "and the asset is failed with the reason; a failed ladder leaves the captions "
                                 "in review", low=1, high=20)
    visibility_timeout_seconds: int = _setting(3600, "a task taken by a worker that vanished is handed to "
                                               "another after this long; a task still running then is not "
                                               "run twice", low=10, high=86_400)
    transcode_concurrency: int = _setting(1, "transcode tasks one worker runs at once (ffmpeg uses every core "
                                          "already)", low=1, high=64)
    caption_concurrency: int = _setting(1, "caption tasks one worker runs at once (each loads its own model)",
                                        low=1, high=64)
    scratch: str = _setting("", "folder where a worker keeps the files of the task it is running; empty: "
                            "<state>/work")


@dataclass(frozen=True)
class DescriptionSettings:
    """Audio description (#21): the offline voice that speaks the descriptions and how the programme's sound
    makes room for it (WCAG 2.x success criterion 1.2.5)."""

    engine: str = _setting("espeak-ng", "offline text-to-speech engine that speaks the descriptions",
                           choices=("espeak-ng",))
    voice: str = _setting("en", "the engine's voice (espeak-ng --voices lists them), e.g. en, en-gb, cy")
    rate_wpm: int = _setting(160, "speaking rate in words a minute; a description lasts as long as the voice "
                             "takes to say it", low=80, high=450)
    duck_db: float = _setting(12.0, "how far the programme's sound is lowered under a description, in dB",
                              low=3.0, high=40.0)
    ramp_ms: int = _setting(250, "how long the programme's sound takes to go down before a description and back "
                            "up after it, in ms", low=10, high=2000)


@dataclass(frozen=True)
class Settings:
    root: Path
    paths: PathSettings
    transcode: TranscodeSettings
    captions: CaptionSettings
    review: ReviewSettings
    storage: StorageSettings
    publish: PublishSettings
    limits: LimitSettings
    cluster: ClusterSettings = ClusterSettings()
    descriptions: DescriptionSettings = DescriptionSettings()

    def _resolve(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.root / path

    @property
    def masters_dir(self) -> Path:
        return self._resolve(self.paths.masters)

    @property
    def output_dir(self) -> Path:
        return self._resolve(self.paths.output)

    @property
    def state_dir(self) -> Path:
        return self._resolve(self.paths.state)

    @property
    def scratch_dir(self) -> Path:
        return self._resolve(self.cluster.scratch) if self.cluster.scratch else self.state_dir / "work"

    @property
    def distributed(self) -> bool:
        return self.cluster.mode == "distributed"


SECTIONS: dict[str, type[Any]] = {
    "paths": PathSettings,
    "transcode": TranscodeSettings,
    "captions": CaptionSettings,
    "review": ReviewSettings,
    "storage": StorageSettings,
    "publish": PublishSettings,
    "limits": LimitSettings,
    "cluster": ClusterSettings,
    "descriptions": DescriptionSettings,
}


def _describe_allowed(meta: Mapping[str, Any], kind: type) -> str:
    if meta["choices"]:
        return "one of " + ", ".join(f'"{c}"' for c in meta["choices"])
    name = {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}[kind]
    if meta["low"] is not None:
        return f"{name} from {meta['low']:g} to {meta['high']:g}"
    return name


def _check_list(section: str, f: dataclasses.Field[Any], value: Any, source: str) -> tuple[Any, ...]:
    default: tuple[Any, ...] = f.default  # type: ignore[assignment]
    item_kind = f.metadata["item"] or type(default[0])
    may_be_empty = not default  # a list whose default is empty (the glossary) may stay empty
    ok = isinstance(value, list) and (bool(value) or may_be_empty) and all(
        isinstance(v, item_kind) and not isinstance(v, bool) for v in value)
    meta = f.metadata
    if ok and meta["low"] is not None:
        ok = all(meta["low"] <= v <= meta["high"] for v in value)
    if not ok:
        raise ConfigError(f"{source}: [{section}] {f.name} = {value!r} is not allowed; expected a "
                          f"{'' if may_be_empty else 'non-empty '}list, each item "
                          f"{_describe_allowed(meta, item_kind)}", key=f"[{section}] {f.name}")
    return tuple(value)


def _check_value(section: str, f: dataclasses.Field[Any], value: Any, source: str) -> Any:
    kind = type(f.default)
    meta = f.metadata
    key = f"[{section}] {f.name}"
    if kind is tuple:
        return _check_list(section, f, value, source)
    ok_type = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok_type = float(value), True
    in_range = ok_type and (
        (meta["choices"] is None or value in meta["choices"])
        and (meta["low"] is None or meta["low"] <= value <= meta["high"])
    )
    if not in_range:
        raise ConfigError(f"{source}: {key} = {value!r} is not allowed; expected "
                          f"{_describe_allowed(meta, kind)}", key=key)
    return value


def _build_section(section: str, raw: Any, source: str) -> Any:
    cls = SECTIONS[section]
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: [{section}] must be a table of settings", key=f"[{section}]")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in fields:
            raise ConfigError(f"{source}: unknown setting [{section}] {key}; allowed: {', '.join(fields)}",
                              key=f"[{section}] {key}")
        values[key] = _check_value(section, fields[key], value, source)
    return cls(**values)


def _validate_cross(settings: Settings, source: str) -> None:
    t = settings.transcode
    if len(t.bitrates_kbps) != len(t.ladder):
        raise ConfigError(f"{source}: [transcode] bitrates_kbps has {len(t.bitrates_kbps)} values but ladder has "
                          f"{len(t.ladder)}; give one bitrate per rung", key="[transcode] bitrates_kbps")
    if list(t.ladder) != sorted(set(t.ladder), reverse=True):
        raise ConfigError(f"{source}: [transcode] ladder = {list(t.ladder)} is not allowed; expected distinct "
                          "sizes, largest first", key="[transcode] ladder")
    if t.hls_segment_seconds % t.keyframe_seconds:
        raise ConfigError(f"{source}: [transcode] hls_segment_seconds = {t.hls_segment_seconds} is not allowed; "
                          f"expected a multiple of keyframe_seconds ({t.keyframe_seconds})",
                          key="[transcode] hls_segment_seconds")
    if settings.captions.min_cue_seconds >= settings.captions.max_cue_seconds:
        raise ConfigError(f"{source}: [captions] min_cue_seconds must be below max_cue_seconds",
                          key="[captions] min_cue_seconds")
    from pipeline.durations import parse_duration  # local: durations imports errors only

    expiry = parse_duration(settings.publish.default_link_expiry, setting="[publish] default_link_expiry")
    if expiry > MAX_LINK_SECONDS:
        raise ConfigError(f"{source}: [publish] default_link_expiry = {settings.publish.default_link_expiry!r} is "
                          "not allowed; expected at most 7d, the longest a signed link can last",
                          key="[publish] default_link_expiry")
    if not re.fullmatch(r"[a-z]{2,3}", settings.captions.language):
        raise ConfigError(f"{source}: [captions] language = {settings.captions.language!r} is not allowed; expected "
                          "a lowercase ISO 639-1 code such as \"en\"", key="[captions] language")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", settings.storage.bucket):
        raise ConfigError(f"{source}: [storage] bucket = {settings.storage.bucket!r} is not allowed; expected an S3 "
                          "bucket name: 3 to 63 lowercase letters, digits, dots and dashes", key="[storage] bucket")
    _validate_ports(settings.storage, source)
    _validate_cluster(settings, source)


def _validate_cluster(settings: Settings, source: str) -> None:
    c = settings.cluster
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", c.work_bucket) or c.work_bucket == settings.storage.bucket:
        raise ConfigError(f"{source}: [cluster] work_bucket = {c.work_bucket!r} is not allowed; expected an S3 bucket "
                          "name other than [storage] bucket", key="[cluster] work_bucket")
    if not settings.distributed:
        return
    needs = (("broker", c.broker, ("redis://", "rediss://"), "a redis:// URL"),
             ("catalog", c.catalog, ("postgresql+psycopg://",), "a postgresql+psycopg:// URL"))
    for name, value, schemes, what in needs:
        if not value.startswith(schemes):
            raise ConfigError(f"{source}: [cluster] mode = \"distributed\" needs [cluster] {name}: {what} that "
                              "every machine can reach (README, \"Deployment\")", key=f"[cluster] {name}")
    if not settings.storage.endpoint:
        raise ConfigError(f"{source}: [cluster] mode = \"distributed\" needs [storage] endpoint: the S3 URL of the "
                          "SeaweedFS filer or S3 service every machine can reach (README, \"Deployment\")",
                          key="[storage] endpoint")


def _validate_ports(storage: StorageSettings, source: str) -> None:
    if storage.endpoint:
        return
    names = ("embedded_s3_port", "embedded_master_port", "embedded_volume_port", "embedded_filer_port")
    taken: dict[int, str] = {}
    for name in names:
        port = getattr(storage, name)
        for used, label in ((port, name), (port + 10000, f"{name} + 10000 (its gRPC port)")):
            if used in taken:
                raise ConfigError(f"{source}: [storage] {name} = {port} is not allowed; port {used} is also "
                                  f"{taken[used]}; give each embedded port its own number", key=f"[storage] {name}")
            taken[used] = label


def parse(data: Mapping[str, Any], root: Path, source: str = DEFAULT_CONFIG_NAME) -> Settings:
    for section in data:
        if section not in SECTIONS:
            raise ConfigError(f"{source}: unknown section [{section}]; allowed: {', '.join(SECTIONS)}",
                              key=f"[{section}]")
    built = {name: _build_section(name, data.get(name, {}), source) for name in SECTIONS}
    settings = Settings(root=root, **built)
    _validate_cross(settings, source)
    return settings


def locate(explicit: str | None) -> Path | None:
    """The config file named by --config, else $PIPELINE_CONFIG, else ./config.toml if it exists."""
    named = explicit or os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            via = "--config" if explicit else CONFIG_ENV
            raise ConfigError(f"{path}: config file not found (named by {via}); check the path", key=via)
        return path
    default = Path.cwd() / DEFAULT_CONFIG_NAME
    return default if default.is_file() else None


def load(explicit: str | None = None) -> Settings:
    path = locate(explicit)
    if path is None:
        return parse({}, Path.cwd(), "(built-in defaults)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file or restore it from git") from exc
    return parse(data, path.resolve().parent, str(path))
