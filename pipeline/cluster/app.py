"""The Celery app of the distributed mode (#8), built from [cluster]; Celery's types stop here and in tasks.py.

Delivery is at least once, and the tasks are written for it (tasks.py):
- acks late: a task's message is acknowledged when the task ends, so a worker killed mid-task leaves it
  unacknowledged, and Redis hands it to another worker after [cluster] visibility_timeout_seconds;
- a pool process that dies (the OOM killer) has its task requeued at once (reject on worker lost);
- each worker process takes one task at a time (prefetch 1), so that queued work spreads over the workers.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError

from pipeline import stages
from pipeline.config import Settings
from pipeline.errors import ServiceError

# Each stage group's task goes to its queue: GPU machines take only "caption", CPU machines "transcode".
QUEUES = tuple(dict.fromkeys(group.queue for group in stages.GROUPS))
RESULT_EXPIRES_SECONDS = 7 * 86400


def task_name(stage: str) -> str:
    return f"pipeline.{stage}"


def broker_where(settings: Settings) -> str:
    """The broker's address without its password, for messages."""
    url = settings.cluster.broker
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def make_app(settings: Settings) -> Celery:
    cluster = settings.cluster
    timeout = cluster.visibility_timeout_seconds
    transport: dict[str, Any] = {
        "visibility_timeout": timeout,
        # Look for the tasks of vanished workers often enough to honour a short visibility timeout.
        "unacked_restore_interval": max(1, min(10, timeout // 4)),
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": 10,
    }
    app = Celery("pipeline", broker=cluster.broker, backend=cluster.broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUES[0],
        task_routes={task_name(group.name): {"queue": group.queue} for group in stages.GROUPS},
        task_serializer="json", result_serializer="json", accept_content=["json"],
        result_expires=RESULT_EXPIRES_SECONDS,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        task_track_started=True,
    )
    return app  # the coordinator only sends tasks by name; a worker registers them (tasks.worker_app)


def _unreachable(settings: Settings, exc: Exception) -> ServiceError:
    return ServiceError(f"task queue at {broker_where(settings)} is unreachable ({exc}); check [cluster] broker and "
                        "that Redis is running, then run `pipeline run` again")


def check_broker(app: Celery, settings: Settings) -> None:
    """Fail at once, in one line, when Redis cannot be reached (Celery would otherwise retry for minutes)."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=10)
    except (OperationalError, OSError) as exc:
        raise _unreachable(settings, exc) from exc


def send(app: Celery, settings: Settings, stage: str, asset_id: str) -> None:
    try:
        app.send_task(task_name(stage), args=[asset_id], queue=stages.group(stage).queue)
    except OperationalError as exc:
        raise _unreachable(settings, exc) from exc
