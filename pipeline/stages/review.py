"""Review: a person approves the captions. The web editor (pipeline review) calls the same function."""

from __future__ import annotations

from pipeline.catalog import Catalog
from pipeline.errors import UsageError
from pipeline.models import Asset


def approve(catalog: Catalog, asset_id: str, reviewer: str) -> Asset:
    name = " ".join(reviewer.split())
    if not name:
        raise UsageError("--reviewer: give the name of the person who checked the captions")
    asset = catalog.get(asset_id)
    return catalog.approve_captions(asset.id, name)
