"""The review app's JSON API: what the editor page calls, documented at /docs (OpenAPI at /openapi.json).

Routes validate input, resolve the asset once, and call review/ (editing, decisions, waveform), the same
functions the CLI uses. GET routes only read.
Errors come back as {"detail": "..."} with the status the error class carries: 404 unknown, 409 someone
saved first (with their revision), 422 refused input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from pipeline.captions import guards, quality
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.models import Cue, Revision
from pipeline.review import decisions as review
from pipeline.review import editing, waveform

LANGUAGE = r"^[a-z]{2,3}$"


class CueBody(BaseModel):
    start_ms: int = Field(ge=0, le=86_400_000)
    end_ms: int = Field(ge=0, le=86_400_000)
    text: str = Field(max_length=editing.MAX_CUE_TEXT * 2)


class SaveBody(BaseModel):
    base_revision: int = Field(ge=1, description="the revision these cues were edited from")
    author: str = Field(min_length=1, max_length=100)
    cues: list[CueBody] = Field(max_length=editing.MAX_CUES)


class RestoreBody(BaseModel):
    base_revision: int = Field(ge=1)
    author: str = Field(min_length=1, max_length=100)


class ImportBody(BaseModel):
    name: str = Field(min_length=5, max_length=200, description="the file's name; .vtt or .srt")
    content: str = Field(max_length=5_000_000)
    base_revision: int = Field(ge=1)
    author: str = Field(min_length=1, max_length=100)


class ApproveBody(BaseModel):
    reviewer: str = Field(min_length=1, max_length=100)
    revisions: dict[str, int] = Field(default_factory=dict, description="language -> the revision reviewed")
    override_reason: str | None = Field(default=None, max_length=1000)


class ChangesBody(BaseModel):
    reviewer: str = Field(min_length=1, max_length=100)
    note: str = Field(min_length=1, max_length=4000)


class CueOut(BaseModel):
    start_ms: int
    end_ms: int
    text: str


class RevisionOut(BaseModel):
    number: int
    author: str
    created_at: datetime
    summary: str


class ProblemOut(BaseModel):
    cue: int
    rule: str
    level: str
    value: float
    limit: float
    message: str


class CaptionsOut(BaseModel):
    asset_id: str
    language: str
    revision: RevisionOut
    cues: list[CueOut]
    problems: list[ProblemOut]
    state: str
    reviewer: str | None
    changes_note: str | None
    changes_by: str | None
    detected_language: str | None  # the model heard this language rather than the declared one


def _revision(made: Revision) -> RevisionOut:
    return RevisionOut(number=made.number, author=made.author, created_at=made.created_at, summary=made.summary)


def _problems(found: list[quality.Violation]) -> list[ProblemOut]:
    return [ProblemOut(cue=v.cue, rule=v.rule, level=v.level.value, value=v.value, limit=v.limit, message=v.message)
            for v in found]


def _cues(body: list[CueBody]) -> list[Cue]:
    return [Cue(c.start_ms, c.end_ms, c.text) for c in body]


def router(settings: Settings, catalog: Catalog) -> APIRouter:
    api = APIRouter(prefix="/api")

    def captions_out(asset_id: str, language: str) -> CaptionsOut:
        draft = editing.read_draft(settings, catalog, catalog.get(asset_id), language)  # as it is now
        track, cues = draft.track, draft.revision.cues
        return CaptionsOut(asset_id=draft.asset.id, language=language, revision=_revision(draft.revision),
                           cues=[CueOut(start_ms=c.start_ms, end_ms=c.end_ms, text=c.text) for c in cues],
                           problems=_problems(draft.problems), state=track.state.value, reviewer=track.reviewer,
                           changes_note=track.changes_note, changes_by=track.changes_by,
                           detected_language=track.detected_language)

    @api.get("/assets", summary="Every asset with its review status, in queue order")
    def list_assets() -> list[dict[str, Any]]:
        return [{"id": r.asset.id, "source": r.asset.source, "state": r.asset.state.value, "status": r.status.value,
                 "duration_ms": r.asset.duration_ms, "cues": r.cues, "errors": r.errors, "warnings": r.warnings,
                 "flagged_words": r.flagged, "last_edited_by": r.last_author, "last_edited_at": r.last_at,
                 "editor_url": f"/assets/{r.asset.id}"} for r in review.queue(settings, catalog)]

    # Before the plain {language} route, which would otherwise take "en.vtt" as a language.
    @api.get("/assets/{asset_id}/captions/{language}.{kind}", summary="Download as WebVTT (vtt) or SubRip (srt)")
    def export_captions(asset_id: str, language: str, kind: str) -> Response:
        asset = catalog.get(asset_id)
        text = editing.export_text(settings, catalog, asset, kind, language)
        media = "text/vtt" if kind == "vtt" else "application/x-subrip"
        return Response(text, media_type=f"{media}; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{asset.id}.{language}.{kind}"'})

    @api.get("/assets/{asset_id}/captions/{language}", summary="The latest revision of a caption track")
    def get_captions(asset_id: str, language: str) -> CaptionsOut:
        return captions_out(asset_id, language)

    @api.put("/assets/{asset_id}/captions/{language}",
             summary="Save captions as a new revision; 409 if base_revision is no longer the latest")
    def save_captions(asset_id: str, language: str, body: SaveBody) -> CaptionsOut:
        asset = catalog.get(asset_id)
        editing.save(settings, catalog, asset, language, body.base_revision, body.author, _cues(body.cues))
        return captions_out(asset.id, language)

    @api.get("/assets/{asset_id}/captions/{language}/words", summary="Whisper's words with timings and flags")
    def get_words(asset_id: str, language: str) -> list[dict[str, Any]]:
        return guards.word_rows(editing.read_draft(settings, catalog, catalog.get(asset_id), language).words)

    @api.get("/assets/{asset_id}/captions/{language}/revisions", summary="Revision history, newest first")
    def list_revisions(asset_id: str, language: str) -> list[RevisionOut]:
        return [_revision(r) for r in editing.history(settings, catalog, catalog.get(asset_id), language)]

    @api.get("/assets/{asset_id}/captions/{language}/revisions/{number}", summary="The cues of one revision")
    def get_revision(asset_id: str, language: str, number: int) -> list[CueOut]:
        found = editing.revision(settings, catalog, catalog.get(asset_id), language, number)
        return [CueOut(start_ms=c.start_ms, end_ms=c.end_ms, text=c.text) for c in found.cues]

    @api.post("/assets/{asset_id}/captions/{language}/revisions/{number}/restore",
              summary="Make an earlier revision the latest again (as a new revision)")
    def restore_revision(asset_id: str, language: str, number: int, body: RestoreBody) -> CaptionsOut:
        asset = catalog.get(asset_id)
        editing.restore(settings, catalog, asset, language, number, body.base_revision, body.author)
        return captions_out(asset.id, language)

    @api.post("/assets/{asset_id}/captions/{language}/import",
              summary="A .vtt or .srt file edited elsewhere becomes a new revision")
    def import_captions(asset_id: str, language: str, body: ImportBody) -> CaptionsOut:
        asset = catalog.get(asset_id)
        editing.import_file(settings, catalog, asset, body.name, body.content.encode(), body.author,
                            body.base_revision, language)
        return captions_out(asset.id, language)

    @api.post("/assets/{asset_id}/approve", summary="Approve the captions; 422 if quality errors are not overridden")
    def approve(asset_id: str, body: ApproveBody) -> dict[str, Any]:
        asset = review.approve(settings, catalog, catalog.get(asset_id), body.reviewer, body.override_reason,
                               body.revisions)
        return {"id": asset.id, "state": asset.state.value}

    @api.post("/assets/{asset_id}/request-changes", summary="Send the captions back with a note")
    def request_changes(asset_id: str, body: ChangesBody) -> dict[str, Any]:
        asset = review.request_changes(settings, catalog, catalog.get(asset_id), body.reviewer, body.note)
        return {"id": asset.id, "state": asset.state.value, "status": review.Status.CHANGES_REQUESTED.value}

    @api.get("/assets/{asset_id}/waveform", summary="Audio peak levels (0-100) for the editor's waveform")
    def get_waveform(asset_id: str) -> dict[str, Any]:
        made = waveform.waveform(settings, catalog, catalog.get(asset_id))
        return {"peaks_per_second": made.peaks_per_second, "peaks": made.peaks}

    return api
