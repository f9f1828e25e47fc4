"""The map page, the API docs page and their static files, all served locally: no CDN, works offline.

Leaflet comes from xstatic-leaflet and Swagger UI 5 (which reads the OpenAPI 3.1 schema FastAPI writes)
from the static files of fastapi-offline (both Python packages), so a bureau's machine without internet
access shows the map and ``/docs`` all the same.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
#: Swagger UI's script and styles as fastapi-offline ships them, and where ``app.main`` mounts them.
SWAGGER_UI_DIR = str(files("fastapi_offline") / "static")
SWAGGER_UI_URL = "/static/swagger-ui"

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", media_type="text/html")


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    """Swagger UI for the service's OpenAPI schema, from the local copy of its script and styles."""
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} API",
        swagger_js_url=f"{SWAGGER_UI_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI_URL}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_UI_URL}/favicon.png",
    )
