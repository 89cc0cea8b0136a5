"""The test cluster itself: every backend answers, S3 demands signatures, and stop() leaves no process behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import redis
import sqlalchemy
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from tests.cluster import start_cluster


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_cluster_starts_works_and_stops(tmp_path: Path) -> None:
    started = time.monotonic()
    cluster = start_cluster(tmp_path)
    start_s = time.monotonic() - started
    try:
        client = redis.Redis.from_url(cluster.redis_url)
        client.set("key", b"value")
        assert client.get("key") == b"value"
        client.close()

        engine = sqlalchemy.create_engine(cluster.postgres_url)
        with engine.connect() as connection:
            assert connection.execute(sqlalchemy.text("select 1")).scalar() == 1
        engine.dispose()

        s3 = cluster.s3_client()
        s3.create_bucket(Bucket="media")
        s3.put_object(Bucket="media", Key="a/b.txt", Body=b"hello")
        assert s3.get_object(Bucket="media", Key="a/b.txt")["Body"].read() == b"hello"
        anonymous = cluster.s3_client(signature_version=UNSIGNED)
        for refused in (anonymous.list_buckets, lambda: anonymous.get_object(Bucket="media", Key="a/b.txt")):
            with pytest.raises(ClientError):
                refused()

        pids = cluster.pids
        assert set(pids) == {"redis", "postgres", "master", "volume", "filer", "s3"}
        assert len(set(pids.values())) == len(pids)
    finally:
        started = time.monotonic()
        cluster.stop()
        stop_s = time.monotonic() - started
    print(f"cluster start {start_s:.1f}s, stop {stop_s:.1f}s")
    assert all(_gone(pid) for pid in pids.values())
    assert not cluster.scratch.exists()
    cluster.stop()  # idempotent
