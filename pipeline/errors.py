"""Every error the pipeline raises on purpose derives from PipelineError.

    PipelineError                 exit code 1: something went wrong with an asset or a service
    ├── UsageError                exit code 2: the command line asked for something impossible
    │   └── ConfigError           exit code 2: config.toml holds an unknown key or a bad value
    ├── MediaError                a master rejected before transcoding, or ffmpeg failed while encoding
    ├── DiskSpaceError            too little free space on the output disk to transcode a master
    ├── LeaseLostError            another run took over an asset this run had claimed (it slept too long)
    ├── CaptionError              the speech recogniser could not run
    ├── StorageError              object storage unreachable, refused, or misconfigured
    ├── ServiceError              the distributed mode's catalog database or task queue unreachable or refused
    ├── NotFoundError             an asset id that the catalog does not know
    └── ConflictError             a caption save that changed a caption someone else changed since

The CLI is the only place that turns these into messages and exit codes. Each message is one line that
names the file or setting involved and says what to do. The review app turns them into HTTP responses
with `http_status`.
"""

from __future__ import annotations

from typing import Any


class PipelineError(Exception):
    exit_code = 1
    http_status = 500


class UsageError(PipelineError):
    exit_code = 2
    http_status = 422


class ConfigError(UsageError):
    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class MediaError(PipelineError):
    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class DiskSpaceError(PipelineError):
    def __init__(self, message: str, *, needed_bytes: int, free_bytes: int) -> None:
        super().__init__(message)
        self.needed_bytes = needed_bytes
        self.free_bytes = free_bytes


class LeaseLostError(PipelineError):
    """This run's claim on an asset ran out and another run holds it now: this run leaves the asset alone."""

    def __init__(self, message: str, *, holder: str | None) -> None:
        super().__init__(message)
        self.holder = holder


class CaptionError(PipelineError):
    pass


class StorageError(PipelineError):
    pass


class ServiceError(PipelineError):
    pass


class NotFoundError(UsageError):
    http_status = 404


class ConflictError(UsageError):
    """Someone else saved first: the caller must look at their revision instead of overwriting it."""

    http_status = 409

    def __init__(self, message: str, *, current_revision: int, author: str,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.current_revision = current_revision
        self.author = author
        self.details = details or {}  # what a client needs to decide, as JSON (the conflicting captions, #15)
