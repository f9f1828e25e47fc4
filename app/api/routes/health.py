"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import StateDep

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: the process answers",
            responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}})
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness: database reachable, road network and fleet records loaded",
    description="`200` when every check passes, else `503` with the failing checks and, when loading failed, "
    "the reason in `errors`.",
    responses={200: {"content": {"application/json": {"example": {
        "status": "ready", "checks": {"database": True, "network": True, "fleet": True}, "errors": {}}}}},
        503: {"description": "Still loading, or loading failed.", "content": {"application/json": {"example": {
            "status": "starting", "checks": {"database": True, "network": False, "fleet": True}, "errors": {}}}}}},
)
def ready(state: StateDep) -> JSONResponse:
    checks = {
        "database": state.store is not None and state.store.ping(),
        "network": state.network is not None,
        "fleet": state.fleet is not None,
    }
    ok = all(checks.values())
    body: dict[str, Any] = {"status": "ready" if ok else ("failed" if state.load_errors else "starting"),
                            "checks": checks, "errors": dict(state.load_errors)}
    return JSONResponse(body, status_code=200 if ok else 503)
