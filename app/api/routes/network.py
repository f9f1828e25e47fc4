"""Road network maps as GeoJSON (RFC 7946, WGS84 lon/lat)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from app.api.deps import StateDep
from planner import network as planner_network

router = APIRouter(prefix="/network", tags=["network"])


@router.get("/service-areas", summary="Expressway service areas, one Point per carriageway side")
def service_areas(state: StateDep) -> dict[str, Any]:
    return planner_network.service_areas_geojson(state.network)


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise HTTPException(422, f"bbox: expected west,south,east,north in degrees, got {text!r}") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise HTTPException(422, f"bbox: expected west < east and south < north within WGS84 bounds, got {text!r}")
    return (w, s, e, n)


@router.get("/roads", summary="Road edges as LineStrings, filtered by class and bounding box")
def roads(
    state: StateDep,
    road_class: Annotated[
        str | None,
        Query(alias="class", pattern=r"^[a-z_]+(,[a-z_]+)*$",
              description="Comma-separated OSM highway classes, e.g. motorway,trunk.", examples=["motorway"]),
    ] = None,
    bbox: Annotated[
        str | None, Query(description="west,south,east,north in WGS84 degrees.", examples=["115.0,22.7,115.6,23.1"])
    ] = None,
) -> dict[str, Any]:
    classes = road_class.split(",") if road_class else None
    return planner_network.roads_geojson(state.network.graph, classes=classes, bbox=_bbox(bbox))
