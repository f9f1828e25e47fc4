"""Builds the FastAPI app: settings, start-up loading, routers, error mapping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import xstatic.pkg.leaflet as xstatic_leaflet
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from app import problems
from app.api.deps import ServiceState
from app.api.routes import fleet, health, network, pages, siting
from app.api.routes.pages import WEB_DIR
from app.core.config import Settings, get_settings
from app.runs import RunManager
from app.store import Store
from planner import __version__
from planner import fleet as planner_fleet
from planner import network as planner_network


def create_app(settings: Settings | None = None) -> FastAPI:
    """The evplan service; tests pass their own ``settings``."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state: ServiceState = app.state.evplan
        state.store = Store(settings.database_path)
        state.runs = RunManager(
            state.store,
            osm_path=settings.osm_path,
            fleet_dir=settings.fleet_dir,
            max_concurrent=settings.max_concurrent_runs,
            time_limit_s=settings.run_time_limit_s,
        )
        state.runs.start()
        # Loading takes seconds: do it off the event loop so /health answers meanwhile.
        state.network = await asyncio.to_thread(planner_network.load_network, settings.osm_path)
        state.fleet = await asyncio.to_thread(planner_fleet.load_records, settings.fleet_dir)
        try:
            yield
        finally:
            state.runs.stop()

    app = FastAPI(
        title="evplan",
        version=__version__,
        summary="Fast-charger siting and new-energy fleet tracking for transport bureaus",
        description="Siting runs, GeoJSON maps (RFC 7946, WGS84 lon/lat) and fleet-share indicators. "
        "Writes need an `X-API-Key`. Errors are RFC 9457 problem details.",
        lifespan=lifespan,
    )
    app.state.evplan = ServiceState(settings=settings, key_hashes=settings.api_key_hashes())
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"], allow_headers=["*"])

    @app.middleware("http")
    async def timeout(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        try:
            return await asyncio.wait_for(call_next(request), timeout=settings.request_timeout_s)
        except TimeoutError:
            return problems.problem(504, "Request timeout", f"the request took longer than {settings.request_timeout_s:g} s")

    problems.install(app)
    app.include_router(health.router)
    app.include_router(pages.router)
    for router in (network.router, fleet.router, siting.router):
        app.include_router(router, prefix="/api/v1")
    app.mount("/static/leaflet", StaticFiles(directory=xstatic_leaflet.BASE_DIR), name="leaflet")
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="web")
    return app
