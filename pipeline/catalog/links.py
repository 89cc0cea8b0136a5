"""Share links: who made which link to which asset, for whom, until when, and whether it was revoked."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pipeline.catalog.schema import share_links
from pipeline.catalog.store import Store, now, utc
from pipeline.errors import NotFoundError
from pipeline.models import ShareLink


class Links(Store):
    def add_share_link(self, link: ShareLink) -> None:
        with self._tx() as conn:
            conn.execute(share_links.insert().values(
                id=link.id, asset_id=link.asset_id, object_key=link.object_key, audience=link.audience,
                created_by=link.created_by, created_at=link.created_at, expires_at=link.expires_at))

    @staticmethod
    def _link(r: Any) -> ShareLink:
        return ShareLink(r.id, r.asset_id, r.object_key, r.audience, r.created_by, utc(r.created_at) or now(),
                         utc(r.expires_at) or now(), utc(r.revoked_at))

    def share_links(self, asset_id: str) -> list[ShareLink]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(share_links).where(share_links.c.asset_id == asset_id)
                                .order_by(share_links.c.created_at)).all()
        return [self._link(r) for r in rows]

    def share_link(self, link_id: str) -> ShareLink:
        with self._tx() as conn:
            row = conn.execute(sa.select(share_links).where(share_links.c.id == link_id)).first()
        if row is None:
            raise NotFoundError(f"no share link {link_id!r}; `pipeline share --list ID` lists an asset's links")
        return self._link(row)

    def revoke_share_link(self, link_id: str) -> None:
        with self._tx() as conn:
            conn.execute(share_links.update().where(share_links.c.id == link_id).values(revoked_at=now()))

