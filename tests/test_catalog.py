from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.catalog import Catalog
from pipeline.errors import NotFoundError, UsageError
from pipeline.models import AssetState
from pipeline.schema import MIGRATIONS


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog.open(tmp_path / "state")


def test_sqlite_file_in_wal_mode_with_migrations_recorded(catalog: Catalog, tmp_path: Path) -> None:
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
