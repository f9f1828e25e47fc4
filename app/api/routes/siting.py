"""Siting runs: submit a scenario, follow it, cancel it, fetch its maps and summary."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from app.api.deps import StateDep, WriteKey
from app.schemas import GeoJSONResponse, RunOut, ScenarioIn, geojson_responses, problem_responses

router = APIRouter(prefix="/siting", tags=["siting"])
RunId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Run id returned by POST /siting/runs.")]
RESULT_ERRORS = problem_responses(404, 409, 422)


@router.post(
    "/runs",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunOut,
    summary="Submit a siting scenario",
    description="Queues the scenario (`202`, the run computes in a worker process) or, when the same scenario "
    "on the same input files was submitted before and did not fail, returns that run (`200`, `reused: true`). "
    "Follow the run at the `Location` URL. Needs `X-API-Key`.",
    responses={200: {"model": RunOut, "description": "The stored run of the same scenario."},
               **problem_responses(400, 401, 403, 422)},
)
def submit_run(scenario: ScenarioIn, state: StateDep, _: WriteKey, response: Response) -> dict[str, Any]:
    scenario.to_scenario()  # the checks between a section's values (ScenarioError: 422) before anything is queued
    run, created = state.runs.submit(scenario.model_dump(mode="json"))
    response.headers["Location"] = f"/api/v1/siting/runs/{run.id}"
    if not created:
        response.status_code = status.HTTP_200_OK
    return {**run.public(), "reused": not created}


@router.get("/runs", response_model=list[RunOut], summary="Siting runs, newest first")
def list_runs(
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most runs to return.")] = 100,
) -> list[dict[str, Any]]:
    return [r.public() for r in state.store.list_runs(limit=limit)]


@router.get("/runs/{run_id}", response_model=RunOut, summary="Status and progress of one run",
            responses=problem_responses(404, 422))
def get_run(run_id: RunId, state: StateDep) -> dict[str, Any]:
    return state.store.get_run(run_id).public()


@router.delete(
    "/runs/{run_id}",
    response_model=RunOut,
    summary="Cancel a queued or running run",
    description="Stops the run's worker process; the run becomes `cancelled`. A finished run is returned "
    "unchanged. Needs `X-API-Key`.",
    responses=problem_responses(401, 403, 404, 422),
)
def cancel_run(run_id: RunId, state: StateDep, _: WriteKey) -> dict[str, Any]:
    return state.runs.cancel(run_id).public()


@router.get(
    "/runs/{run_id}/sites",
    summary="Opened sites of a finished run (GeoJSON)",
    description="One Point per site: `stage` (year it opens), `chargers` and `power_kw` in the final stage, "
    "`cost_cny`, `kind`, and `service_area_id`/`side` for service-area sites. `409` while the run is unfinished.",
    response_class=GeoJSONResponse,
    responses={**geojson_responses({"site_id": "sa:sa-001:east", "kind": "service_area", "name": "海丰服务区",
                                    "stage": 2025, "chargers": 6, "power_kw": 720.0, "cost_cny": 2400000.0,
                                    "service_area_id": "sa-001", "side": "east"}),
               **RESULT_ERRORS},
)
def run_sites(run_id: RunId, state: StateDep) -> GeoJSONResponse:
    return GeoJSONResponse(state.store.result(run_id, "sites"))


@router.get(
    "/runs/{run_id}/coverage",
    summary="Town coverage of a finished run (GeoJSON)",
    description="One Point per town: `covered` in the final stage and `minutes_to_nearest` public charger.",
    response_class=GeoJSONResponse,
    responses={**geojson_responses({"town_id": "town:123", "name": "Kedi", "covered": True,
                                    "minutes_to_nearest": 12.5, "drive_time_threshold_min": 30.0}),
               **RESULT_ERRORS},
)
def run_coverage(run_id: RunId, state: StateDep) -> GeoJSONResponse:
    return GeoJSONResponse(state.store.result(run_id, "coverage"))


@router.get("/runs/{run_id}/summary", summary="Sites, chargers, cost and coverage per stage (JSON)",
            responses=RESULT_ERRORS)
def run_summary(run_id: RunId, state: StateDep) -> dict[str, Any]:
    return state.store.result(run_id, "summary")
