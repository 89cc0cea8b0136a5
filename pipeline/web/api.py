"""The review app's JSON API: what the editor page calls, documented at /docs (OpenAPI at /openapi.json).

Routes validate input, resolve the asset once, and call review/ (editing, decisions, waveform), the same
functions the CLI uses. GET routes only read.
Errors come back as {"detail": "..."} with the status the error class carries: 404 unknown, 409 someone
saved first (with their revision), 422 refused input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from pipeline.captions import guards, quality
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.errors import UsageError
from pipeline.models import Comment, Cue, Revision
from pipeline.review import comments, editing, waveform
from pipeline.review import decisions as review
from pipeline.review.merging import Change, Difference
from pipeline.web import api_gate

LANGUAGE = r"^[a-z]{2,3}$"


CUE_ID = r"^[A-Za-z0-9_-]{1,40}$"


class CueBody(BaseModel):
    id: str = Field(default="", pattern=r"^[A-Za-z0-9_-]{0,40}$", description="the cue's stable id")
    start_ms: int = Field(ge=0, le=86_400_000)
    end_ms: int = Field(ge=0, le=86_400_000)
    text: str = Field(max_length=editing.MAX_CUE_TEXT * 2)


class TimedText(BaseModel):
    start_ms: int = Field(ge=0, le=86_400_000)
    end_ms: int = Field(ge=0, le=86_400_000)
    text: str = Field(max_length=editing.MAX_CUE_TEXT * 2)


class ChangeBody(BaseModel):
    id: str = Field(pattern=CUE_ID)
    cue: TimedText | None = Field(description="the caption as it is now; null: deleted")


class SaveBody(BaseModel):
    base_revision: int = Field(ge=1, description="the revision these changes were made to")
    author: str = Field(min_length=1, max_length=100)
    changes: list[ChangeBody] | None = Field(default=None, max_length=editing.MAX_CUES,
                                             description="the captions changed, added (a new id) or deleted")
    cues: list[CueBody] | None = Field(default=None, max_length=editing.MAX_CUES,
                                       description="instead of changes: the whole track")


class RestoreBody(BaseModel):
    base_revision: int = Field(ge=1)
    author: str = Field(min_length=1, max_length=100)
    ids: list[str] | None = Field(default=None, max_length=editing.MAX_CUES,
                                  description="the captions to restore; null: all that differ")


class ImportBody(BaseModel):
    name: str = Field(min_length=5, max_length=200, description="the file's name; .vtt or .srt")
    content: str = Field(max_length=5_000_000)
    base_revision: int = Field(ge=1)
    author: str = Field(default="", max_length=100)
    preview: bool = Field(default=False, description="only list what importing would change")
    ids: list[str] | None = Field(default=None, max_length=editing.MAX_CUES,
                                  description="the captions to import; null: every one")


class CommentBody(BaseModel):
    cue_id: str = Field(pattern=CUE_ID)
    author: str = Field(min_length=1, max_length=100)
    text: str = Field(min_length=1, max_length=2000)


class ResolveBody(BaseModel):
    author: str = Field(min_length=1, max_length=100)


class ChangesBody(BaseModel):
    reviewer: str = Field(min_length=1, max_length=100)
    note: str = Field(min_length=1, max_length=4000)


class CueOut(BaseModel):
    id: str
    start_ms: int
    end_ms: int
    text: str


class RevisionOut(BaseModel):
    number: int
    author: str
    created_at: datetime
    summary: str
    cues_changed: int | None


class MergedOut(BaseModel):
    number: int
    author: str


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
    asset_state: str
    flags: list[dict[str, Any]]  # every flagged word with its state (api_gate.gate_summary)
    decision: dict[str, Any] | None  # the no-speech decision, for captions without a cue


class SavedOut(BaseModel):
    revision: RevisionOut
    merged_with: list[MergedOut] | None  # others' revisions merged into this one
    cues: list[CueOut] | None  # the whole track, only when others' changes were merged in
    # The quality report, only with `cues`: after a per-cue save the server holds what the editor sent, which
    # the editor checks with the same rules (quality.js), so that the answer stays small at 1,500 cues (#20).
    problems: list[ProblemOut] | None
    asset_state: str
    flags: list[dict[str, Any]]


class DifferenceOut(BaseModel):
    id: str
    position: int
    kind: str
    before: CueOut | None
    after: CueOut | None
    changed_by: str | None  # who last changed this caption, up to the later revision
    changed_in: int | None


class CompareOut(BaseModel):
    from_revision: int = Field(serialization_alias="from")
    to_revision: int = Field(serialization_alias="to")
    changes: list[DifferenceOut]


class CommentOut(BaseModel):
    id: str
    cue_id: str
    author: str
    created_at: datetime
    text: str
    resolved_by: str | None
    resolved_at: datetime | None


def _revision(made: Revision) -> RevisionOut:
    return RevisionOut(number=made.number, author=made.author, created_at=made.created_at, summary=made.summary,
                       cues_changed=made.cues_changed)


def _cue_out(c: Cue) -> CueOut:
    return CueOut(id=c.id, start_ms=c.start_ms, end_ms=c.end_ms, text=c.text)


def _differences(found: list[tuple[Difference, tuple[int, str] | None]]) -> list[DifferenceOut]:
    return [DifferenceOut(**editing.difference_row(d, blame)) for d, blame in found]


def _problems(found: list[quality.Violation]) -> list[ProblemOut]:
    return [ProblemOut(cue=v.cue, rule=v.rule, level=v.level.value, value=v.value, limit=v.limit, message=v.message)
            for v in found]


def _comment(c: Comment) -> dict[str, Any]:
    return {"id": c.id, "cue_id": c.cue_id, "author": c.author, "created_at": c.created_at, "text": c.text,
            "resolved_by": c.resolved_by, "resolved_at": c.resolved_at}


def _cues(body: list[CueBody]) -> list[Cue]:
    return [Cue(c.start_ms, c.end_ms, c.text, c.id) for c in body]


def _changes(body: list[ChangeBody]) -> list[Change]:
    return [Change(c.id, None if c.cue is None else Cue(c.cue.start_ms, c.cue.end_ms, c.cue.text, c.id)) for c in body]


def _asset_row(r: review.QueueRow) -> dict[str, Any]:
    """One asset as `GET /api/assets` lists it."""
    return {"id": r.asset.id, "source": r.asset.source, "state": r.asset.state.value, "status": r.status.value,
            "duration_ms": r.asset.duration_ms, "cues": r.cues, "errors": r.errors, "warnings": r.warnings,
            "flagged_words": r.flagged, "last_edited_by": r.last_author,
            # As FastAPI's encoder wrote it before this route built its JSON itself: "...T14:05:00.123000Z".
            "last_edited_at": r.last_at.isoformat().replace("+00:00", "Z") if r.last_at else None,
            "editor_url": f"/assets/{r.asset.id}"}


def router(settings: Settings, catalog: Catalog) -> APIRouter:
    api = APIRouter(prefix="/api")

    def captions_out(asset_id: str, language: str) -> CaptionsOut:
        draft = editing.read_draft(settings, catalog, catalog.get(asset_id), language)  # as it is now
        track, cues = draft.track, draft.revision.cues
        return CaptionsOut(asset_id=draft.asset.id, language=language, revision=_revision(draft.revision),
                           cues=[_cue_out(c) for c in cues],
                           problems=_problems(draft.problems), state=track.state.value, reviewer=track.reviewer,
                           changes_note=track.changes_note, changes_by=track.changes_by,
                           detected_language=track.detected_language, asset_state=draft.asset.state.value,
                           **api_gate.gate_summary(settings, catalog, draft.asset, language))

    def saved_out(asset_id: str, language: str, saved: editing.Saved, whole: bool = True) -> SavedOut:
        """The answer to a save: the whole track and its quality report when the editor must show it (`whole`: a
        restore, an import, a whole-track save) or others' changes were merged in; else only the new revision,
        the asset's state and the flags (#20)."""
        draft = editing.read_draft(settings, catalog, catalog.get(asset_id), language)  # as it is now
        merged = [MergedOut(number=n, author=a) for n, a in saved.merged_with] or None
        shown = bool(merged or whole)
        return SavedOut(revision=_revision(draft.revision), merged_with=merged,
                        cues=[_cue_out(c) for c in draft.revision.cues] if shown else None,
                        problems=_problems(draft.problems) if shown else None, asset_state=draft.asset.state.value,
                        flags=api_gate.gate_summary(settings, catalog, draft.asset, language)["flags"])

    @api.get("/assets", response_model=None,
             summary="The review queue in queue order: with limit, offset, page or state, one page {items, total, "
                     "counts, limit, offset, page, pages}; without, every asset as a list")
    def list_assets(limit: int | None = Query(default=None, ge=1, le=review.MAX_PAGE_SIZE),
                    offset: int | None = Query(default=None, ge=0),
                    page: int | None = Query(default=None, ge=1, description="from 1; limit (50) assets a page"),
                    state: str | None = Query(default=None, description="a review status: " + ", ".join(
                        s.slug for s in review.QUEUE_ORDER) + "; all (or empty): every one")) -> Any:
        """`items` are the rows of the list (each as in the list without parameters), `total` how many match
        `state` on every page, `counts` every status's number of assets. A `page` past the last is a 404; an
        `offset` past the end gives no items."""
        status = review.parse_status(state)
        if all(given is None for given in (limit, offset, page, state)):  # the unpaged list of old
            # Plain JSON values already: FastAPI's encoder would walk 5,000 rows again (#20).
            return JSONResponse([_asset_row(r) for r in review.queue(settings, catalog)])
        if offset is not None and page is not None:
            raise UsageError("give offset or page, not both")
        size = limit or review.PAGE_SIZE
        found = review.queue_page(settings, catalog, status, size,
                                  offset if offset is not None else review.page_offset(page or 1, size),
                                  strict=page is not None)
        return JSONResponse({"items": [_asset_row(r) for r in found.rows], "total": found.total,
                             "counts": {s.slug: found.counts[s] for s in review.QUEUE_ORDER},
                             "state": status.slug if status else None, "limit": size, "offset": found.offset,
                             "page": found.page, "pages": found.pages})

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
             summary="Save changed captions as a new revision, merged per caption with anything saved since "
                     "base_revision; 409 (nothing saved) lists the captions both sides changed")
    def save_captions(asset_id: str, language: str, body: SaveBody) -> SavedOut:
        asset = catalog.get(asset_id)
        if body.changes is not None:
            saved = editing.save_changes(settings, catalog, asset, language, body.base_revision, body.author,
                                         _changes(body.changes))
            return saved_out(asset.id, language, saved, whole=False)
        elif body.cues is not None:
            made = editing.save(settings, catalog, asset, language, body.base_revision, body.author, _cues(body.cues))
            saved = editing.Saved(made, [])
        else:
            raise UsageError("send the changed captions (changes) or the whole track (cues)")
        return saved_out(asset.id, language, saved)

    @api.get("/assets/{asset_id}/captions/{language}/words", summary="Whisper's words with timings and flags")
    def get_words(asset_id: str, language: str) -> list[dict[str, Any]]:
        return guards.word_rows(editing.read_draft(settings, catalog, catalog.get(asset_id), language).words)

    @api.get("/assets/{asset_id}/captions/{language}/revisions", summary="Revision history, newest first")
    def list_revisions(asset_id: str, language: str) -> list[RevisionOut]:
        return [_revision(r) for r in editing.history(settings, catalog, catalog.get(asset_id), language)]

    @api.get("/assets/{asset_id}/captions/{language}/revisions/{number}", summary="The cues of one revision")
    def get_revision(asset_id: str, language: str, number: int) -> list[CueOut]:
        found = editing.revision(settings, catalog, catalog.get(asset_id), language, number)
        return [_cue_out(c) for c in found.cues]

    def latest_number(asset_id: str, language: str) -> int:
        return editing.read_draft(settings, catalog, catalog.get(asset_id), language).revision.number

    @api.get("/assets/{asset_id}/captions/{language}/compare", response_model_by_alias=True,
             summary="The captions that differ between two revisions, each naming who last changed it")
    def compare(asset_id: str, language: str, older: int | None = Query(default=None, alias="from", ge=1),
                newer: int | None = Query(default=None, alias="to", ge=1)) -> CompareOut:
        """`to` defaults to the latest revision, `from` to the one before `to`."""
        newer = newer or latest_number(asset_id, language)
        older = older or max(newer - 1, 1)
        found = editing.compare(settings, catalog, catalog.get(asset_id), language, older, newer)
        return CompareOut(from_revision=older, to_revision=newer, changes=_differences(found))

    @api.get("/assets/{asset_id}/captions/{language}/revisions/{number}/compare-latest",
             response_model_by_alias=True,
             summary="What restoring this revision would change, each caption naming whose change it replaces")
    def compare_latest(asset_id: str, language: str, number: int) -> CompareOut:
        latest = latest_number(asset_id, language)
        found = editing.compare(settings, catalog, catalog.get(asset_id), language, latest, number)
        return CompareOut(from_revision=latest, to_revision=number, changes=_differences(found))

    @api.post("/assets/{asset_id}/captions/{language}/revisions/{number}/restore",
              summary="Bring back an earlier revision's captions (those in ids, or all) as a new revision")
    def restore_revision(asset_id: str, language: str, number: int, body: RestoreBody) -> SavedOut:
        asset = catalog.get(asset_id)
        saved = editing.restore(settings, catalog, asset, language, number, body.base_revision, body.author,
                                body.ids)
        return saved_out(asset.id, language, saved)

    @api.post("/assets/{asset_id}/captions/{language}/import",
              summary="A .vtt or .srt file edited elsewhere: preview what it changes, or save it as a new revision")
    def import_captions(asset_id: str, language: str, body: ImportBody) -> Any:
        asset = catalog.get(asset_id)
        data = body.content.encode()
        if body.preview:
            found = editing.import_preview(settings, catalog, asset, body.name, data, body.base_revision, language)
            return {"changes": [d.model_dump() for d in _differences(found)]}
        saved = editing.import_file(settings, catalog, asset, body.name, data, body.author, body.base_revision,
                                    language, body.ids)
        return saved_out(asset.id, language, saved)

    @api.get("/assets/{asset_id}/events", summary="The asset's history: states, approvals, decisions, oldest first")
    def list_events(asset_id: str) -> list[dict[str, Any]]:
        return [{"at": e.at, "state": e.state.value, "detail": e.detail}
                for e in catalog.events(catalog.get(asset_id).id)]

    @api.get("/assets/{asset_id}/captions/{language}/comments", summary="Reviewers' notes on captions")
    def list_comments(asset_id: str, language: str) -> list[CommentOut]:
        return [CommentOut(**_comment(c)) for c in comments.listed(catalog, catalog.get(asset_id), language)]

    @api.post("/assets/{asset_id}/captions/{language}/comments", summary="Leave a note on one caption")
    def add_comment(asset_id: str, language: str, body: CommentBody) -> CommentOut:
        made = comments.add(catalog, catalog.get(asset_id), language, body.cue_id, body.author, body.text)
        return CommentOut(**_comment(made))

    @api.post("/assets/{asset_id}/captions/{language}/comments/{comment_id}/resolve",
              summary="Mark a note on a caption as dealt with")
    def resolve_comment(asset_id: str, language: str, comment_id: str, body: ResolveBody) -> CommentOut:
        done = comments.resolve(catalog, catalog.get(asset_id), language, comment_id, body.author)
        return CommentOut(**_comment(done))

    @api.post("/assets/{asset_id}/request-changes", summary="Send the captions back with a note")
    def request_changes(asset_id: str, body: ChangesBody) -> dict[str, Any]:
        asset = review.request_changes(settings, catalog, catalog.get(asset_id), body.reviewer, body.note)
        return {"id": asset.id, "state": asset.state.value, "status": review.Status.CHANGES_REQUESTED.value}

    @api.get("/assets/{asset_id}/waveform", summary="Audio peak levels (0-100) for the editor's waveform")
    def get_waveform(asset_id: str) -> dict[str, Any]:
        made = waveform.waveform(settings, catalog, catalog.get(asset_id))
        return {"peaks_per_second": made.peaks_per_second, "peaks": made.peaks}

    return api
