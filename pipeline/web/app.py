"""The review app: the queue, the caption editor, and the JSON API behind them (pipeline/web/api.py).

Routes validate input, resolve the asset once and call review/, nothing more; pages and GET routes only read
(`pipeline review` repairs tracks and makes waveforms before it serves). Pages are Jinja2 templates with
autoescaping and the editor builds the page with textContent, so caption text is always shown as text.
security.Guard checks the Host header, CSRF token, sign-in and sets the Content-Security-Policy on every
response.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import swagger_ui_bundle  # type: ignore[import-untyped]
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from pipeline import runner
from pipeline.captions import guards
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.distribution import share
from pipeline.errors import ConflictError, NotFoundError, PipelineError
from pipeline.executor import Executor
from pipeline.fsutil import printable
from pipeline.models import Asset, RenditionKind
from pipeline.review import decisions as review
from pipeline.review import editing
from pipeline.stages import transcode
from pipeline.storage import open_store
from pipeline.web import api, api_descriptions, api_gate
from pipeline.web.limits import BodyLimit
from pipeline.web.security import SESSION_COOKIE, Guard

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
EDITOR_SHORT_SIDE = 480  # the editor plays the rendition nearest this size: sharp enough, light to seek in


class SessionBody(BaseModel):
    token: str


class TitleBody(BaseModel):
    title: str = Field(max_length=1000, description='e.g. "Staying safe online"; empty: the file name')


def _editor_video(catalog: Catalog, asset_id: str) -> str | None:
    """The ladder's rendition nearest EDITOR_SHORT_SIDE; until the ladder is done, the proxy (#19). Both start
    at the master's first frame, so the cue times and the waveform hold for either."""
    renditions = catalog.renditions(asset_id)
    mp4s = [r for r in renditions if r.kind is RenditionKind.MP4] or \
        [r for r in renditions if r.kind is RenditionKind.PROXY]
    if not mp4s:
        return None
    best = min(mp4s, key=lambda r: abs(min(r.width, r.height) - EDITOR_SHORT_SIDE))
    return f"/media/{asset_id}/{best.path}"


def _editor_data(settings: Settings, catalog: Catalog, asset: Asset, language: str | None) -> dict[str, Any]:
    draft = editing.read_draft(settings, catalog, asset, language)
    rules, language = draft.rules, draft.track.language
    return {
        "asset": {"id": draft.asset.id, "source": draft.asset.source, "duration_ms": draft.asset.duration_ms,
                  "state": draft.asset.state.value, "title": draft.asset.title or "",
                  "display_title": draft.asset.display_title},
        "language": language,
        "video": _editor_video(catalog, draft.asset.id),
        "words": guards.word_rows(draft.words),
        # Every number of the server's rules (quality.Rules), so the editor checks with them and not a copy.
        "rules": dataclasses.asdict(rules),
        "glossary": list(settings.captions.glossary),
        "autosave_ms": int(settings.review.autosave_seconds * 1000),
    }


def _page_links(found: review.QueuePage) -> list[tuple[int | None, str]]:
    """The queue's page numbers to link (None: a gap), each with its address, the filter kept: the first, the
    last, and two either side of this one."""
    near = {1, found.pages, *range(found.page - 2, found.page + 3)}
    numbers = sorted(n for n in near if 1 <= n <= found.pages)
    query = {"state": found.status.slug} if found.status else {}
    links: list[tuple[int | None, str]] = []
    for before, number in zip([0, *numbers], numbers, strict=False):
        if number - before > 1:
            links.append((None, ""))
        links.append((number, "/?" + urlencode({**query, "page": number})))
    return links


def _error(request: Request, exc: PipelineError) -> Response:
    body: dict[str, Any] = {"detail": str(exc)}
    if isinstance(exc, ConflictError):
        body.update(current_revision=exc.current_revision, author=exc.author, **exc.details)
    if request.url.path.startswith("/api/"):
        return JSONResponse(body, status_code=exc.http_status)
    return TEMPLATES.TemplateResponse(request, "error.html", {"message": str(exc)}, status_code=exc.http_status)


def _with_session(guard: Guard, request: Request, response: Response) -> Response:
    response.set_cookie(SESSION_COOKIE, guard.sessions.create(), max_age=int(guard.sessions.lifetime_s),
                        httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/")
    return response


def _without_session(guard: Guard, request: Request, response: Response) -> Response:
    guard.sessions.end(request.cookies.get(SESSION_COOKIE, ""))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
    return response


def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    """Which field is wrong and why, never the value sent (#16: a 200 MB body was echoed whole)."""
    problems = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))[:200]} for e in exc.errors()[:20]]
    return JSONResponse({"detail": problems}, status_code=422)


def _body_limit(settings: Settings) -> Callable[[str], int]:
    def limit_for(path: str) -> int:
        return settings.review.max_import_bytes if path.endswith("/import") else settings.review.max_body_bytes
    return limit_for


def create_app(settings: Settings, catalog: Catalog, host: str = "127.0.0.1") -> FastAPI:
    guard = Guard.for_settings(settings, host)
    # FastAPI's own /docs loads Swagger from a CDN; ours serves it from the swagger-ui-bundle package.
    app = FastAPI(title="Caption review", description="The API behind the caption review app.", docs_url=None,
                  redoc_url=None)
    app.state.guard = guard
    # Inside the guard (a BaseHTTPMiddleware, whose task group would wrap the limit's exception), and before
    # anything reads a body.
    app.add_middleware(BodyLimit, limit_for=_body_limit(settings))
    app.middleware("http")(guard.middleware)
    app.add_exception_handler(PipelineError, _error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api_gate.router(settings, catalog))  # first: its approve route is the one served
    app.include_router(api.router(settings, catalog))
    app.include_router(api_descriptions.router(settings, catalog))

    def page(request: Request, name: str, context: dict[str, Any]) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, name, {"csrf_token": guard.csrf_token, **context})

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def queue(request: Request, state: str = "", number: str = Query("1", alias="page")) -> HTMLResponse:
        """A page of the queue (#20): PAGE_SIZE rows in queue order, `?state=` one review status only."""
        status = review.parse_status(state)
        offset = review.page_offset(review.parse_page(number), review.PAGE_SIZE)
        found = review.queue_page(settings, catalog, status, review.PAGE_SIZE, offset, strict=True)
        groups = [(s, [r for r in found.rows if r.status is s]) for s in review.QUEUE_ORDER]
        ladders = {r.asset.id: transcode.ladder_note(catalog, r.asset) for r in found.rows
                   if r.asset.state in runner.REVIEWING}
        return page(request, "queue.html", {"groups": [g for g in groups if g[1]], "found": found,
                                            "total": sum(found.counts.values()), "ladders": ladders,
                                            "pages": _page_links(found), "order": review.QUEUE_ORDER})

    @app.get("/assets/{asset_id}", response_class=HTMLResponse, include_in_schema=False)
    def editor(request: Request, asset_id: str, language: str | None = None) -> HTMLResponse:
        data = _editor_data(settings, catalog, catalog.get(asset_id), language)
        return page(request, "editor.html", {"data": data, "asset": data["asset"]})

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        return page(request, "docs.html", {})

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login(request: Request, token: str = "", next: str = "/") -> Response:  # noqa: A002 (the URL's name)
        if token and guard.token_matches(token):
            # The sign-in URL `pipeline review` printed: a session, then away from the URL holding the token.
            target = next if next.startswith("/") and not next.startswith("//") else "/"
            return _with_session(guard, request, RedirectResponse(target, status_code=303))
        return page(request, "login.html", {"refused": bool(token)})

    @app.post("/api/session", summary="Sign in with the access token; sets the session cookie")
    def sign_in(request: Request, body: SessionBody) -> Response:
        if not guard.token_matches(body.token):
            return JSONResponse({"detail": "that is not the access token; ask whoever runs the review app"},
                                status_code=401)
        return _with_session(guard, request, JSONResponse({"signed_in": True}))

    @app.delete("/api/session", summary="Sign out: this browser's session ends")
    def sign_out(request: Request) -> Response:
        return _without_session(guard, request, JSONResponse({"signed_in": False}))

    @app.get("/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        # A plain link, no script: the cookie is SameSite=Strict, so another site cannot sign anyone out.
        return _without_session(guard, request, RedirectResponse("/login", status_code=303))

    @app.put("/api/assets/{asset_id}/title", summary="Set the title share pages and exports show (#17)")
    def set_title(asset_id: str, body: TitleBody) -> dict[str, Any]:
        asset = catalog.get(asset_id)
        pages = share.retitle(settings, catalog, asset, body.title, lambda: open_store(settings))
        return {"title": catalog.get(asset.id).display_title, "refreshed_share_pages": pages}

    @app.get("/media/{asset_id}/{path:path}", include_in_schema=False)
    def media(asset_id: str, path: str) -> FileResponse:
        asset = catalog.get(asset_id)
        root = (settings.output_dir / asset.id).resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root) or not target.is_file() or ".partial" in target.name \
                or target.name.startswith("."):
            raise NotFoundError("no such file")
        return FileResponse(target)

    return app


def serve(executor: Executor, host: str, port: int) -> None:
    import uvicorn

    settings, catalog = executor.settings, executor.catalog
    fetched = executor.bring_back()  # reviewers edit files on this machine: what workers made comes first (#8)
    if fetched:
        print(f"{fetched} files brought from the work bucket; `pipeline pull` brings assets finished later")
    app = create_app(settings, catalog, host)  # refuses a network address without an access token
    for problem in review.prepare_workspace(settings, catalog):  # the pages only read: repairs happen here
        print(f"pipeline: not prepared for review: {printable(str(problem))}", file=sys.stderr)
    shown = f"[{host}]" if ":" in host else host
    if app.state.guard.token_generated:
        print(f"Review app on http://{shown}:{port}/ (Ctrl+C stops it); sign in by opening\n"
              f"    http://{shown}:{port}{app.state.guard.sign_in_path()}", flush=True)
    else:
        print(f"Review app on http://{shown}:{port}/ (Ctrl+C stops it); sign in with the access token",
              flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
