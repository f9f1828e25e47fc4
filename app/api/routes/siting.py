"""Siting runs: submit a scenario, follow it, cancel it, fetch its maps and summary."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from app.api.deps import StateDep, WriteKey
from app.schemas import RunOut, ScenarioIn

router = APIRouter(prefix="/siting", tags=["siting"])
RunId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Run id returned by POST /siting/runs.")]


@router.post("/runs", status_code=status.HTTP_202_ACCEPTED, response_model=RunOut,
             summary="Submit a siting scenario; the same scenario on the same data returns the stored run")
def submit_run(scenario: ScenarioIn, state: StateDep, _: WriteKey, response: Response) -> dict[str, Any]:
    run, created = state.runs.submit(scenario.model_dump(mode="json"))
    response.headers["Location"] = f"/api/v1/siting/runs/{run.id}"
    return {**run.public(), "reused": not created}


@router.get("/runs", response_model=list[RunOut], summary="Siting runs, newest first")
def list_runs(state: StateDep) -> list[dict[str, Any]]:
    return [r.public() for r in state.store.list_runs()]


@router.get("/runs/{run_id}", response_model=RunOut, summary="Status and progress of one run")
def get_run(run_id: RunId, state: StateDep) -> dict[str, Any]:
    return state.store.get_run(run_id).public()


@router.delete("/runs/{run_id}", response_model=RunOut, summary="Cancel a queued or running run")
def cancel_run(run_id: RunId, state: StateDep, _: WriteKey) -> dict[str, Any]:
    return state.runs.cancel(run_id).public()


@router.get("/runs/{run_id}/sites", summary="Opened sites of a finished run (GeoJSON)")
def run_sites(run_id: RunId, state: StateDep) -> dict[str, Any]:
    return state.store.result(run_id, "sites")


@router.get("/runs/{run_id}/coverage", summary="Town coverage of a finished run (GeoJSON)")
def run_coverage(run_id: RunId, state: StateDep) -> dict[str, Any]:
    return state.store.result(run_id, "coverage")


@router.get("/runs/{run_id}/summary", summary="Sites, chargers, cost and coverage per stage (JSON)")
def run_summary(run_id: RunId, state: StateDep) -> dict[str, Any]:
    return state.store.result(run_id, "summary")
