"""Builds the FastAPI app: settings, start-up loading, routers, error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import problems
from app.api.deps import ServiceState
from app.api.routes import fleet, health, network
from app.core.config import Settings, get_settings
from planner import __version__
from planner import fleet as planner_fleet
from planner import network as planner_network


def create_app(settings: Settings | None = None) -> FastAPI:
    """The evplan service; tests pass their own ``settings``."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state: ServiceState = app.state.evplan
        state.settings.data_dir.mkdir(parents=True, exist_ok=True)
        state.network = planner_network.load_network(state.settings.osm_path)
        state.fleet = planner_fleet.load_records(state.settings.fleet_dir)
        yield

    app = FastAPI(
        title="evplan",
        version=__version__,
        summary="Fast-charger siting and new-energy fleet tracking for transport bureaus",
        lifespan=lifespan,
    )
    app.state.evplan = ServiceState(settings=settings)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"], allow_headers=["*"])
    problems.install(app)
    app.include_router(health.router)
    app.include_router(network.router, prefix="/api/v1")
    app.include_router(fleet.router, prefix="/api/v1")
    return app

