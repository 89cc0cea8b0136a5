"""`pipeline worker`: Celery workers for the distributed mode (#8).

One Celery worker serves one queue, so that each queue has its own concurrency ([cluster] transcode_concurrency
and caption_concurrency): `--queues transcode,caption` starts one worker process per queue and stops them
together. A worker is named `<queue>@<name>` (default name: this machine's host name), which is how
`pipeline status` shows it.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from types import FrameType

from pipeline.cluster.app import QUEUES
from pipeline.cluster.tasks import worker_app
from pipeline.config import Settings
from pipeline.errors import UsageError


def parse_queues(text: str) -> list[str]:
    queues = [q.strip() for q in text.split(",") if q.strip()]
    unknown = [q for q in queues if q not in QUEUES]
    if not queues or unknown:
        raise UsageError(f"--queues {text!r}: expected one or more of {', '.join(QUEUES)}, separated by commas")
    return list(dict.fromkeys(queues))


def concurrency(settings: Settings, queue: str) -> int:
    return int(getattr(settings.cluster, f"{queue}_concurrency"))


def serve(settings: Settings, queue: str, name: str | None) -> None:
    """Run one Celery worker on one queue in this process, until it is stopped (SIGTERM: after its tasks)."""
    app = worker_app(settings)
    app.worker_main(["worker", "--queues", queue, "--hostname", f"{queue}@{name or socket.gethostname()}",
                     "--concurrency", str(concurrency(settings, queue)), "--pool", "prefork",
                     "--loglevel", "INFO", "--without-gossip", "--without-mingle"])


def serve_all(queues: list[str], name: str | None, config_args: list[str]) -> int:
    """One child process per queue (`pipeline worker --queues Q`); a signal to this process reaches them all."""
    children = [subprocess.Popen([sys.executable, "-m", "pipeline", *config_args, "worker", "--queues", queue,
                                  *(["--name", name] if name else [])]) for queue in queues]

    def forward(_signum: int, _frame: FrameType | None) -> None:
        # As SIGTERM, Celery's warm shutdown, whatever came: Ctrl+C also reaches the children from the terminal,
        # and a second SIGINT would be Celery's cold shutdown, which abandons running tasks.
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    codes = [child.wait() for child in children]
    return max(codes, key=abs)
