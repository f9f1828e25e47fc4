"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import StateDep

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: the process answers")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: road network and fleet records are loaded")
def ready(state: StateDep) -> JSONResponse:
    checks = {"network": state.network is not None, "fleet": state.fleet is not None}
    ok = all(checks.values())
    return JSONResponse({"status": "ready" if ok else "starting", "checks": checks}, status_code=200 if ok else 503)
