"""Caption tracks and their revisions: every save is a revision based on the one it started from, and
approving is one transaction over the tracks and the asset's state (through assets.transition).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pipeline.catalog import queue
from pipeline.catalog.assets import Assets, record_event, transition
from pipeline.catalog.schema import assets, caption_comments, caption_figures, caption_revisions, captions
from pipeline.catalog.store import now, utc
from pipeline.errors import ConflictError, NotFoundError, UsageError
from pipeline.models import Asset, AssetState, CaptionState, CaptionTrack, Comment, Cue, Revision


def _cues_json(cues: list[Cue]) -> str:
    # A cue without an id (captions made before #15) is stored under the id it is read back with: "n" + position.
    return json.dumps([[c.start_ms, c.end_ms, c.text, c.id or f"n{i}"] for i, c in enumerate(cues, start=1)])


def _cues_from_json(text: str) -> tuple[Cue, ...]:
    rows = json.loads(text)
    return tuple(Cue(int(r[0]), int(r[1]), str(r[2]), str(r[3]) if len(r) > 3 else f"n{i}")
                 for i, r in enumerate(rows, start=1))


class Captions(Assets):
    def put_caption_track(self, track: CaptionTrack) -> None:
        with self._tx() as conn:
            conn.execute(captions.delete().where(
                (captions.c.asset_id == track.asset_id) & (captions.c.language == track.language)))
            conn.execute(captions.insert().values(
                asset_id=track.asset_id, language=track.language, path=track.path, state=track.state.value,
                cue_count=track.cue_count, engine=track.engine, model=track.model, reviewer=track.reviewer,
                approved_at=track.approved_at, approved_sha256=track.approved_sha256, revision=track.revision,
                generated_at=track.generated_at, detected_language=track.detected_language))
            self._keep_figures(conn, track)
            queue.refresh(conn, track.asset_id)

    @staticmethod
    def _keep_figures(conn: Connection, track: CaptionTrack) -> None:
        """The queue's figures of a track just put: kept when they are of its revision, else its cue count with
        nothing counted (a revision saved next brings its counts)."""
        kept = conn.execute(sa.select(caption_figures.c.revision).where(
            (caption_figures.c.asset_id == track.asset_id) & (caption_figures.c.language == track.language))).first()
        if kept is not None and track.revision is not None and kept.revision == track.revision:
            return
        cues = queue.revision_cue_count(conn, track.asset_id, track.language, track.revision, track.cue_count)
        queue.put_figures(conn, track.asset_id, track.language, track.revision, cues, None)

    def caption_tracks(self, asset_id: str) -> list[CaptionTrack]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(captions).where(captions.c.asset_id == asset_id)
                                .order_by(captions.c.language)).all()
        return [CaptionTrack(r.asset_id, r.language, r.path, CaptionState(r.state), r.cue_count, r.engine,
                             r.model, r.reviewer, utc(r.approved_at), r.approved_sha256, r.revision,
                             utc(r.generated_at), r.detected_language, r.changes_note, r.changes_by,
                             utc(r.changes_at)) for r in rows]

    def caption_track(self, asset_id: str, language: str) -> CaptionTrack:
        track = next((t for t in self.caption_tracks(asset_id) if t.language == language), None)
        if track is None:
            raise NotFoundError(f"asset {asset_id} has no {language!r} captions yet; `pipeline status` shows "
                                "whether it is still being processed")
        return track

    def save_revision(self, asset_id: str, language: str, base: int | None, author: str, summary: str,
                      cues: list[Cue], *, withdraw: bool = True, cues_changed: int | None = None,
                      counts: queue.Counts | None = None) -> Revision:
        """Record a new revision of a caption track, if `base` is still the latest (else ConflictError: two
        reviewers never overwrite each other). The approval is withdrawn and the asset is back in review,
        unless `withdraw` is False (recording captions that were made before revisions were kept). `counts`:
        the queue's figures of `cues` (review/editing.py counts them); None leaves them to be counted."""
        stamp = now()
        state = CaptionState.DRAFT if cues else CaptionState.NO_SPEECH
        with self._tx() as conn:
            where = (captions.c.asset_id == asset_id) & (captions.c.language == language)
            same_base = captions.c.revision.is_(None) if base is None else captions.c.revision == base
            number = (base or 0) + 1
            changes: dict[str, Any] = {"revision": number}
            if withdraw:
                changes.update(state=state.value, cue_count=len(cues), reviewer=None, approved_at=None,
                               approved_sha256=None, override_reason=None)
            updated = conn.execute(captions.update().where(where & same_base).values(**changes))
            if updated.rowcount != 1:
                latest = conn.execute(sa.select(caption_revisions).where(
                    (caption_revisions.c.asset_id == asset_id) & (caption_revisions.c.language == language))
                    .order_by(caption_revisions.c.number.desc()).limit(1)).first()
                if latest is None:
                    raise NotFoundError(f"asset {asset_id} has no {language!r} captions")
                raise ConflictError(
                    f"{latest.author} saved revision {latest.number} of these captions at "
                    f"{utc(latest.created_at):%H:%M:%S} UTC, after the revision {base} this change was based on; "
                    "load their version before saving", current_revision=latest.number, author=latest.author)
            conn.execute(caption_revisions.insert().values(
                asset_id=asset_id, language=language, number=number, author=author, created_at=stamp,
                summary=summary, cues=_cues_json(cues), cues_changed=cues_changed))
            state_now = conn.execute(sa.select(assets.c.state).where(assets.c.id == asset_id)).scalar()
            if withdraw and state_now in (AssetState.APPROVED.value, AssetState.PUBLISHED.value):
                transition(conn, asset_id, AssetState.AWAITING_REVIEW, detail=f"{language} captions edited by {author}")
            queue.put_figures(conn, asset_id, language, number, len(cues), counts)
            queue.refresh(conn, asset_id)
        return Revision(asset_id, language, number, author, stamp, summary, _cues_from_json(_cues_json(cues)),
                        cues_changed)

    @staticmethod
    def _revision(r: Any) -> Revision:
        return Revision(r.asset_id, r.language, r.number, r.author, utc(r.created_at) or now(), r.summary,
                        _cues_from_json(r.cues), r.cues_changed)

    def revision_summaries(self, asset_id: str, language: str) -> list[Revision]:
        """Every revision of a caption track, newest first, without their cues (`cues` is empty): what listing
        the history needs, read without decoding any cue list (#20)."""
        columns = [caption_revisions.c[name] for name in ("asset_id", "language", "number", "author", "created_at",
                                                            "summary", "cues_changed")]
        with self._tx() as conn:
            rows = conn.execute(sa.select(*columns).where(
                (caption_revisions.c.asset_id == asset_id) & (caption_revisions.c.language == language))
                .order_by(caption_revisions.c.number.desc())).all()
        return [Revision(r.asset_id, r.language, r.number, r.author, utc(r.created_at) or now(), r.summary, (),
                         r.cues_changed) for r in rows]

    # -- comments on captions (#15) ------------------------------------------------------------------------

    def add_comment(self, comment: Comment) -> Comment:
        with self._tx() as conn:
            conn.execute(caption_comments.insert().values(
                id=comment.id, asset_id=comment.asset_id, language=comment.language, cue_id=comment.cue_id,
                author=comment.author, created_at=comment.created_at, text=comment.text))
        return comment

    def comments(self, asset_id: str, language: str) -> list[Comment]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(caption_comments).where(
                (caption_comments.c.asset_id == asset_id) & (caption_comments.c.language == language))
                .order_by(caption_comments.c.created_at, caption_comments.c.id)).all()
        return [Comment(r.id, r.asset_id, r.language, r.cue_id, r.author, utc(r.created_at) or now(), r.text,
                        r.resolved_by, utc(r.resolved_at)) for r in rows]

    def resolve_comment(self, asset_id: str, language: str, comment_id: str, by: str) -> Comment:
        with self._tx() as conn:
            where = ((caption_comments.c.id == comment_id) & (caption_comments.c.asset_id == asset_id)
                     & (caption_comments.c.language == language))
            done = conn.execute(caption_comments.update().where(where & caption_comments.c.resolved_at.is_(None))
                                .values(resolved_by=by, resolved_at=now()))
            if done.rowcount != 1 and conn.execute(sa.select(caption_comments.c.id).where(where)).first() is None:
                raise NotFoundError(f"asset {asset_id} has no comment {comment_id!r} on its {language!r} captions")
        return next(c for c in self.comments(asset_id, language) if c.id == comment_id)

    def revisions(self, asset_id: str, language: str) -> list[Revision]:
        """Every revision of a caption track, newest first."""
        with self._tx() as conn:
            rows = conn.execute(sa.select(caption_revisions).where(
                (caption_revisions.c.asset_id == asset_id) & (caption_revisions.c.language == language))
                .order_by(caption_revisions.c.number.desc())).all()
        return [self._revision(r) for r in rows]

    def revision(self, asset_id: str, language: str, number: int) -> Revision:
        with self._tx() as conn:
            row = conn.execute(sa.select(caption_revisions).where(
                (caption_revisions.c.asset_id == asset_id) & (caption_revisions.c.language == language)
                & (caption_revisions.c.number == number))).first()
        if row is None:
            raise NotFoundError(f"asset {asset_id} has no revision {number} of its {language!r} captions")
        return self._revision(row)

    def request_changes(self, asset_id: str, reviewer: str, note: str) -> None:
        stamp = now()
        with self._tx() as conn:
            conn.execute(captions.update().where(captions.c.asset_id == asset_id).values(
                changes_note=note, changes_by=reviewer, changes_at=stamp))
            state = conn.execute(sa.select(assets.c.state).where(assets.c.id == asset_id)).scalar()
            record_event(conn, asset_id, AssetState(str(state)), stamp, f"changes requested by {reviewer}: {note}")
            queue.refresh(conn, asset_id)

    def approve_captions(self, asset_id: str, reviewer: str, file_sha256: dict[str, str],
                         override_reason: str | None = None) -> Asset:
        """Approve every caption track of an asset awaiting review, and the asset with them, atomically.
        `file_sha256` holds, per language, the SHA-256 of the caption file the reviewer approved."""
        stamp = now()
        with self._tx() as conn:
            row = conn.execute(sa.select(assets.c.state).where(assets.c.id == asset_id)).first()
            if row is None or AssetState(row.state) is not AssetState.AWAITING_REVIEW:
                state = AssetState(row.state).value if row else "unknown"
                raise UsageError(f"asset {asset_id} is {state}; only assets awaiting review can be approved")
            conn.execute(captions.update().where(
                (captions.c.asset_id == asset_id) & (captions.c.state == CaptionState.DRAFT.value))
                .values(state=CaptionState.APPROVED.value))
            for language, digest in file_sha256.items():
                conn.execute(captions.update().where(
                    (captions.c.asset_id == asset_id) & (captions.c.language == language))
                    .values(reviewer=reviewer, approved_at=stamp, approved_sha256=digest,
                            override_reason=override_reason, changes_note=None, changes_by=None, changes_at=None))
            overridden = f"; quality errors overridden: {override_reason}" if override_reason else ""
            transition(conn, asset_id, AssetState.APPROVED, detail=f"captions approved by {reviewer}{overridden}",
                       only_from=frozenset({AssetState.AWAITING_REVIEW}))
        return self.get(asset_id)

