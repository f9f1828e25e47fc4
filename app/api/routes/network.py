"""Road network maps as GeoJSON (RFC 7946, WGS84 lon/lat)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.exceptions import RequestValidationError

from app.api.deps import NetworkDep, StateDep
from app.schemas import (
    PROBLEM_RESPONSES,
    GeoJSONResponse,
    geojson_responses,
    problem_responses,
)
from planner import geo
from planner import network as planner_network

router = APIRouter(prefix="/network", tags=["network"])


@router.get(
    "/service-areas",
    summary="Expressway service areas, one Point per carriageway side",
    description="Snapped sides have `snapped: true`; service areas that could not be placed on the network "
    "are listed with `snapped: false`.",
    response_class=GeoJSONResponse,
    responses={**geojson_responses({"id": "sa-001", "name": "Haifeng service area", "name_zh": "海丰服务区",
                                    "side": "east", "status": "active", "snapped": True,
                                    "location_approximate": False}),
               **PROBLEM_RESPONSES},
)
def service_areas(network: NetworkDep) -> GeoJSONResponse:
    return GeoJSONResponse(planner_network.service_areas_geojson(network))


_LON = r"-?(180(\.0+)?|(1[0-7][0-9]|[0-9]{1,2})(\.[0-9]+)?)"
_LAT = r"-?(90(\.0+)?|[0-8]?[0-9](\.[0-9]+)?)"
#: Four decimal degrees in their WGS84 ranges; that west < east and south < north is checked on top (422).
BBOX_PATTERN = f"^{_LON},{_LAT},{_LON},{_LAT}$"


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``west,south,east,north`` in WGS84 degrees, or a 422 naming the ``bbox`` field."""
    if text is None:
        return None
    if not re.fullmatch(BBOX_PATTERN, text):  # the schema's pattern, checked here to name the value given
        raise RequestValidationError([{"loc": ("query", "bbox"), "type": "value_error", "msg":
                                       f"expected west,south,east,north in decimal WGS84 degrees, got {text!r}"}])
    try:
        return geo.parse_bbox(text)
    except ValueError as exc:
        raise RequestValidationError([{"loc": ("query", "bbox"), "msg": str(exc), "type": "value_error"}]) from None


@router.get(
    "/roads",
    summary="Road edges as LineStrings, filtered by class and bounding box",
    description="One LineString per directed edge with its OSM `highway` class. An edge is kept when it "
    "touches the bounding box.",
    response_class=GeoJSONResponse,
    responses={**geojson_responses({"highway": "motorway", "ref": "G15", "length": 812.4, "speed_kph": 100.0}),
               **PROBLEM_RESPONSES},
)
def roads(
    network: NetworkDep,
    road_class: Annotated[
        str | None,
        Query(alias="class", pattern=r"^[a-z_]+(,[a-z_]+)*$",
              description="Comma-separated OSM highway classes, e.g. motorway,trunk.", examples=["motorway"]),
    ] = None,
    bbox: Annotated[
        str | None, Query(json_schema_extra={"pattern": BBOX_PATTERN}, description="west,south,east,north in WGS84 degrees (decimal, "
                          "west < east, south < north).", examples=["115.0,22.7,115.6,23.1"])
    ] = None,
) -> GeoJSONResponse:
    classes = tuple(sorted(set(road_class.split(",")))) if road_class else None
    return Response(_roads_body(network, classes, parse_bbox(bbox)), media_type=GeoJSONResponse.media_type)


@lru_cache(maxsize=64)
def _roads_body(network: planner_network.RoadNetwork, classes: tuple[str, ...] | None,
                bbox: tuple[float, float, float, float] | None) -> bytes:
    """The roads GeoJSON, rendered once per network, class set and box: the network never changes
    while the service runs, and rendering (not routing) is what a map read costs."""
    return GeoJSONResponse(planner_network.roads_geojson(
        network.graph, classes=list(classes) if classes else None, bbox=bbox)).body


@router.get(
    "/boundaries",
    summary="City and county boundaries (GeoJSON MultiPolygons), drawn under the map",
    description="The admin boundaries file of the settings (EVPLAN_BOUNDARIES_PATH), `404` when there is none.",
    response_class=GeoJSONResponse,
    responses={**geojson_responses({"adcode": "441521", "name": "海丰县", "name_en": "Haifeng County",
                                    "level": "county"}),
               **problem_responses(404)},
)
def boundaries(state: StateDep) -> GeoJSONResponse:
    if state.boundaries is None:
        raise HTTPException(404, "no admin boundaries are configured (EVPLAN_BOUNDARIES_PATH)")
    return GeoJSONResponse(state.boundaries)
