"""The review app's audio description routes (#21): the descriptions track with the programme's speech, saving
(per-description changes, merged like captions' and 409 with the same conflict JSON), revisions, approval
(which makes the described soundtrack) and the WebVTT file. Routes call descriptions/track.py, nothing more.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.descriptions import speech, track
from pipeline.models import Cue, Revision
from pipeline.review.merging import Change
from pipeline.web.api import CUE_ID, MergedOut, RevisionOut, TimedText

LANGUAGE = r"^[a-z]{2,3}$"


class DescriptionChange(BaseModel):
    id: str = Field(pattern=CUE_ID)
    cue: TimedText | None = Field(description="the description as it is now (end_ms is a hint: the server sets "
                                              "it from the voice); null: deleted")


class DescriptionsSave(BaseModel):
    base_revision: int | None = Field(ge=1, description="the revision these changes were made to; null: none yet")
    author: str = Field(min_length=1, max_length=100)
    changes: list[DescriptionChange] = Field(max_length=track.MAX_CUES)


class ReviewerBody(BaseModel):
    reviewer: str = Field(min_length=1, max_length=100)
    revision: int | None = Field(default=None, ge=1, description="the revision reviewed; a later one is a 409")


class DescriptionOut(BaseModel):
    id: str
    start_ms: int
    end_ms: int
    text: str
    spoken_ms: int
    overlaps_speech: bool  # [start, end) runs into the programme's speech


class DescriptionRevisionOut(BaseModel):
    number: int
    author: str
    created_at: datetime
    summary: str


class VoiceOut(BaseModel):
    engine: str
    voice: str
    rate_wpm: int


class DescriptionsOut(BaseModel):
    asset_id: str
    language: str
    revision: DescriptionRevisionOut | None  # null: no descriptions yet
    cues: list[DescriptionOut]
    speech: list[tuple[int, int]]  # the programme's speech (voice activity), [start_ms, end_ms], sorted
    voice: VoiceOut
    state: str  # none, draft or approved
    reviewer: str | None
    approved_at: datetime | None


class DescriptionsSaved(BaseModel):
    revision: RevisionOut
    merged_with: list[MergedOut] | None
    cues: list[DescriptionOut] | None  # the whole track, only when others' changes were merged in
    state: str


class ApprovedOut(BaseModel):
    state: str
    reviewer: str | None
    approved_at: datetime | None


def _summary(r: Revision) -> DescriptionRevisionOut:
    return DescriptionRevisionOut(number=r.number, author=r.author, created_at=r.created_at, summary=r.summary)


def _cue(c: Cue, found: speech.Intervals) -> DescriptionOut:
    return DescriptionOut(id=c.id, start_ms=c.start_ms, end_ms=c.end_ms, text=c.text, spoken_ms=c.end_ms - c.start_ms,
                          overlaps_speech=speech.overlaps(c.start_ms, c.end_ms, found))


def router(settings: Settings, catalog: Catalog) -> APIRouter:
    api = APIRouter(prefix="/api")
    d = settings.descriptions
    voice = VoiceOut(engine=d.engine, voice=d.voice, rate_wpm=d.rate_wpm)

    # Before the plain {language} route, which would otherwise take "en.vtt" as a language.
    @api.get("/assets/{asset_id}/descriptions/{language}.vtt", summary="The audio description as WebVTT")
    def descriptions_vtt(asset_id: str, language: str) -> Response:
        asset = catalog.get(asset_id)
        text = track.vtt_text(settings, catalog, asset, track.check_language(language))
        return Response(text, media_type="text/vtt; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{asset.id}.descriptions.{language}.vtt"'})

    @api.get("/assets/{asset_id}/descriptions/{language}",
             summary="The latest audio description with the programme's speech; state \"none\" before any")
    def get_descriptions(asset_id: str, language: str) -> DescriptionsOut:
        view = track.read(settings, catalog, catalog.get(asset_id), track.check_language(language))
        t = view.track
        return DescriptionsOut(asset_id=view.asset.id, language=language,
                               revision=_summary(view.revision) if view.revision else None,
                               cues=[_cue(c, view.speech) for c in view.cues], speech=view.speech, voice=voice,
                               state=view.state, reviewer=t.reviewer if t else None,
                               approved_at=t.approved_at if t else None)

    @api.put("/assets/{asset_id}/descriptions/{language}",
             summary="Save changed descriptions as a new revision, merged per description with anything saved "
                     "since base_revision; 409 (nothing saved) lists those both sides changed")
    def save_descriptions(asset_id: str, language: str, body: DescriptionsSave) -> DescriptionsSaved:
        asset = catalog.get(asset_id)
        changes = [Change(c.id, None if c.cue is None else Cue(c.cue.start_ms, c.cue.end_ms, c.cue.text, c.id))
                   for c in body.changes]
        saved = track.save_changes(settings, catalog, asset, track.check_language(language), body.base_revision,
                                   body.author, changes)
        view = track.read(settings, catalog, asset, language)
        merged = [MergedOut(number=n, author=a) for n, a in saved.merged_with] or None
        made = saved.revision
        return DescriptionsSaved(
            revision=RevisionOut(number=made.number, author=made.author, created_at=made.created_at,
                                 summary=made.summary, cues_changed=made.cues_changed),
            merged_with=merged, cues=[_cue(c, view.speech) for c in made.cues], state=view.state)

    @api.get("/assets/{asset_id}/descriptions/{language}/revisions", summary="Revision history, newest first")
    def description_revisions(asset_id: str, language: str) -> list[RevisionOut]:
        asset = catalog.get(asset_id)
        return [RevisionOut(number=r.number, author=r.author, created_at=r.created_at, summary=r.summary,
                            cues_changed=r.cues_changed)
                for r in catalog.description_history(asset.id, track.check_language(language))]

    @api.post("/assets/{asset_id}/descriptions/{language}/approve",
              summary="Approve the descriptions: the described soundtrack and MP4 are made for the next publish")
    def approve_descriptions(asset_id: str, language: str, body: ReviewerBody) -> ApprovedOut:
        made = track.approve(settings, catalog, catalog.get(asset_id), track.check_language(language),
                             body.reviewer, body.revision)
        return ApprovedOut(state=made.state.value, reviewer=made.reviewer, approved_at=made.approved_at)

    return api
