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
    summary="Readiness: database readable, disk not full, road network and fleet records loaded",
    description="`200` when every check passes, else `503` with the failing checks: `status` is `starting` "
    "while loading, `failed` when a check failed for a known reason, given in `errors` (a load error, a "
    "database that cannot be read, or a full disk under the data directory, which makes writes answer 503).",
    responses={200: {"content": {"application/json": {"example": {
        "status": "ready", "checks": {"database": True, "network": True, "fleet": True}, "errors": {}}}}},
        503: {"description": "Still loading, loading failed, or the database or its disk cannot serve.",
              "content": {"application/json": {"example": {
                  "status": "failed", "checks": {"database": False, "network": True, "fleet": True},
                  "errors": {"database": "the disk holding EVPLAN_DATA_DIR is full (0 bytes free): writes answer "
                                         "503 until space is freed; stored data is still served"}}}}}},
)
def ready(state: StateDep) -> JSONResponse:
    errors = dict(state.load_errors)
    database_problem = state.store.problem() if state.store is not None else None
    if database_problem:
        errors["database"] = state.settings.public_text(database_problem)
    checks = {
        "database": state.store is not None and database_problem is None,
        "network": state.network is not None,
        "fleet": state.fleet is not None,
    }
    ok = all(checks.values())
    body: dict[str, Any] = {"status": "ready" if ok else ("failed" if errors else "starting"),
                            "checks": checks, "errors": errors}
    return JSONResponse(body, status_code=200 if ok else 503, headers=None if ok else {"Retry-After": "5"})
