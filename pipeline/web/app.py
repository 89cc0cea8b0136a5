"""The review app: a queue of assets and, per asset, the video with its draft captions.

Routes validate input and call the catalog and stages, nothing more. Pages are Jinja2 templates with
autoescaping, so caption text is always shown as text. Only Host headers naming this machine are accepted
(a defence against DNS rebinding, since the app listens on 127.0.0.1 without a login).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.middleware.trustedhost import TrustedHostMiddleware

from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.errors import NotFoundError, UsageError
from pipeline.models import AssetState

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
QUEUE_ORDER = (AssetState.AWAITING_REVIEW, AssetState.APPROVED, AssetState.PUBLISHED, AssetState.PROCESSING,
               AssetState.NEW, AssetState.FAILED)


def _asset_json(catalog: Catalog, asset_id: str) -> dict[str, Any]:
    asset = catalog.get(asset_id)
    return {
        "id": asset.id, "source": asset.source, "state": asset.state.value, "duration_ms": asset.duration_ms,
        "error": asset.error,
        "renditions": [{"name": r.name, "kind": r.kind, "url": f"/media/{asset.id}/{r.path}",
                        "width": r.width, "height": r.height} for r in catalog.renditions(asset.id)],
        "captions": [{"language": t.language, "state": t.state.value, "cues": t.cue_count,
                      "url": f"/media/{asset.id}/{t.path}", "reviewer": t.reviewer}
                     for t in catalog.caption_tracks(asset.id)],
    }


def create_app(settings: Settings, catalog: Catalog) -> FastAPI:
    # No /docs page: FastAPI's loads Swagger's JavaScript from a CDN, which fails offline and would run a third
    # party's script beside the footage. The OpenAPI document is at /openapi.json.
    app = FastAPI(title="Caption review", docs_url=None, redoc_url=None)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", "testserver"])

    def lookup(asset_id: str) -> dict[str, Any]:
        try:
            return _asset_json(catalog, asset_id)
        except (NotFoundError, UsageError) as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc

    @app.get("/api/assets")
    def list_assets() -> list[dict[str, Any]]:
        return [{"id": a.id, "source": a.source, "state": a.state.value, "duration_ms": a.duration_ms}
                for a in catalog.list_assets()]

    @app.get("/api/assets/{asset_id}")
    def get_asset(asset_id: str) -> dict[str, Any]:
        return lookup(asset_id)

    @app.get("/", response_class=HTMLResponse)
    def queue(request: Request) -> HTMLResponse:
        assets = sorted(catalog.list_assets(), key=lambda a: (QUEUE_ORDER.index(a.state), a.source))
        return TEMPLATES.TemplateResponse(request, "queue.html", {"assets": assets})

    @app.get("/assets/{asset_id}", response_class=HTMLResponse)
    def asset_page(request: Request, asset_id: str) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, "asset.html", {"asset": lookup(asset_id)})

    @app.get("/media/{asset_id}/{path:path}")
    def media(asset_id: str, path: str) -> FileResponse:
        asset = lookup(asset_id)
        root = (settings.output_dir / asset["id"]).resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root) or not target.is_file() or ".partial" in target.name:
            raise HTTPException(status_code=404, detail="no such file")
        return FileResponse(target)

    return app


def serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    catalog = Catalog.open(settings.state_dir)
    print(f"Review app on http://{host}:{port}/ (Ctrl+C stops it)")
    uvicorn.run(create_app(settings, catalog), host=host, port=port, log_level="warning")
