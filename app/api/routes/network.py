"""Road network maps as GeoJSON (RFC 7946, WGS84 lon/lat)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import StateDep
from planner import network as planner_network

router = APIRouter(prefix="/network", tags=["network"])


@router.get("/service-areas", summary="Expressway service areas, one Point per carriageway side")
def service_areas(state: StateDep) -> dict[str, Any]:
    return planner_network.service_areas_geojson(state.network)
