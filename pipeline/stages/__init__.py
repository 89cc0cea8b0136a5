"""The processing stages, in order: what happens to a master before a person reviews its captions.

The whole lifecycle of an asset, in one place:

  ingest     stages/ingest.py     identify the master by content, check it (ffprobe, limits, a packet read)
  transcode  stages/transcode.py  the ladder: MP4s, HLS, poster, thumbnail, loudness
  caption    stages/caption.py    Whisper -> draft WebVTT, flagged words; then the asset awaits review
  review     review/              a person edits (editing.py) and approves or sends back (decisions.py)
  publish    distribution/        burn-in (burnin.py), upload (publish.py) to the private bucket
  share      distribution/        links that expire (share.py), revoke, unpublish

Only the first three are stages run by `pipeline run` (or by workers); review, publish and share are commands a
person gives. Each stage is a function of a Job that skips work already done, so an interrupted run is
finished by running it again. STAGES is the order, and nothing else; the distributed mode's tasks are its
queues, in order (cluster/tasks.py GROUPS).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from pipeline.stages import caption, ingest, transcode
from pipeline.stages.job import Job


class Stage(NamedTuple):
    name: str
    run: Callable[[Job], None]
    queue: str  # the distributed mode's queue: consecutive stages on one queue run as one task


STAGES: tuple[Stage, ...] = (
    Stage("ingest", ingest.ingest, "transcode"),
    Stage("transcode", transcode.transcode, "transcode"),
    Stage("caption", caption.caption, "caption"),
)


def groups() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(queue, stage names) in stage order: the distributed mode's tasks."""
    found: list[tuple[str, list[str]]] = []
    for stage in STAGES:
        if found and found[-1][0] == stage.queue:
            found[-1][1].append(stage.name)
        else:
            found.append((stage.queue, [stage.name]))
    return tuple((queue, tuple(names)) for queue, names in found)
