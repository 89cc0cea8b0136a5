"""The catalog's tables and their migrations, on SQLAlchemy Core with portable types only.

SQLite is the default; PostgreSQL takes the same schema for a multi-machine deployment. The tables below are
the current shape. Migrations are appended, never edited once shipped: a later migration that adds a column
to an existing table checks first, because migration 1 creates each table in its current shape.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

ID_LENGTH = 12
META = sa.MetaData()

schema_version = sa.Table("schema_version", META, sa.Column("version", sa.Integer, nullable=False))

assets = sa.Table(
    "assets", META,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("duration_ms", sa.Integer),
    sa.Column("width", sa.Integer),
    sa.Column("height", sa.Integer),
    sa.Column("has_audio", sa.Boolean),
    sa.Column("stage", sa.String(32)),  # the stage running now, with its progress, for `pipeline status`
    sa.Column("progress", sa.Float),
    sa.Column("loudness_i", sa.Float),  # the master's integrated loudness (LUFS), true peak, loudness range
    sa.Column("loudness_tp", sa.Float),
    sa.Column("loudness_lra", sa.Float),
    # Random per publication: object keys include it, so links from before an unpublish never work again.
    sa.Column("publication", sa.String(32)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # Migration 2. A run claims an asset with a lease; a crashed run's lease runs out and another may claim it.
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_expires_at", sa.DateTime(timezone=True)),
    # Migration issue 19: the ladder of an asset already in review failed; a run tries it again.
    sa.Column("ladder_error", sa.Text),
    # Migration issue 17: what the share page and exports call the video, set by a volunteer (#17).
    sa.Column("title", sa.Text),
)

events = sa.Table(
    "events", META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("asset_id", sa.String(32), sa.ForeignKey("assets.id"), nullable=False, index=True),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("detail", sa.Text),
)

renditions = sa.Table(
    "renditions", META,
    sa.Column("asset_id", sa.String(32), sa.ForeignKey("assets.id"), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("codecs", sa.String(64)),
    sa.Column("frame_rate", sa.Float),
    sa.Column("bandwidth", sa.Integer),
    sa.Column("average_bandwidth", sa.Integer),
)

captions = sa.Table(
    "captions", META,
    sa.Column("asset_id", sa.String(32), sa.ForeignKey("assets.id"), primary_key=True),
    sa.Column("language", sa.String(16), primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("cue_count", sa.Integer, nullable=False),
    sa.Column("engine", sa.String(64), nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("reviewer", sa.Text),
    sa.Column("approved_at", sa.DateTime(timezone=True)),
    sa.Column("approved_sha256", sa.String(64)),  # the file the reviewer approved; publish checks it
    sa.Column("override_reason", sa.Text),  # why it was approved despite error-level quality problems
    # Migration 2.
    sa.Column("revision", sa.Integer),  # the caption_revisions number the file holds; a save names its base
    sa.Column("generated_at", sa.DateTime(timezone=True)),
    sa.Column("detected_language", sa.String(16)),  # what the model heard, when it differs from the declared one
    sa.Column("changes_note", sa.Text),  # a reviewer's "request changes", until the next approval
    sa.Column("changes_by", sa.Text),
    sa.Column("changes_at", sa.DateTime(timezone=True)),
)

# Migration 2: every saved version of a caption track, who saved it and what changed.
caption_revisions = sa.Table(
    "caption_revisions", META,
    sa.Column("asset_id", sa.String(32), sa.ForeignKey("assets.id"), primary_key=True),
    sa.Column("language", sa.String(16), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("cues", sa.Text, nullable=False),  # JSON: [[start_ms, end_ms, text, id], ...] (no id before #15)
    # Migration issue15: how many captions the revision changed, so that listing the history reads no cues.
    sa.Column("cues_changed", sa.Integer),
)

# Migration issue15: a reviewer's note on one caption, for the next reviewer, until someone resolves it.
caption_comments = sa.Table(
    "caption_comments", META,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("asset_id", sa.String(32), sa.ForeignKey("assets.id"), nullable=False, index=True),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("cue_id", sa.String(40), nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("resolved_by", sa.Text),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
)

# Migration issue15_gate: the state of each word the guards flagged (open, or checked by a reviewer with the
# caption text they saw; "corrected" is never stored: it is read from the captions), per caption track.
caption_flags = sa.Table(
    "caption_flags", META,
    sa.Column("asset_id", sa.String(32), sa.ForeignKey("assets.id"), primary_key=True),
    sa.Column("language", sa.String(16), primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("word", sa.Text, nullable=False),  # the word as Whisper wrote it: a key reused by another word is not it
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("by", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("cue_text", sa.Text, nullable=False),  # the caption as the reviewer checked it; a change reopens it
)

# Migration issue15_gate: how each track was approved: the file, by whom, with how many items left unchecked and
# why, or as "no speech: nothing to caption". Valid while the track's approved_sha256 is this sha256.
caption_approvals = sa.Table(
    "caption_approvals", META,
    sa.Column("asset_id", sa.String(32), sa.ForeignKey("assets.id"), primary_key=True),
    sa.Column("language", sa.String(16), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("reviewer", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("unchecked", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("no_speech", sa.Boolean, nullable=False),
)

# Migration issue20_queue: the review queue's figures, kept in step with every write that changes them (#20), so
# that listing a page of the queue reads a page of rows and never a caption file. Per track: its cue count for
# the revision `revision`, and the figures only the review layer can count (quality problems under the rules
# named by `rules`, open flagged words), NULL until counted for that revision (review/decisions.py counts them
# when `pipeline review` starts). Per asset: its review status, its place in the queue, the last edit and note.
# Both are filled for what a catalog held before them when it is opened (catalog/queue.py backfill).
caption_figures = sa.Table(
    "caption_figures", META,
    sa.Column("asset_id", sa.String(32), sa.ForeignKey("assets.id"), primary_key=True),
    sa.Column("language", sa.String(16), primary_key=True),
    sa.Column("revision", sa.Integer),  # NULL: captions from before revisions were kept, counted from the track
    sa.Column("cues", sa.Integer, nullable=False),
    sa.Column("errors", sa.Integer),
    sa.Column("warnings", sa.Integer),
    sa.Column("flagged", sa.Integer),
    sa.Column("rules", sa.String(64)),
)

review_queue = sa.Table(
    "review_queue", META,
    sa.Column("asset_id", sa.String(32), sa.ForeignKey("assets.id"), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),  # the status's place in the queue's order
    sa.Column("last_author", sa.Text),
    sa.Column("last_at", sa.DateTime(timezone=True)),
    sa.Column("changes_note", sa.Text),
)

# Migration issue21: audio description (#21): a descriptions track per asset and language, its revisions (the
# same shape as caption_revisions: a cue's end is its start plus the time the voice takes to speak it) and its
# approval. Kept apart from the caption tables, so that nothing that reads captions mistakes one for the other.
descriptions = sa.Table(
    "descriptions", META,
    sa.Column("asset_id", sa.String(32), sa.ForeignKey("assets.id"), primary_key=True),
    sa.Column("language", sa.String(16), primary_key=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # draft or approved
    sa.Column("reviewer", sa.Text),
    sa.Column("approved_at", sa.DateTime(timezone=True)),
    sa.Column("approved_revision", sa.Integer),
)

description_revisions = sa.Table(
    "description_revisions", META,
    sa.Column("asset_id", sa.String(32), sa.ForeignKey("assets.id"), primary_key=True),
    sa.Column("language", sa.String(16), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("cues", sa.Text, nullable=False),  # JSON: [[start_ms, end_ms, text, id], ...]
    sa.Column("cues_changed", sa.Integer),
)

share_links = sa.Table(
    "share_links", META,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("asset_id", sa.String(32), sa.ForeignKey("assets.id"), nullable=False, index=True),
    sa.Column("object_key", sa.Text, nullable=False),  # the share page the link opens
    sa.Column("audience", sa.Text),
    sa.Column("created_by", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)


# Migration 3: in the distributed mode (#8), each asset's stage groups as Celery tasks: their state, which worker
# ran them, and how many times they were started (a task that keeps failing, or keeps killing its worker, stops).
jobs = sa.Table(
    "jobs", META,
    sa.Column("asset_id", sa.String(32), sa.ForeignKey("assets.id"), primary_key=True),
    sa.Column("stage", sa.String(32), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("worker", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # Migration issue 19: a task's lease on its job, so that one asset's caption and ladder tasks run at once
    # on two workers, while two deliveries of one task never do.
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_expires_at", sa.DateTime(timezone=True)),
    sa.Column("started_at", sa.DateTime(timezone=True)),  # the last attempt's start; updated_at is its end
)


def _migration_1(conn: Connection) -> None:
    for table in (assets, events, renditions, captions, share_links):
        table.create(conn)


def _add_columns(conn: Connection, table: sa.Table, names: tuple[str, ...]) -> None:
    present = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    for name in names:
        if name not in present:
            column = table.c[name]
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN {name} {kind}'))


def _migration_2(conn: Connection) -> None:
    """Leases for concurrent runs (#7); caption revisions and review decisions (#5); caption provenance (#4)."""
    _add_columns(conn, assets, ("lease_owner", "lease_expires_at"))
    _add_columns(conn, captions, ("revision", "generated_at", "detected_language", "changes_note", "changes_by",
                                  "changes_at"))
    caption_revisions.create(conn)


def _migration_3(conn: Connection) -> None:
    """Jobs of the distributed mode (#8)."""
    jobs.create(conn)


def _migration_issue15(conn: Connection) -> None:
    """Per-cue merging and review history (#15): revision summaries and comments on captions."""
    _add_columns(conn, caption_revisions, ("cues_changed",))
    caption_comments.create(conn, checkfirst=True)


def _migration_issue15_gate(conn: Connection) -> None:
    """The review gate (#15): flag states and how each track was approved."""
    caption_flags.create(conn, checkfirst=True)
    caption_approvals.create(conn, checkfirst=True)


def _migration_issue19(conn: Connection) -> None:
    """Review before the ladder (#19): the ladder's error on an asset in review; leases on jobs."""
    _add_columns(conn, assets, ("ladder_error",))
    jobs.create(conn, checkfirst=True)
    _add_columns(conn, jobs, ("lease_owner", "lease_expires_at", "started_at"))


def _migration_issue17(conn: Connection) -> None:
    """The display title of an asset (#17); checks first, so it runs in any order with other streams'."""
    _add_columns(conn, assets, ("title",))


def _migration_issue20_queue(conn: Connection) -> None:
    """The review queue's figures (#20); checks first, so it runs in any order with other streams' migrations.
    The rows of assets recorded before it are filled after the migrations (catalog/queue.py backfill)."""
    caption_figures.create(conn, checkfirst=True)
    review_queue.create(conn, checkfirst=True)


def _migration_issue21(conn: Connection) -> None:
    """Audio description (#21): descriptions tracks and their revisions; checks first, like #17's."""
    descriptions.create(conn, checkfirst=True)
    description_revisions.create(conn, checkfirst=True)


# Append new migrations; never edit one that has shipped.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_migration_1, _migration_2, _migration_3,
                                                         _migration_issue15, _migration_issue15_gate,
                                                         _migration_issue19,
                                                         _migration_issue17,
                                                         _migration_issue20_queue,
                                                         _migration_issue21)
