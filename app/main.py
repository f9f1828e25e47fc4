"""Builds the FastAPI app: settings, start-up loading, routers, error mapping.

``evplan serve`` and the Docker image both run ``uvicorn app.main:create_app --factory``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import xstatic.pkg.leaflet as xstatic_leaflet
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import fleet_records, problems
from app.api.deps import ServiceState, require_read_key
from app.api.routes import fleet, health, network, pages, reports, siting, sweeps
from app.api.routes.pages import SWAGGER_UI_DIR, SWAGGER_UI_URL, WEB_DIR
from app.core.config import Settings, get_settings
from app.reports import ReportService
from app.runs import RunManager
from app.sweeps import SweepManager
from app.store import Store, data_dir_lock
from planner import __version__
from planner import network as planner_network
from planner.errors import EvplanError

log = logging.getLogger("evplan.app")

OPENAPI_TAGS = [
    {"name": "siting", "description": "Submit siting scenarios and fetch their sites, coverage and summary."},
    {"name": "network", "description": "The road network and its service areas as GeoJSON."},
    {"name": "fleet", "description": "Fleet records: upload, new-energy indicators, target status."},
    {"name": "reports", "description": "Fleet-share reports made on a schedule and on demand."},
    {"name": "health", "description": "Liveness and readiness probes."},
]


class TimeoutMiddleware:
    """Answer ``504`` problem+json when a request takes longer than ``timeout_s`` (pure ASGI).

    Work handed to a thread finishes in the background; the client gets its answer on time.
    """

    def __init__(self, app: ASGIApp, timeout_s: float, exempt_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.timeout_s = timeout_s
        self.exempt_paths = exempt_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, receive, send_tracking), timeout=self.timeout_s)
        except TimeoutError:
            if started:
                raise
            response = problems.problem(504, "Gateway Timeout",
                                        f"the request took longer than {self.timeout_s:g} s (EVPLAN_REQUEST_TIMEOUT_S)",
                                        instance=scope.get("path"))
            await response(scope, receive, send)


#: Endpoints that take a file: their bodies are bounded by EVPLAN_MAX_UPLOAD_MB (app/uploads.py) instead of the
#: JSON limit, and their time by the ingest budget (EVPLAN_INGEST_TIME_LIMIT_S) instead of the request timeout.
UPLOAD_PATHS = frozenset({"/api/v1/fleet/records"})


class BodyTooLargeError(StarletteHTTPException):
    """A request body passed the limit while it was read; answered as a 413 problem."""


class BodyLimitMiddleware:
    """Refuse a request body over ``max_bytes`` with ``413`` problem+json before any of it is parsed (pure ASGI).

    A declared Content-Length over the limit is answered from the headers alone; a chunked (or
    under-declared) body is counted as it streams in and refused at the first chunk past the limit, so
    no more than the limit plus one chunk is ever held. The connection is closed rather than drained.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, exempt_paths: frozenset[str] = frozenset(),
                 setting: str = "EVPLAN_MAX_JSON_BODY_MB") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_paths = exempt_paths
        self.detail = (f"the request body is larger than the limit of {max_bytes / 1e6:g} MB ({setting}); "
                       "nothing was read")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises an HTTPException met while reading the body: the problem handler answers.
                    raise BodyTooLargeError(413, self.detail, headers={"Connection": "close"})
            return message

        async def send_tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, send_tracking)
        except BodyTooLargeError:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problems.problem(413, "Content Too Large", self.detail, instance=scope.get("path"),
                                    headers={"Connection": "close"})
        await response(scope, receive, send)


def read_geojson(path: Path) -> dict[str, Any]:
    """A GeoJSON FeatureCollection from a file (the admin boundaries drawn under the map)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ValueError(f"{path}: expected a GeoJSON FeatureCollection")
    return data


async def _load(state: ServiceState) -> None:
    """Load the road network and the fleet records off the event loop; record why if one fails."""
    settings = state.settings
    try:
        state.network = await asyncio.to_thread(planner_network.load_network, settings.osm_path)
    except EvplanError as exc:  # a bad or missing file: its message says it all, no traceback needed
        log.error("loading the road network failed: %s", exc)
        state.load_errors["network"] = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - reported by /ready, the service stays up for the rest
        log.exception("loading the road network failed")
        state.load_errors["network"] = f"{type(exc).__name__}: {exc}"
    if settings.boundaries_path.is_file():
        try:
            state.boundaries = await asyncio.to_thread(read_geojson, settings.boundaries_path)
        except (OSError, ValueError) as exc:
            log.warning("admin boundaries not loaded from %s: %s", settings.boundaries_path, exc)
    try:
        await asyncio.to_thread(fleet_records.reload_records, state)
    except EvplanError as exc:
        log.error("loading the fleet records failed: %s", exc)
        state.load_errors["fleet"] = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001
        log.exception("loading the fleet records failed")
        state.load_errors["fleet"] = f"{type(exc).__name__}: {exc}"


def _openapi_with_problems(app: FastAPI, *, read_requires_key: bool) -> None:
    """Document every 4xx/5xx answer as the problem+json the service really sends (not FastAPI's default).

    Reads declare the API key only when EVPLAN_READ_REQUIRES_KEY makes them check it (with their
    401/403 answers); otherwise a client, or a fuzzer, would rightly expect them to refuse keyless calls.
    """
    from fastapi.openapi.utils import get_openapi

    from app.schemas import Problem, problem_responses

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, summary=app.summary, description=app.description,
                           routes=app.routes, tags=app.openapi_tags)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
        for defn_name, defn in Problem.model_json_schema(ref_template="#/components/schemas/{model}").get("$defs", {}).items():
            schemas.setdefault(defn_name, defn)
        schemas["Problem"].pop("$defs", None)
        ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
        auth_errors = {str(s): {"description": r["description"]} for s, r in problem_responses(401, 403).items()}
        for ops in spec.get("paths", {}).values():
            for method, op in ops.items():
                if method == "get" and "security" in op:
                    if read_requires_key:
                        for status, response in auth_errors.items():
                            op.setdefault("responses", {}).setdefault(status, dict(response))
                    else:
                        del op["security"]
                for status, response in op.get("responses", {}).items():
                    if status.startswith(("4", "5")):
                        response["content"] = {"application/problem+json": ref}
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The evplan service; tests pass their own ``settings``."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state: ServiceState = app.state.evplan
        with data_dir_lock(settings.data_dir):  # one service process per data directory
            # Uploads left by a process that died mid-ingest: their ingest never committed.
            for stale in settings.upload_dir.glob("upload-*"):
                stale.unlink(missing_ok=True)
            state.store = Store(settings.database_path)
            state.runs = RunManager(
                state.store,
                osm_path=settings.osm_path,
                fleet_dir=settings.fleet_dir,
                max_concurrent=settings.max_concurrent_runs,
                time_limit_s=settings.run_time_limit_s,
            )
            state.runs.start()
            state.sweeps = SweepManager(
                state.store, osm_path=settings.osm_path, fleet_dir=settings.fleet_dir,
                max_points=settings.max_sweep_points, workers=settings.sweep_workers,
                scheduler=settings.dask_scheduler, time_limit_s=settings.sweep_time_limit_s,
            )
            state.sweeps.start()
            state.reports = ReportService(state.store, lambda: state.fleet, cron=settings.report_cron,
                                          timezone=settings.report_timezone, fleet_dir=settings.fleet_dir,
                                          time_limit_s=settings.report_time_limit_s)
            state.reports.start()
            # Loading takes seconds: it runs in the background so /health answers at once and /ready says
            # when the service can plan; endpoints that need the data answer 503 until then.
            loading = asyncio.create_task(_load(state))
            try:
                yield
            finally:
                loading.cancel()
                state.reports.stop()
                state.sweeps.stop()
                state.runs.stop()
                state.store.close()

    app = FastAPI(
        title="evplan",
        version=__version__,
        summary="Fast-charger siting and new-energy fleet tracking for transport bureaus",
        description="Siting runs, GeoJSON maps (RFC 7946, WGS84 lon/lat), fleet-share indicators and reports. "
        "Writes need an `X-API-Key` (reads too when EVPLAN_READ_REQUIRES_KEY is set). "
        "Errors are RFC 9457 problem details (`application/problem+json`) with field-level `errors`.",
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
        docs_url=None,  # served by app/api/routes/pages.py from a local Swagger UI (the default uses a CDN)
        redoc_url=None,
    )
    app.state.evplan = ServiceState(settings=settings, key_hashes=settings.api_key_hashes())
    # Every body is bounded before it is parsed: JSON by EVPLAN_MAX_JSON_BODY_MB, uploads by EVPLAN_MAX_UPLOAD_MB.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_json_body_bytes, exempt_paths=UPLOAD_PATHS)
    # An upload is bounded by EVPLAN_MAX_UPLOAD_MB and EVPLAN_INGEST_TIME_LIMIT_S instead: a slow link must not
    # turn it into a 504 while its ingest goes on committing in the background.
    app.add_middleware(TimeoutMiddleware, timeout_s=settings.request_timeout_s, exempt_paths=UPLOAD_PATHS)
    if settings.cors_origin_list:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origin_list,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["X-API-Key", "Content-Type"],
                           expose_headers=["Location"])

    problems.install(app)
    app.include_router(health.router)
    app.include_router(pages.router)
    for router in (siting.router, sweeps.router, network.router, fleet.router, reports.router):
        app.include_router(router, prefix="/api/v1", dependencies=[Depends(require_read_key)])
    app.mount("/static/leaflet", StaticFiles(directory=xstatic_leaflet.BASE_DIR), name="leaflet")
    app.mount(SWAGGER_UI_URL, StaticFiles(directory=SWAGGER_UI_DIR), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="web")
    _openapi_with_problems(app, read_requires_key=settings.read_requires_key)
    return app
