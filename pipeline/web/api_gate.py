"""The review gate's routes (#15): flag states, approval that lists what is unchecked, the no-speech decision,
and line breaks from the server's segmenter. Included by app.py before api.py's routes, so that this approve
route is the one served.

Errors come back as {"detail": "..."} like the rest of the API; a refused approval adds `open_items`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints

from pipeline.captions import segment
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.models import Asset
from pipeline.review import decisions as review
from pipeline.review import editing, flags

MAX_LAYOUT_TEXTS = 5000


class AuthorBody(BaseModel):
    author: str = Field(min_length=1, max_length=100)


class ApproveBody(BaseModel):
    reviewer: str = Field(min_length=1, max_length=100)
    revisions: dict[str, int] = Field(default_factory=dict, description="language -> the revision reviewed")
    reason: str | None = Field(default=None, max_length=1000,
                               description="why approve with flagged words or caption errors unchecked")
    override_reason: str | None = Field(default=None, max_length=1000, description="the older name of `reason`")


class NoSpeechBody(BaseModel):
    reviewer: str = Field(min_length=1, max_length=100)
    reason: str | None = Field(default=None, max_length=1000)


class LayoutBody(BaseModel):
    texts: list[Annotated[str, StringConstraints(max_length=editing.MAX_CUE_TEXT * 2)]] = Field(
        max_length=MAX_LAYOUT_TEXTS)


def _item(item: review.OpenItem) -> dict[str, Any]:
    return {"kind": item.kind, "language": item.language, "cue": item.cue, "cue_id": item.cue_id, "text": item.text,
            "key": item.key}


def gate_summary(settings: Settings, catalog: Catalog, asset: Asset, language: str) -> dict[str, Any]:
    """What the captions answer carries about the gate: every flag with its state, and for captions without a
    cue the no-speech decision (null for captions with cues). Reads only."""
    found = flags.track_flags(settings, catalog, asset, language)
    cues = len(editing.read_draft(settings, catalog, asset, language).revision.cues)
    decided = review.no_speech_decision(catalog, asset, language, cues)
    decision = None if decided is None else {
        "no_speech": True, "no_speech_decided_by": decided.decided_by, "no_speech_reason": decided.reason,
        "no_speech_at": decided.at.isoformat() if decided.at else None}
    return {"flags": [flags.row(f) for f in found], "decision": decision}


def router(settings: Settings, catalog: Catalog) -> APIRouter:
    api = APIRouter(prefix="/api")

    @api.get("/assets/{asset_id}/captions/{language}/flags", summary="Every flagged word with its state")
    def list_flags(asset_id: str, language: str) -> dict[str, Any]:
        return gate_summary(settings, catalog, catalog.get(asset_id), language)

    @api.post("/assets/{asset_id}/captions/{language}/flags/{key}/check",
              summary="Mark a flagged word checked: it is right as it is")
    def check_flag(asset_id: str, language: str, key: str, body: AuthorBody) -> dict[str, Any]:
        return flags.row(flags.check(settings, catalog, catalog.get(asset_id), language, key, body.author))

    @api.post("/assets/{asset_id}/captions/{language}/flags/{key}/reopen", summary="Open a checked flag again")
    def reopen_flag(asset_id: str, language: str, key: str, body: AuthorBody) -> dict[str, Any]:
        return flags.row(flags.reopen(settings, catalog, catalog.get(asset_id), language, key, body.author))

    @api.post("/assets/{asset_id}/approve", summary="Approve the captions; 422 listing the open flags and caption "
                                                    "errors unless a reason is given")
    def approve(asset_id: str, body: ApproveBody) -> Any:
        try:
            asset = review.approve(settings, catalog, catalog.get(asset_id), body.reviewer,
                                   body.reason or body.override_reason, body.revisions)
        except review.GateError as exc:
            return JSONResponse({"detail": str(exc), "open_items": [_item(i) for i in exc.open_items]},
                                status_code=exc.http_status)
        return {"id": asset.id, "state": asset.state.value}

    @api.post("/assets/{asset_id}/no-speech",
              summary="Decide that captions without a cue need none: \"no speech: nothing to caption\"")
    def no_speech(asset_id: str, body: NoSpeechBody) -> dict[str, Any]:
        asset = review.approve(settings, catalog, catalog.get(asset_id), body.reviewer, body.reason, no_speech=True)
        return {"id": asset.id, "state": asset.state.value, "decision": review.NO_SPEECH}

    @api.post("/assets/{asset_id}/captions/{language}/layout",
              summary="Line breaks for each text from the server's segmenter, under the asset's rules")
    def layout(asset_id: str, language: str, body: LayoutBody) -> dict[str, list[str]]:
        asset = catalog.get(asset_id)
        catalog.caption_track(asset.id, language)  # 404 for captions that do not exist
        rules = editing.rules_for(settings, asset)
        lines = segment.Layout(max_chars_per_line=rules.chars_per_line, max_lines=rules.max_lines)
        return {"texts": [segment.layout(text, lines) for text in body.texts]}

    return api
