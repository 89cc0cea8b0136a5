"""The pipeline's domain: assets, renditions, caption tracks and cues. Times are integer milliseconds."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath


class AssetState(enum.StrEnum):
    NEW = "new"
    PROCESSING = "processing"
    AWAITING_REVIEW = "awaiting_review"
    APPROVED = "approved"
    PUBLISHED = "published"
    FAILED = "failed"


class RenditionKind(enum.StrEnum):
    MP4 = "mp4"  # a progressive download, one per rung
    HLS = "hls"  # one HLS variant: its media playlist
    POSTER = "poster"
    THUMBNAIL = "thumbnail"
    BURNED = "burned"  # the top rung with the approved captions drawn on the picture
    PROXY = "proxy"  # what the editor plays until the ladder is done (#19); never published
    AUDIO = "audio"  # an HLS audio rendition: the programme's sound, or the described soundtrack (#21)
    DESCRIBED = "described"  # the top rung's picture with the described soundtrack: a download (#21)
    DESCRIPTIONS = "descriptions"  # the approved audio description as WebVTT (#21)


class CaptionState(enum.StrEnum):
    DRAFT = "draft"
    NO_SPEECH = "no_speech"
    APPROVED = "approved"


@dataclass(frozen=True)
class Probe:
    """What ffprobe found in a master, reduced to what the stages need."""

    format_name: str
    duration_ms: int
    width: int
    height: int
    rotation: int
    fps: float
    has_audio: bool
    audio_channels: int
    video_codec: str = ""  # ffprobe's codec names and pixel format: whether a browser plays the master (#19)
    pixel_format: str = ""
    audio_codec: str = ""


@dataclass(frozen=True)
class Asset:
    id: str
    sha256: str
    source: str
    version: int
    size_bytes: int
    state: AssetState
    error: str | None
    duration_ms: int | None
    width: int | None
    height: int | None
    has_audio: bool | None
    stage: str | None
    progress: float | None
    loudness_lufs: float | None  # measured on the master, before normalisation
    publication: str | None  # the random part of the object keys while published
    created_at: datetime
    updated_at: datetime
    # Why the ladder of an asset already in review failed (#19): the captions stay reviewable meanwhile.
    ladder_error: str | None = None
    title: str | None = None  # the display title a volunteer set (#17); None: the master's file name

    @property
    def display_title(self) -> str:
        """What the share page and exports call the video."""
        return self.title or PurePath(self.source).stem


@dataclass(frozen=True)
class Rendition:
    asset_id: str
    name: str
    kind: RenditionKind
    path: str  # relative to output/<asset id>/
    width: int
    height: int
    size_bytes: int
    codecs: str | None = None
    frame_rate: float | None = None
    bandwidth: int | None = None  # HLS variants: peak segment bit rate
    average_bandwidth: int | None = None


@dataclass(frozen=True)
class CaptionTrack:
    asset_id: str
    language: str
    path: str  # relative to output/<asset id>/
    state: CaptionState
    cue_count: int
    engine: str
    model: str
    reviewer: str | None
    approved_at: datetime | None
    approved_sha256: str | None = None
    revision: int | None = None  # the latest caption_revisions number; None before the first is recorded
    generated_at: datetime | None = None
    detected_language: str | None = None  # set only when the model heard another language than declared
    changes_note: str | None = None  # a reviewer's request for changes, cleared by approval
    changes_by: str | None = None
    changes_at: datetime | None = None


class DescriptionState(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"


@dataclass(frozen=True)
class DescriptionTrack:
    """An audio description track (#21): cues whose end is their start plus the time the voice takes."""

    asset_id: str
    language: str
    revision: int  # the latest description_revisions number
    state: DescriptionState
    reviewer: str | None = None
    approved_at: datetime | None = None
    approved_revision: int | None = None


@dataclass(frozen=True)
class Word:
    """One word as Whisper wrote it: tokens it attached to a word (hyphens, apostrophes, digits, punctuation
    without a leading space) are part of its text."""

    start_ms: int
    end_ms: int
    text: str
    probability: float
    starts_segment: bool = False  # the first word of a Whisper segment: the model heard a break before it


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str  # lines joined by "\n"; plain text, escaped only when written
    # Stable across revisions, so that two reviewers' saves merge cue by cue (#15); not part of equality: a cue
    # is the same caption whatever it is called.
    id: str = field(default="", compare=False)

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


@dataclass(frozen=True)
class Revision:
    """One saved version of a caption track: who saved it, when, and what changed from the one before."""

    asset_id: str
    language: str
    number: int
    author: str
    created_at: datetime
    summary: str
    cues: tuple[Cue, ...]
    cues_changed: int | None = None  # how many captions this revision changed (None: recorded before #15)


@dataclass(frozen=True)
class Comment:
    """A reviewer's note on one caption (by its cue id) for the next reviewer, open until resolved (#15)."""

    id: str
    asset_id: str
    language: str
    cue_id: str
    author: str
    created_at: datetime
    text: str
    resolved_by: str | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class StateEvent:
    asset_id: str
    state: AssetState
    at: datetime
    detail: str | None


@dataclass(frozen=True)
class ShareLink:
    id: str
    asset_id: str
    object_key: str  # the share page
    audience: str | None
    created_by: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None


class JobState(enum.StrEnum):
    """A stage group's task in the distributed mode (#8)."""

    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"  # failed in a way that may pass (storage unreachable, a worker killed); sent again
    DONE = "done"
    FAILED = "failed"


ACTIVE_JOB_STATES = frozenset({JobState.QUEUED, JobState.RUNNING, JobState.RETRYING})


@dataclass(frozen=True)
class JobRecord:
    asset_id: str
    stage: str  # a group of stages.STAGES, run as one task: "ingest" (and proxy), "caption" or "ladder"
    state: JobState
    attempts: int  # how many times a worker started it
    worker: str | None  # the Celery worker that started it last, e.g. "transcode@gpu-1"
    error: str | None
    queued_at: datetime
    updated_at: datetime  # when a finished job ended
    started_at: datetime | None = None  # when its last attempt started
