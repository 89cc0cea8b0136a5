"""Where things live in the bucket."""

from __future__ import annotations

from pipeline.config import Settings
from pipeline.errors import UsageError
from pipeline.models import Asset


def asset_prefix(settings: Settings, asset: Asset) -> str:
    """Where a published asset's objects live: <prefix>/<asset id>/<publication>. The publication part is
    random and new after every unpublish, so a link handed out before can never work again."""
    if not asset.publication:
        raise UsageError(f"asset {asset.id} is not published")
    return f"{settings.publish.prefix.strip('/')}/{asset.id}/{asset.publication}"
