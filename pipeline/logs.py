"""Where the pipeline's log lines go: the console (warnings, or everything with --debug) and one file per
command in <state>/logs, with secrets kept out of both."""

from __future__ import annotations

import logging
import os
import re
import sys
from datetime import UTC, datetime
from urllib.parse import urlsplit

from pipeline.config import Settings


class Redact(logging.Filter):
    """Keeps secrets out of log files and the console: configured keys and tokens, and the signature and
    credential of any signed URL (a share link's address is as good as the video it opens)."""

    SIGNED = re.compile(r"((?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|AWSAccessKeyId)=)"
                        r"[^&\s\"']+", re.IGNORECASE)

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = self.SIGNED.sub(r"\1[redacted]", text)
        for secret in self.secrets:
            clean = clean.replace(secret, "[redacted]")
        if clean != text:
            record.msg, record.args = clean, None
        return True


def secrets(settings: Settings) -> list[str]:
    urls = (urlsplit(url).password or "" for url in (settings.cluster.broker, settings.cluster.catalog))
    return [settings.storage.secret_access_key, settings.review.access_token, *urls,
            *(os.environ.get(name, "") for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                                    "PIPELINE_REVIEW_TOKEN"))]


def setup(settings: Settings | None, command: str, debug: bool) -> None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if debug else logging.WARNING)
    root.addHandler(console)
    if settings is None:
        return
    redact = Redact(secrets(settings))
    console.addFilter(redact)
    logs = settings.state_dir / "logs"
    try:
        logs.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        # One file per run; the process id keeps two runs started in the same second apart (#7).
        handler = logging.FileHandler(logs / f"{stamp}-{command}-{os.getpid()}.log", encoding="utf-8",
                                      errors="backslashreplace")
    except OSError:
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redact)
    root.addHandler(handler)
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "faster_whisper"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
