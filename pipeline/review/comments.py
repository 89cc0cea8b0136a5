"""Comments on captions (#15): a reviewer leaves a note on one caption (by its stable id) for the next reviewer,
who sees it next to the caption and resolves it when it is dealt with, as in Amara's and Subtitle Edit's review
notes. Comments are not part of the captions: saving, merging and approving never touch them."""

from __future__ import annotations

import secrets

from pipeline.catalog import Catalog, now
from pipeline.errors import UsageError
from pipeline.models import Asset, Comment

MAX_TEXT = 2000


def _name(author: str) -> str:
    name = " ".join(author.split())
    if not name:
        raise UsageError("give your name: every comment says who left it")
    return name


def add(catalog: Catalog, asset: Asset, language: str, cue_id: str, author: str, text: str) -> Comment:
    body = text.strip()
    if not body or len(body) > MAX_TEXT:
        raise UsageError(f"a comment needs between 1 and {MAX_TEXT} characters of text")
    catalog.caption_track(asset.id, language)  # NotFoundError for a track that does not exist
    made = Comment(secrets.token_hex(8), asset.id, language, cue_id, _name(author), now(), body)
    return catalog.add_comment(made)


def listed(catalog: Catalog, asset: Asset, language: str) -> list[Comment]:
    return catalog.comments(asset.id, language)


def resolve(catalog: Catalog, asset: Asset, language: str, comment_id: str, author: str) -> Comment:
    return catalog.resolve_comment(asset.id, language, comment_id, _name(author))
