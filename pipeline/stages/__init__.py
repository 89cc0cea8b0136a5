"""The processing stages, in order: what happens to a master before and while a person reviews its captions.

The whole lifecycle of an asset, in one place:

  ingest     stages/ingest.py     identify the master by content, check it (ffprobe, limits, a packet read)
  proxy      stages/proxy.py      something the editor plays now: the master itself, or a small fast encode
  caption    stages/caption.py    Whisper -> draft WebVTT, flagged words; the asset is now reviewable
  transcode  stages/transcode.py  the ladder: MP4s, HLS, poster, thumbnail, loudness, while the review goes on
  review     review/              a person edits (editing.py) and approves or sends back (decisions.py)
  publish    distribution/        burn-in (burnin.py), upload (publish.py) once the ladder is done
  share      distribution/        links that expire (share.py), revoke, unpublish

Only the first four are stages run by `pipeline run` (or by workers); review, publish and share are commands a
person gives. The stages marked for_review come first (#19): once they are done the asset awaits review, and
the ladder continues in the same run, so a reviewer starts in a fraction of the video's length instead of
waiting for the whole ladder. Each stage is a function of a Job that skips work already done, so an interrupted
run is finished by running it again, and a run over an asset in review only finishes its ladder.

In the distributed mode the stages run as GROUPS, one Celery task each on its queue; a group starts when the
groups it comes after are done, so one asset's caption and ladder tasks run at once on two workers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from pipeline.stages import caption, ingest, proxy, transcode
from pipeline.stages.job import Job


class Stage(NamedTuple):
    name: str
    run: Callable[[Job], None]
    group: str  # the distributed mode's task that runs it (GROUPS)
    for_review: bool  # needed before a person can review; the others continue while they do


STAGES: tuple[Stage, ...] = (
    Stage("ingest", ingest.ingest, "ingest", True),
    Stage("proxy", proxy.proxy, "ingest", True),
    Stage("caption", caption.caption, "caption", True),
    Stage("transcode", transcode.transcode, "ladder", False),
)


class Group(NamedTuple):
    name: str  # the job's name in the catalog, and the task's
    queue: str  # GPU machines take only "caption", CPU machines "transcode"
    after: tuple[str, ...]  # the groups that must be done first


GROUPS: tuple[Group, ...] = (
    Group("ingest", "transcode", ()),
    Group("caption", "caption", ("ingest",)),
    Group("ladder", "transcode", ("ingest",)),
)


def review_stages() -> tuple[str, ...]:
    return tuple(stage.name for stage in STAGES if stage.for_review)


def ladder_stages() -> tuple[str, ...]:
    return tuple(stage.name for stage in STAGES if not stage.for_review)


def group_stages(group: str) -> tuple[str, ...]:
    return tuple(stage.name for stage in STAGES if stage.group == group)


def group(name: str) -> Group:
    return next(g for g in GROUPS if g.name == name)


def review_groups() -> tuple[str, ...]:
    """The groups whose stages make an asset reviewable: when all are done, it awaits review."""
    return tuple(dict.fromkeys(stage.group for stage in STAGES if stage.for_review))


def ready_groups(done: set[str]) -> tuple[str, ...]:
    """The groups not done whose predecessors all are: what is queued next."""
    return tuple(g.name for g in GROUPS if g.name not in done and all(a in done for a in g.after))
