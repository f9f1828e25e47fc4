"""Fleet indicators: new-energy shares and operating CO2 intensity."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.deps import StateDep
from planner import fleet as planner_fleet

router = APIRouter(prefix="/fleet", tags=["fleet"])


@router.get("/indicators", summary="Indicators for one year, city-wide or for one county")
def indicators(
    state: StateDep,
    year: Annotated[int, Query(ge=1990, le=2100, description="Calendar year (stock at 31 Dec).")] = 2025,
    county: Annotated[str | None, Query(pattern=r"^\d{6}$", description="6-digit county code.")] = None,
) -> dict[str, Any]:
    records = state.fleet
    return planner_fleet.indicators(records.vehicles, records.activity, year=year, county=county)
