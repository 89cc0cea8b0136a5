from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.catalog import Catalog
from pipeline.catalog.schema import MIGRATIONS
from pipeline.errors import NotFoundError, UsageError
from pipeline.models import AssetState
from tests.conftest import empty_database


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    """The same catalog code on SQLite (one machine) and on a real PostgreSQL server (many machines, #8)."""
    if request.param == "sqlite":
        opened = Catalog.open(tmp_path / "state")
    else:
        url = request.getfixturevalue("cluster").postgres_url
        empty_database(url)
        opened = Catalog.connect(url)
    yield opened
    opened.close()


def test_sqlite_file_in_wal_mode_with_migrations_recorded(tmp_path: Path) -> None:
    Catalog.open(tmp_path / "state")
    db = sqlite3.connect(tmp_path / "state" / "catalog.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT max(version) FROM schema_version").fetchone()[0] == len(MIGRATIONS)
    Catalog.open(tmp_path / "state")  # migrating again is a no-op
    assert db.execute("SELECT count(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)


def test_a_changed_master_is_a_new_version(catalog: Catalog) -> None:
    first = catalog.add_asset("a" * 64, "talk.mp4", 10)
    second = catalog.add_asset("b" * 64, "talk.mp4", 11)
    other = catalog.add_asset("c" * 64, "other.mp4", 12)
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert first.id != second.id
    assert catalog.find_by_sha256("b" * 64) == second


def test_state_changes_are_timestamped_and_checked(catalog: Catalog) -> None:
    asset = catalog.add_asset("d" * 64, "x.mp4", 1)
    catalog.set_state(asset.id, AssetState.PROCESSING)
    failed = catalog.set_state(asset.id, AssetState.FAILED, error="x.mp4: broken")
    assert failed.error == "x.mp4: broken"
    retried = catalog.set_state(asset.id, AssetState.PROCESSING)
    assert retried.error is None
    with pytest.raises(UsageError, match="cannot become published"):
        catalog.set_state(asset.id, AssetState.PUBLISHED)
    history = catalog.events(asset.id)
    assert [e.state for e in history] == [AssetState.NEW, AssetState.PROCESSING, AssetState.FAILED,
                                          AssetState.PROCESSING]
    assert all(a.at <= b.at for a, b in zip(history, history[1:], strict=False))
    assert history[2].detail == "x.mp4: broken"


def test_ids_by_unique_prefix(catalog: Catalog) -> None:
    catalog.add_asset("abcd1" + "0" * 59, "a.mp4", 1)
    catalog.add_asset("abcd2" + "0" * 59, "b.mp4", 1)
    assert catalog.get("abcd1").source == "a.mp4"
    with pytest.raises(UsageError, match="ambiguous"):
        catalog.get("abcd")
    with pytest.raises(NotFoundError):
        catalog.get("ffff")
    with pytest.raises(NotFoundError):
        catalog.get("../etc")


def test_only_assets_awaiting_review_can_be_approved(catalog: Catalog) -> None:
    asset = catalog.add_asset("e" * 64, "y.mp4", 1)
    with pytest.raises(UsageError, match="only assets awaiting review"):
        catalog.approve_captions(asset.id, "Ann", {})


def test_a_catalog_made_by_the_first_release_is_migrated_in_place(tmp_path: Path) -> None:
    """tests/data/catalog-v1.sql is the dump of a catalog written by schema version 1, with one asset."""
    state = tmp_path / "state"
    state.mkdir()
    db = sqlite3.connect(state / "catalog.sqlite3")
    db.executescript((Path(__file__).parent / "data" / "catalog-v1.sql").read_text())
    db.close()
    catalog = Catalog.open(state)
    assert catalog.schema_version() == len(MIGRATIONS)
    asset = catalog.get("abababababab")
    assert (asset.source, asset.state) == ("x.mp4", AssetState.NEW)
    columns = {row[1] for row in sqlite3.connect(state / "catalog.sqlite3").execute("PRAGMA table_info(captions)")}
    assert {"revision", "generated_at", "changes_note"} <= columns


def test_leases_and_caption_revisions_are_atomic(catalog: Catalog) -> None:
    from datetime import timedelta

    from pipeline.catalog import now
    from pipeline.errors import ConflictError
    from pipeline.models import CaptionState, CaptionTrack, Cue
    from pipeline.runner import RUNNABLE

    asset = catalog.add_asset("f" * 64, "z.mp4", 1)
    later = now() + timedelta(minutes=2)
    assert catalog.claim(asset.id, "host:1:a", later, RUNNABLE)
    assert not catalog.claim(asset.id, "host:2:b", later, RUNNABLE)
    assert catalog.claim(asset.id, "host:2:b", later, RUNNABLE, take_from="host:1:a")
    assert not catalog.renew_lease(asset.id, "host:1:a", later)
    catalog.put_caption_track(CaptionTrack(asset.id, "en", "captions.en.vtt", CaptionState.DRAFT, 1, "e", "m",
                                           None, None))
    catalog.save_revision(asset.id, "en", None, "automatic draft", "made", [Cue(0, 1000, "Hello")], withdraw=False)
    catalog.save_revision(asset.id, "en", 1, "Ann", "cue 1 text", [Cue(0, 1000, "Hello there")])
    with pytest.raises(ConflictError, match="Ann saved revision 2") as stale:
        catalog.save_revision(asset.id, "en", 1, "Bo", "cue 1 text", [Cue(0, 1000, "Hi")])
    assert stale.value.current_revision == 2
    assert [r.cues[0].text for r in catalog.revisions(asset.id, "en")] == ["Hello there", "Hello"]


def test_two_machines_opening_a_new_catalog_at_once_migrate_it_once(cluster: object) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from pipeline.catalog.schema import schema_version

    url = cluster.postgres_url  # type: ignore[attr-defined]
    empty_database(url)
    with ThreadPoolExecutor(4) as pool:
        opened = list(pool.map(lambda _i: Catalog.connect(url), range(4)))
    assert opened[0].schema_version() == len(MIGRATIONS)
    with opened[0].engine.begin() as conn:
        import sqlalchemy as sa

        assert conn.execute(sa.select(sa.func.count()).select_from(schema_version)).scalar() == len(MIGRATIONS)
    for catalog in opened:
        catalog.close()


def test_an_unreachable_postgresql_is_one_line_naming_the_setting() -> None:
    from pipeline.errors import ServiceError

    with pytest.raises(ServiceError, match=r"catalog at postgresql\+psycopg://pipeline:\*\*\*@127.0.0.1:9/pipeline "
                                           r"is unreachable .*check \[cluster\] catalog") as refused:
        Catalog.connect("postgresql+psycopg://pipeline:s3cret@127.0.0.1:9/pipeline")
    assert "s3cret" not in str(refused.value) and "\n" not in str(refused.value)


def test_jobs_start_once_and_a_lost_one_is_revived(catalog: Catalog) -> None:
    from datetime import timedelta

    from pipeline import stages
    from pipeline.catalog import now
    from pipeline.catalog.jobs import JobBook
    from pipeline.models import JobState

    book = JobBook(catalog)
    asset = catalog.add_asset("9" * 64, "j.mp4", 1)
    assert book.queue(asset.id, "ingest") and not book.queue(asset.id, "ingest")
    assert book.start(asset.id, "ingest", "transcode@w1") == 1
    assert book.requeue_stale(asset.id, now() - timedelta(minutes=5)) == []  # touched a moment ago
    [revived] = book.requeue_stale(asset.id, now() + timedelta(seconds=1))
    assert (revived.stage, revived.state) == ("ingest", JobState.QUEUED)
    assert book.start(asset.id, "ingest", "transcode@w2") == 2
    assert book.finish(asset.id, "ingest", stages.ready_groups) == ("caption", "ladder")  # both at once (#19)
    assert book.start(asset.id, "ingest", "transcode@w1") is None  # a late duplicate of a finished job
    assert book.get(asset.id, "caption").state is JobState.QUEUED  # type: ignore[union-attr]
    assert book.get(asset.id, "ladder").state is JobState.QUEUED  # type: ignore[union-attr]
    # Each job has its own lease: the caption and the ladder of one asset are claimed by two workers at once.
    until = now() + timedelta(minutes=2)
    assert book.claim(asset.id, "caption", "gpu:1:a", until) and book.claim(asset.id, "ladder", "cpu:2:b", until)
    assert not book.claim(asset.id, "ladder", "cpu:3:c", until)  # a duplicate delivery waits
    assert book.renew(asset.id, "ladder", "cpu:2:b", until) and book.holder(asset.id, "ladder") == "cpu:2:b"
    book.release(asset.id, "ladder", "cpu:2:b")
    assert book.holder(asset.id, "ladder") is None and book.claim(asset.id, "ladder", "cpu:3:c", until)
    assert book.finish(asset.id, "caption", stages.ready_groups) == ()  # the ladder has its job already
