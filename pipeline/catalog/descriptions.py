"""Audio description tracks (#21) and their revisions: every save a revision based on the one it started from,
like captions (catalog/captions.py), in tables of their own. Approving records who, which revision and an event
in the asset's history; it does not move the asset's state: a video may be published without descriptions.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pipeline.catalog.assets import Assets, record_event
from pipeline.catalog.captions import _cues_from_json, _cues_json
from pipeline.catalog.schema import assets, description_revisions, descriptions
from pipeline.catalog.store import now, utc
from pipeline.errors import ConflictError, NotFoundError
from pipeline.models import AssetState, Cue, DescriptionState, DescriptionTrack, Revision


def _track(r: Any) -> DescriptionTrack:
    return DescriptionTrack(r.asset_id, r.language, r.revision, DescriptionState(r.state), r.reviewer,
                            utc(r.approved_at), r.approved_revision)


class Descriptions(Assets):
    def description_tracks(self, asset_id: str) -> list[DescriptionTrack]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(descriptions).where(descriptions.c.asset_id == asset_id)
                                .order_by(descriptions.c.language)).all()
        return [_track(r) for r in rows]

    def description_track(self, asset_id: str, language: str) -> DescriptionTrack | None:
        """The track, or None while nobody has written a description in this language."""
        return next((t for t in self.description_tracks(asset_id) if t.language == language), None)

    def save_description_revision(self, asset_id: str, language: str, base: int | None, author: str, summary: str,
                                  cues: list[Cue], cues_changed: int) -> Revision:
        """Record a new revision, if `base` (None: no track yet) is still the latest, else ConflictError. A save
        withdraws the approval: changed descriptions are reviewed again before they are published."""
        stamp = now()
        number = (base or 0) + 1
        with self._tx() as conn:
            where = (descriptions.c.asset_id == asset_id) & (descriptions.c.language == language)
            if base is None:
                exists = conn.execute(sa.select(descriptions.c.revision).where(where)).first()
                if exists is None:
                    conn.execute(descriptions.insert().values(asset_id=asset_id, language=language, revision=1,
                                                              state=DescriptionState.DRAFT.value))
                updated = 1 if exists is None else 0
            else:
                updated = conn.execute(descriptions.update().where(where & (descriptions.c.revision == base)).values(
                    revision=number, state=DescriptionState.DRAFT.value, reviewer=None, approved_at=None,
                    approved_revision=None)).rowcount
            if updated != 1:
                latest = conn.execute(sa.select(description_revisions).where(
                    (description_revisions.c.asset_id == asset_id) & (description_revisions.c.language == language))
                    .order_by(description_revisions.c.number.desc()).limit(1)).first()
                if latest is None:
                    raise NotFoundError(f"asset {asset_id} has no {language!r} descriptions")
                raise ConflictError(
                    f"{latest.author} saved revision {latest.number} of these descriptions at "
                    f"{utc(latest.created_at):%H:%M:%S} UTC, after the revision {base} this change was based on; "
                    "load their version before saving", current_revision=latest.number, author=latest.author)
            conn.execute(description_revisions.insert().values(
                asset_id=asset_id, language=language, number=number, author=author, created_at=stamp,
                summary=summary, cues=_cues_json(cues), cues_changed=cues_changed))
        return Revision(asset_id, language, number, author, stamp, summary, _cues_from_json(_cues_json(cues)),
                        cues_changed)

    def description_revision(self, asset_id: str, language: str, number: int) -> Revision:
        with self._tx() as conn:
            r = conn.execute(sa.select(description_revisions).where(
                (description_revisions.c.asset_id == asset_id) & (description_revisions.c.language == language)
                & (description_revisions.c.number == number))).first()
        if r is None:
            raise NotFoundError(f"asset {asset_id} has no revision {number} of its {language!r} descriptions")
        return Revision(r.asset_id, r.language, r.number, r.author, utc(r.created_at) or now(), r.summary,
                        _cues_from_json(r.cues), r.cues_changed)

    def description_history(self, asset_id: str, language: str) -> list[Revision]:
        """Every revision, newest first, without their cues."""
        columns = [description_revisions.c[name] for name in ("asset_id", "language", "number", "author",
                                                                "created_at", "summary", "cues_changed")]
        with self._tx() as conn:
            rows = conn.execute(sa.select(*columns).where(
                (description_revisions.c.asset_id == asset_id) & (description_revisions.c.language == language))
                .order_by(description_revisions.c.number.desc())).all()
        return [Revision(r.asset_id, r.language, r.number, r.author, utc(r.created_at) or now(), r.summary, (),
                         r.cues_changed) for r in rows]

    def approve_descriptions(self, asset_id: str, language: str, revision: int, reviewer: str) -> DescriptionTrack:
        """Approve revision `revision` (ConflictError when a later one exists) and record it in the history."""
        stamp = now()
        with self._tx() as conn:
            where = ((descriptions.c.asset_id == asset_id) & (descriptions.c.language == language)
                     & (descriptions.c.revision == revision))
            done = conn.execute(descriptions.update().where(where).values(
                state=DescriptionState.APPROVED.value, reviewer=reviewer, approved_at=stamp,
                approved_revision=revision))
            if done.rowcount != 1:
                latest = conn.execute(sa.select(description_revisions).where(
                    (description_revisions.c.asset_id == asset_id) & (description_revisions.c.language == language))
                    .order_by(description_revisions.c.number.desc()).limit(1)).first()
                if latest is None:
                    raise NotFoundError(f"asset {asset_id} has no {language!r} descriptions to approve")
                raise ConflictError(f"{latest.author} saved revision {latest.number} of these descriptions after the "
                                    f"revision {revision} you reviewed; look at it before approving",
                                    current_revision=latest.number, author=latest.author)
            state = conn.execute(sa.select(assets.c.state).where(assets.c.id == asset_id)).scalar()
            record_event(conn, asset_id, AssetState(str(state)), stamp,
                         f"{language} audio description revision {revision} approved by {reviewer}")
        track = self.description_track(asset_id, language)
        assert track is not None
        return track
