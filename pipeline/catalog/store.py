"""The catalog's store: the database engine (SQLite, or PostgreSQL when distributed), its migrations, and
transactions. The record classes (assets, captions, links) build on it; nothing outside pipeline.catalog ever
sees a connection or a row.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from pipeline.catalog.schema import MIGRATIONS, schema_version
from pipeline.errors import PipelineError, ServiceError

CONNECT_TIMEOUT_SECONDS = 10  # a PostgreSQL host that does not answer is an error, not a hang
MIGRATION_LOCK_KEY = 0x706970656C696E65  # "pipeline": the PostgreSQL advisory lock held while migrating


def now() -> datetime:
    stamp = datetime.now(UTC)
    return stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)


def utc(value: datetime | None) -> datetime | None:
    """In UTC: SQLite keeps no time zone, and PostgreSQL answers in its session's."""
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, state_dir: Path) -> Self:
        state_dir.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(f"sqlite:///{state_dir / 'catalog.sqlite3'}")
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        catalog = cls(engine)
        # Two processes opening a new or older catalog at once (two runs, a run and the review app) must not
        # both create or migrate it.
        with open(state_dir / "catalog.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            catalog.migrate()
        return catalog

    @classmethod
    def connect(cls, url: str) -> Self:
        """The catalog on a PostgreSQL server, shared by every machine of a distributed deployment (#8)."""
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=8,
                                  connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
        catalog = cls(engine)
        try:
            with engine.begin() as conn:
                # Two machines starting on a new or older catalog at once must not both create or migrate it.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                catalog._migrate(conn)
        except sa.exc.OperationalError as exc:
            engine.dispose()
            where = engine.url.render_as_string(hide_password=True)
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise ServiceError(f"catalog at {where} is unreachable or refused the connection ({reason}); check "
                               "[cluster] catalog and that PostgreSQL is running") from exc
        return catalog

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def schema_version(self) -> int:
        with self._tx() as conn:
            if not sa.inspect(conn).has_table("schema_version"):
                return 0
            return int(conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)

    def migrate(self) -> None:
        with self._tx() as conn:
            self._migrate(conn)

    @staticmethod
    def _migrate(conn: Connection) -> None:
        if not sa.inspect(conn).has_table("schema_version"):
            schema_version.create(conn)
        current = int(conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)
        if current > len(MIGRATIONS):
            raise PipelineError(f"catalog schema version {current} is newer than this program "
                                f"({len(MIGRATIONS)}); upgrade the pipeline")
        for version, migration in enumerate(MIGRATIONS[current:], start=current + 1):
            migration(conn)
            conn.execute(schema_version.insert().values(version=version))
