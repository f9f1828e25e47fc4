"""Siting sweeps: submit a grid of scenarios (each option a list), follow it, fetch its table and page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.responses import HTMLResponse
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
)

from app.api.deps import StateDep, WriteKey
from app.schemas import _annotation, problem_responses
from planner.siting.scenario import OPTIONS, Option, check_options

router = APIRouter(prefix="/siting", tags=["siting"])
SweepId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Sweep id returned by POST /siting/sweeps.")]


class _GridBase(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"budget_cny": [60e6, 80e6, 100e6], "range_margin_km": [40, 50, 60]}]})

    def grid(self) -> dict[str, list[Any]]:
        """The options given, each with its list of values."""
        return {k: v for k, v in self.model_dump(mode="json").items() if v is not None}


def _grid_field(opt: Option) -> tuple[Any, Any]:
    unit = f" Unit: {opt.unit}." if opt.unit else ""
    description = (f"Values to try for: {opt.help}.{unit} Each allowed: {opt.range_text()}. "
                   f"Omitted: the default ({opt.to_text(opt.default)}).")
    return list[_annotation(opt)] | None, Field(None, min_length=1, max_length=64, description=description)


def _check_items(value: Any, info: ValidationInfo) -> Any:
    if value is None:
        return None
    name = info.field_name or ""
    out = []
    for item in value:
        checked = check_options({name: item})[name]
        out.append(list(checked) if isinstance(checked, tuple) else checked)
    return out


#: A sweep grid: one optional list per option of ``planner.siting.scenario.OPTIONS`` (the same names,
#: units and ranges as ``ScenarioIn`` and as the comma-separated flags of ``evplan sweep``).
GridIn: type[_GridBase] = create_model(
    "GridIn",
    __base__=_GridBase,
    __doc__="A grid of scenarios: each field a list of values of that option; the sweep plans their product.",
    __validators__={"check_items": field_validator(*(o.name for o in OPTIONS))(_check_items)},
    **{o.name: _grid_field(o) for o in OPTIONS},
)


class SweepOut(BaseModel):
    """A sweep's status (and its table once it succeeded, on GET)."""

    id: str = Field(description="Sweep id (32 hex digits).")
    status: str = Field(description="queued, running, succeeded, failed or cancelled.")
    progress: float = Field(description="Fraction of points done, 0-1.")
    points: int = Field(description="Points (scenarios) of the grid.")
    points_done: int
    message: str
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    grid: dict[str, Any] = Field(description="The grid as checked.")
    reused: bool = Field(False, description="True when an earlier sweep of the same grid was returned.")
    table: dict[str, Any] | None = Field(None, description="The sweep's table (see .../table) once it succeeded.")


@router.post(
    "/sweeps",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SweepOut,
    response_model_exclude_none=False,
    summary="Submit a sweep: a grid of siting scenarios",
    description="Each field is a list of values of one scenario option; the sweep plans every combination "
    "(at most EVPLAN_MAX_SWEEP_POINTS points), each point as a Dask task and as a siting run of its own. "
    "`202` with the queued sweep, or `200` with the stored sweep of the same grid on the same inputs. "
    "Needs `X-API-Key`.",
    responses={200: {"model": SweepOut, "description": "The stored sweep of the same grid."},
               **problem_responses(400, 401, 403, 422)},
)
def submit_sweep(body: GridIn, state: StateDep, _: WriteKey, response: Response) -> dict[str, Any]:
    sweep, created = state.sweeps.submit(body.grid())
    response.headers["Location"] = f"/api/v1/siting/sweeps/{sweep.id}"
    if not created:
        response.status_code = status.HTTP_200_OK
    return {**sweep.public(), "reused": not created}


@router.get("/sweeps", response_model=list[SweepOut], summary="Siting sweeps, newest first")
def list_sweeps(state: StateDep,
                limit: Annotated[int, Query(ge=1, le=1000, description="Most sweeps to return.")] = 100,
                ) -> list[dict[str, Any]]:
    return [s.public() for s in state.store.list_sweeps(limit=limit)]


@router.get("/sweeps/{sweep_id}", response_model=SweepOut, summary="Status, progress and (when done) table of a sweep",
            responses=problem_responses(404, 422))
def get_sweep(sweep_id: SweepId, state: StateDep) -> dict[str, Any]:
    sweep = state.store.get_sweep(sweep_id)
    table = state.store.sweep_result(sweep_id, "table") if sweep.status == "succeeded" else None
    return {**sweep.public(), "table": table}


@router.delete("/sweeps/{sweep_id}", response_model=SweepOut, summary="Cancel a queued or running sweep",
               description="Stops the sweep's process and its Dask workers; finished points stay (and are reused). "
               "Needs `X-API-Key`.", responses=problem_responses(401, 403, 404, 422))
def cancel_sweep(sweep_id: SweepId, state: StateDep, _: WriteKey) -> dict[str, Any]:
    return state.sweeps.cancel(sweep_id).public()


@router.get("/sweeps/{sweep_id}/table", summary="The sweep's table (JSON, or CSV with format=csv)",
            description="One row per point: its scenario, capex per stage, chargers, people and trips covered, "
            "solver status and gap, and `run_id` (the point as a siting run). `409` while unfinished.",
            responses={200: {"description": "The table.", "content": {"application/json": {}, "text/csv": {}}},
                       **problem_responses(404, 409, 422)})
def sweep_table(sweep_id: SweepId, state: StateDep,
                format: Annotated[str, Query(pattern="^(json|csv)$", description="json or csv")] = "json") -> Any:
    table = state.store.sweep_result(sweep_id, "table")
    if format == "csv":
        from planner.sweep import csv_text

        return Response(csv_text(table["rows"]), media_type="text/csv; charset=utf-8")
    return table


@router.get("/sweeps/{sweep_id}/page", response_class=HTMLResponse, summary="The sweep's trade-off page (HTML)",
            description="Self-contained HTML: the trade-off curves as inline SVG and the table. `409` while unfinished.",
            responses=problem_responses(404, 409, 422))
def sweep_page(sweep_id: SweepId, state: StateDep) -> HTMLResponse:
    return HTMLResponse(state.store.sweep_result(sweep_id, "page"))
