"""Request and response bodies of the API (pydantic), apart from the routers."""

from __future__ import annotations

from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from planner.siting.candidates import CANDIDATE_KINDS
from planner.siting.plan import Scenario, scenario_from_options


class ScenarioIn(BaseModel):
    """A siting scenario; every field has the default of ``evplan plan``."""

    # Strict: JSON `false` or `"50"` is refused as the schema says, not read as 0 or 50.
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"stage_years": [2025, 2030], "range_margin_km": 50, "drive_time_min": 30, "power_kw": 120,
                 "min_chargers_per_service_area": 3, "budget_cny": None,
                 "candidate_kinds": ["service_area", "interchange", "fuel", "parking", "town", "depot"]}
            ]
        },
    )

    stage_years: list[int] = Field([2025, 2030], min_length=1, max_length=6,
                                   description="Stage years, increasing; later stages keep earlier sites.")
    range_margin_km: float = Field(50.0, gt=0, le=1000, description="Longest motorway stretch without a charger, km.")
    drive_time_min: float = Field(30.0, gt=0, le=600, description="Town coverage threshold, minutes of driving.")
    town_coverage_from: int | None = Field(2030, description="First stage year in which every town must be covered.")
    power_kw: float = Field(120.0, gt=0, le=1000, description="DC power per standard connector, kW.")
    high_power_kw: float = Field(360.0, gt=0, le=2000, description="Power of a high-power connector, kW.")
    min_chargers_per_service_area: int = Field(3, ge=1, le=500,
                                               description="Minimum chargers per station (GB/T 50966-2024: 3).")
    max_wait_probability: float = Field(0.2, gt=0, lt=1, description="Peak-hour chance that an EV waits (Erlang C).")
    budget_cny: float | None = Field(None, gt=0, description="Capital budget for the final stage, CNY.")
    candidate_kinds: list[Literal["service_area", "interchange", "fuel", "parking", "town", "depot"]] = Field(
        list(CANDIDATE_KINDS), min_length=1, description="Candidate kinds to use."
    )
    solver: Literal["highs", "cbc"] = Field("highs", description="MILP solver.")
    time_limit_s: float = Field(60.0, gt=0, le=3600, description="Solver time limit, seconds.")

    @field_validator("stage_years")
    @classmethod
    def _increasing(cls, v: list[int]) -> list[int]:
        if v != sorted(set(v)) or not all(2000 <= y <= 2100 for y in v):
            raise ValueError("stage years must be distinct, increasing and between 2000 and 2100")
        return v

    @field_validator("candidate_kinds")
    @classmethod
    def _canonical_kinds(cls, v: list[str]) -> list[str]:
        # One order and no repeats, so the same choice of kinds is the same scenario (and the same stored run).
        return [k for k in CANDIDATE_KINDS if k in v]

    def to_scenario(self) -> Scenario:
        """The planner's scenario for this request."""
        return scenario_from_options(
            stage_years=self.stage_years,
            range_margin_km=self.range_margin_km,
            drive_time_min=self.drive_time_min,
            town_coverage_from=self.town_coverage_from,
            budget_cny=self.budget_cny,
            candidate_kinds=self.candidate_kinds,
            power_kw=self.power_kw,
            high_power_kw=self.high_power_kw,
            min_chargers=self.min_chargers_per_service_area,
            max_wait_probability=self.max_wait_probability,
            solver=self.solver,
            time_limit_s=self.time_limit_s,
        )


class RunOut(BaseModel):
    """A siting run's status."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "3f2b9c7e0d4a4e1f9a6b5c4d3e2f1a0b", "status": "running", "progress": 0.42,
                 "message": "[2/3] load fleet records: 0.3 s", "error": None,
                 "created_at": "2025-05-01T07:00:00+00:00", "started_at": "2025-05-01T07:00:01+00:00",
                 "finished_at": None, "scenario": {"stage_years": [2025, 2030], "range_margin_km": 50.0},
                 "reused": False}
            ]
        }
    )

    id: str = Field(description="Run id (32 hex digits).")
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: float = Field(description="Fraction done, 0-1.")
    message: str = Field(description="Last progress message.")
    error: str | None = Field(description="Why the run failed or was cancelled.")
    created_at: str = Field(description="UTC, ISO 8601.")
    started_at: str | None
    finished_at: str | None
    scenario: dict[str, Any] = Field(description="The scenario with every default filled in.")
    reused: bool = Field(False, description="True when an earlier run of the same scenario was returned.")


class FieldError(BaseModel):
    """One invalid field of a request."""

    field: str = Field(description="Where the field is: `query.year`, `body.stage_years.0` ...")
    pointer: str | None = Field(None, description="JSON pointer into the request body, for body fields.")
    message: str


class Problem(BaseModel):
    """An error as RFC 9457 problem details (`application/problem+json`)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {"type": "about:blank", "title": "Invalid request", "status": 422,
                 "detail": "One or more fields are invalid.", "instance": "/api/v1/siting/runs",
                 "errors": [{"field": "body.stage_years", "pointer": "#/stage_years",
                             "message": "Value error, stage years must be distinct, increasing and between 2000 and 2100"}]}
            ]
        },
    )

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = Field(None, description="Field-level messages (validation errors).")


class ReportOut(BaseModel):
    """One fleet-share report in the history (without its body)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": "9d1c0b2a3e4f5a6b7c8d9e0f1a2b3c4d", "created_at": "2025-05-01T07:00:00+00:00",
                          "trigger": "schedule", "html_url": "/api/v1/reports/9d1c0b2a3e4f5a6b7c8d9e0f1a2b3c4d",
                          "json_url": "/api/v1/reports/9d1c0b2a3e4f5a6b7c8d9e0f1a2b3c4d?format=json"}]
        }
    )

    id: str
    created_at: str = Field(description="UTC, ISO 8601.")
    trigger: Literal["schedule", "on demand"]
    html_url: str
    json_url: str


class ReportListOut(BaseModel):
    """The report history and when the next scheduled report is due."""

    reports: list[ReportOut]
    schedule: str | None = Field(description="The crontab expression (EVPLAN_REPORT_CRON); null when not scheduled.")
    next_scheduled_at: str | None = Field(description="Next scheduled report, ISO 8601 with offset.")


class ReportDocument(BaseModel):
    """A report as JSON: its figures (indicators, targets, series) as built by ``planner.report``."""

    id: str
    created_at: str
    trigger: str
    figures: dict[str, Any]


_PROBLEM_DESCRIPTIONS = {
    400: "The request cannot be used: a body that is not JSON, a malformed upload, a year or county "
         "outside the records.",
    401: "No X-API-Key header.",
    403: "The X-API-Key does not match a configured key.",
    404: "No such object.",
    409: "The run has no results: it is queued, running, failed or cancelled.",
    413: "The upload is over EVPLAN_MAX_UPLOAD_MB.",
    415: "The body is not multipart/form-data.",
    422: "A field is invalid; `errors` names each one.",
    503: "The network or the fleet records are still loading.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these statuses, each a problem+json document."""
    return {
        s: {"model": Problem, "description": _PROBLEM_DESCRIPTIONS.get(s, "Error"),
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for s in statuses
    }


#: Errors every read endpoint can answer with.
PROBLEM_RESPONSES = problem_responses(422, 503)


class GeoJSONResponse(JSONResponse):
    """A GeoJSON document (RFC 7946), served as ``application/geo+json``."""

    media_type = "application/geo+json"


def geojson_responses(example_properties: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entry for a FeatureCollection of Points or LineStrings with these properties."""
    return {
        200: {
            "description": "A GeoJSON FeatureCollection (RFC 7946, WGS84 lon/lat).",
            "content": {
                "application/geo+json": {
                    "schema": {"type": "object", "properties": {"type": {"const": "FeatureCollection"},
                                                                "features": {"type": "array"}}},
                    "example": {"type": "FeatureCollection", "features": [
                        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [115.35, 22.96]},
                         "properties": example_properties}]},
                }
            },
        }
    }
