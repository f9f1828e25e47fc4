"""Fleet records: upload, indicators (new-energy shares, operating CO2 intensity) and target status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from app import derived, fleet_records
from app.api.deps import FleetDep, StateDep, WriteKey
from app.schemas import problem_responses
from app.uploads import receive_upload
from planner.errors import NotFoundError

router = APIRouter(prefix="/fleet", tags=["fleet"])

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "Vehicle records: CSV, gzipped CSV or Parquet; UTF-8, UTF-8 with BOM or GBK.",
                        }
                    },
                }
            }
        },
    }
}

INGEST_EXAMPLE = {
    "file": "vehicles_2025.csv", "sha256": "5f0c…", "ingest_id": 3, "already_ingested": False,
    "ingested_at": "2025-05-01T07:00:00+00:00", "encoding": "utf-8", "format": "csv", "rows": 1000,
    "added": 990, "updated": 8, "unchanged": 0, "quarantined": 2, "extra_columns": [],
    "issues": [{"file": "vehicles_2025.csv", "row": 17, "field": "powertrain", "value": "EVX",
                "reason": "expected one of BEV, PHEV, FCEV, CNG, LNG, petrol, diesel"}],
    "issues_not_listed": 0, "notes": [], "size_bytes": 48213, "records_source": "store",
}


@router.post(
    "/records",
    summary="Upload vehicle records (CSV, CSV.GZ or Parquet); returns the ingest report with per-row errors",
    description="The file is streamed to disk and refused with 413 as soon as it passes EVPLAN_MAX_UPLOAD_MB. "
    "Good rows are stored, bad rows are quarantined and listed in `issues` (file, row, field, value, reason). "
    "Ingesting the same file twice stores nothing new. From the first upload on, indicators, targets and "
    "reports read the stored records instead of the shipped ones. Needs `X-API-Key`.",
    openapi_extra=UPLOAD_BODY,
    responses={200: {"content": {"application/json": {"example": INGEST_EXAMPLE}}},
               **problem_responses(400, 401, 403, 413, 415, 422),
               408: {**problem_responses(408)[408],
                     "description": "The body did not arrive within EVPLAN_UPLOAD_RECEIVE_TIME_LIMIT_S."}},
)
async def upload_records(request: Request, state: StateDep, _: WriteKey) -> dict[str, Any]:
    settings = state.settings
    saved = await receive_upload(request, directory=settings.upload_dir, max_bytes=settings.max_upload_bytes,
                                 max_decompressed_bytes=settings.max_decompressed_bytes,
                                 time_limit_s=settings.upload_receive_time_limit_s)
    return await run_in_threadpool(fleet_records.ingest_upload, state, saved)


@router.get(
    "/indicators",
    summary="Indicators for one year, city-wide or for one county",
    description="New-energy shares of the bus and taxi stock, of new vehicles and of new passenger cars "
    "(fractions 0-1, null when there is nothing to divide by) and operating CO2 per converted turnover. "
    "`records_source` says whether the uploaded (`store`) or the shipped (`shipped`) records were used. "
    "`404` for a county with no vehicles in the records.",
    responses={200: {"content": {"application/json": {"example": {
        "year": 2024, "county": None, "records_source": "shipped", "ne_bus_share": 0.93, "buses": 612,
        "ne_buses": 569, "ne_taxi_share": 0.41, "operating_co2_per_converted_turnover": 0.061}}}},
        **problem_responses(400, 404, 422, 503)},
)
def indicators(
    state: StateDep,
    records: FleetDep,
    year: Annotated[int, Query(ge=1990, le=2100, description="Calendar year (stock at 31 Dec).",
                               examples=[2024])] = 2025,
    county: Annotated[str | None, Query(pattern=r"^\d{6}$", description="6-digit county code, e.g. 441521.",
                                        examples=["441521"])] = None,
) -> dict[str, Any]:
    if county is not None and county not in state.derived.get(records, *derived.counties_figure()):
        raise NotFoundError(f"no indicators for county {county!r}: it has no vehicles in the records")
    result = state.derived.get(records, *derived.indicators_figure(year, county))
    return {**result, "records_source": state.fleet_source}


TARGETS_200 = {
    "description": "One assessment per target of the targets file.",
    "content": {"application/json": {
        "schema": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
        "example": [{"id": "ne_bus_share_2025", "indicator": "ne_bus_share", "status": "on track"}]}},
}


@router.get(
    "/targets",
    summary="Each target of the plan: status, projection to its year and the vehicles that must switch",
    description="`404` for an assessment year outside the years the records span (they say which).",
    response_class=Response,
    responses={200: TARGETS_200, **problem_responses(400, 404, 422, 503)},
)
def targets(
    state: StateDep,
    records: FleetDep,
    year: Annotated[int | None, Query(ge=1990, le=2100,
                                      description="Assessment year; default: the latest year in the records.")] = None,
) -> Response:
    if year is not None:
        span = state.derived.get(records, *derived.record_years_figure())
        if span is None or not span[0] <= year <= span[1]:
            held = f"the records span {span[0]}-{span[1]}" if span else "the records span no year"
            raise NotFoundError(f"no target assessment for {year}: {held}")
    # Served as the bytes encoded once for this version of the records (a large answer is not re-encoded).
    body = state.derived.get(records, *derived.targets_figure(state.settings.fleet_dir, year))
    return Response(body, media_type="application/json")
