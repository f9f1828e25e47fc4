"""Request and response bodies of the API (pydantic), apart from the routers."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi.responses import JSONResponse
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic.json_schema import JsonDict

from planner.demand.assumptions import GATEWAY_ROADS, TRAFFIC_CLASSES
from planner.siting.scenario import (
    ASSUMPTIONS,
    FIRST_YEAR,
    LAST_YEAR,
    MAX_STAGES,
    OPTIONS,
    SECTIONS,
    Assumption,
    Option,
    Scenario,
    ValueType,
    check_options,
    scenario_from_options,
)


class _ScenarioBase(BaseModel):
    # Strict: JSON `false` or `"50"` is refused as the schema says, not read as 0 or 50.
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"stage_years": [2025, 2030], "range_margin_km": 50, "drive_time_min": 30, "dc_power_kw": 120,
                 "min_chargers_per_station": 3, "budget_cny": None,
                 "candidate_kinds": ["service_area", "interchange", "fuel", "parking", "town", "depot"],
                 "costs": {"site_fixed_cny": 500000}, "demand": {"ev_stop_share": 0.15}}
            ]
        },
    )

    def to_scenario(self) -> Scenario:
        """The planner's scenario for this request."""
        return scenario_from_options(self.model_dump(mode="json"))


def _whole_number(value: Any) -> Any:
    """A float with no fraction as the int it is: JSON Schema's ``integer`` includes ``2030.0``."""
    return int(value) if type(value) is float and value.is_integer() else value


def _whole(**bounds: float) -> Any:
    """A whole number as JSON Schema means it (``2030`` or ``2030.0``) within ``bounds``; text, booleans and
    fractions stay refused."""
    return Annotated[int, Field(**bounds), BeforeValidator(_whole_number)]


def _annotation(opt: Option) -> Any:
    """The field's type with the option's bounds, so that the OpenAPI schema states them."""
    bounds: dict[str, float] = {}
    if opt.low is not None:
        bounds["gt" if opt.low_exclusive else "ge"] = opt.low
    if opt.high is not None:
        bounds["le"] = opt.high
    kind: Any
    if opt.kind == "number":
        kind = Annotated[float, Field(allow_inf_nan=False, **bounds)]
    elif opt.kind in ("integer", "year"):
        kind = _whole(**bounds)
    elif opt.kind == "years":
        kind = Annotated[list[_whole(**bounds)],
                         Field(min_length=1, max_length=MAX_STAGES, json_schema_extra={"uniqueItems": True})]
    elif opt.kind == "kinds":
        kind = Annotated[list[Literal[opt.choices]], Field(min_length=1)]  # type: ignore[valid-type]
    else:
        kind = Literal[opt.choices]  # type: ignore[valid-type]
    return kind | None if opt.optional else kind


def _field(opt: Option) -> tuple[Any, Any]:
    default = list(opt.default) if isinstance(opt.default, tuple) else opt.default
    unit = f" Unit: {opt.unit}." if opt.unit else ""
    description = f"{opt.help[0].upper()}{opt.help[1:]}.{unit} Allowed: {opt.range_text()}."
    return _annotation(opt), Field(default, description=description)


def _check(value: Any, info: ValidationInfo) -> Any:
    """The option's own check (``planner.siting.scenario``), and the checks between options."""
    name = info.field_name or ""
    checked = check_options({name: value})[name]
    if name == "town_coverage_from" and "stage_years" in info.data:
        check_options({"stage_years": info.data["stage_years"], name: value})
    # Canonical form, so that the same choice is the same scenario (and the same stored run).
    return list(checked) if isinstance(checked, tuple) else checked


#: Tables whose keys are fixed by the traffic model's checks (``planner.demand.assumptions.traffic_problems``):
#: exactly one entry per vehicle class, or at least one per gateway road class.
EXACT_KEYS: dict[str, tuple[str, ...]] = {f"traffic.{name}": TRAFFIC_CLASSES for name in (
    "class_shares", "town_trip_rate", "ev_range_km", "ev_share_by_class_year")}
REQUIRED_KEYS: dict[str, tuple[str, ...]] = {f"traffic.{name}": GATEWAY_ROADS for name in (
    "gateway_aadt_by_road", "through_share_by_road")}
#: Years a table may be keyed by (``Assumption._key``), as a pattern: JSON object keys are text.
YEAR_KEY_PATTERN = "^(" + "|".join(str(y) for y in range(FIRST_YEAR, LAST_YEAR + 1)) + ")$"


def _table_schema(exact: tuple[str, ...] = (), required: tuple[str, ...] = ()) -> Any:
    """Rewrite pydantic's ``patternProperties`` (which lets any other key through) as ``propertyNames`` plus
    ``additionalProperties``, so that the schema allows exactly the keys the service accepts."""

    def fix(schema: JsonDict) -> None:
        pattern, value = next(iter(schema.pop("patternProperties", {"": schema.get("additionalProperties")}).items()))
        if pattern:
            schema["propertyNames"] = {"pattern": pattern}
        schema["additionalProperties"] = value
        if exact:
            schema.pop("propertyNames", None)
            schema["properties"] = {k: value for k in exact}
            schema["additionalProperties"] = False
        if exact or required:
            schema["required"] = list(exact or required)

    return fix


def _assumption_annotation(a: Assumption, t: ValueType) -> Any:
    """The type of an assumption (or of a table's entries) with its bounds, so that the OpenAPI schema states them.

    A table's keys are stated too: a name with something in it, a year of the stage range, a whole number;
    a table that replaces a non-empty default needs an entry, and the traffic tables their fixed keys.
    """
    bounds: dict[str, float] = {}
    if a.low is not None:
        bounds["ge"] = a.low
    if a.high is not None:
        bounds["le"] = a.high
    kind: Any
    if t.kind == "number":
        kind = Annotated[float, Field(allow_inf_nan=False, **bounds)]
    elif t.kind == "integer":
        kind = _whole(**bounds)
    elif t.kind == "bool":
        kind = bool
    elif t.kind == "text":
        choices = t.choices or a.choices
        kind = Literal[choices] if choices else str  # type: ignore[valid-type]
    elif t.kind == "list":
        kind = list[_assumption_annotation(a, t.value)]  # type: ignore[arg-type,misc]
    else:
        top = t is a.type
        if t.key == "text":
            pattern = r"\S"  # Assumption._key: not empty, not only spaces
        else:
            pattern = YEAR_KEY_PATTERN if a.years_as_keys else r"^-?[0-9]+$"
        key = Annotated[str, Field(pattern=pattern)]
        # The top-level table replaces a non-empty default whole (Assumption._check); a class's years need one.
        least = 1 if (top and a.default) or (not top and a.path in EXACT_KEYS) else 0
        schema = _table_schema(EXACT_KEYS.get(a.path, ()) if top else (), REQUIRED_KEYS.get(a.path, ()) if top else ())
        kind = Annotated[dict[key, _assumption_annotation(a, t.value)],  # type: ignore[valid-type,misc]
                         Field(min_length=least, json_schema_extra=schema)]
    return kind | None if t.optional else kind


def _assumption_field(a: Assumption) -> tuple[Any, Any]:
    unit = f" Unit: {a.unit}." if a.unit else ""
    description = f"{a.help[0].upper()}{a.help[1:]}.{unit} Allowed: {a.range_text()}. Source: {a.source}."
    default = a.default
    if isinstance(default, dict | list):
        return _assumption_annotation(a, a.type), Field(default_factory=lambda d=default: json.loads(json.dumps(d)),
                                                        description=description)
    return _assumption_annotation(a, a.type), Field(default, description=description)


def _check_assumption(section: str) -> Any:
    def check(value: Any, info: ValidationInfo) -> Any:
        """The assumption's own check (``planner.siting.scenario``): canonical, so the same choice is the same run."""
        return next(a for a in ASSUMPTIONS if a.path == f"{section}.{info.field_name}").check(value)

    return check


def _section_model(section: str) -> type[BaseModel]:
    """The body of one assumption section (``norms``, ``costs`` …), with its sub-sections nested."""
    own = [a for a in ASSUMPTIONS if a.section == section]
    subs = [x for x in SECTIONS if x.rpartition(".")[0] == section]
    name = "".join(part.title().replace("_", "") for part in section.split(".")) + "In"
    models = {sub.rpartition(".")[2]: _section_model(sub) for sub in subs}
    nested = {key: (model, Field(default_factory=model)) for key, model in models.items()}
    validators = {"check": field_validator(*(a.name for a in own))(_check_assumption(section))} if own else {}
    return create_model(  # type: ignore[call-overload,no-any-return]
        name,
        __config__=ConfigDict(extra="forbid", strict=True),
        __doc__=f"The [{section}] assumptions of a scenario (the same names, units, ranges and defaults as the "
                f"scenario file's section); a value left out keeps its default.",
        __validators__=validators,
        **{a.name: _assumption_field(a) for a in own},
        **nested,
    )


#: One model per top-level assumption section: ``norms``, ``costs``, ``demand``, ``traffic`` …
SECTION_MODELS: dict[str, type[BaseModel]] = {s: _section_model(s) for s in SECTIONS if "." not in s}

#: A siting scenario: one field per option of ``planner.siting.scenario.OPTIONS`` (same names, units,
#: defaults and ranges as the flags of ``evplan plan``), and one optional object per assumption section (the
#: sections of the scenario file).
ScenarioIn: type[_ScenarioBase] = create_model(
    "ScenarioIn",
    __base__=_ScenarioBase,
    __doc__="A siting scenario; every field has the default of `evplan plan` and the range of its option; the "
            "nested objects hold the assumptions of the scenario file's sections.",
    __validators__={"check_option": field_validator(*(o.name for o in OPTIONS))(_check)},
    **{o.name: _field(o) for o in OPTIONS},
    **{name: (model, Field(default_factory=model, description=f"The [{name}] assumptions (see the scenario file)."))
       for name, model in SECTION_MODELS.items()},
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
                             "message": "Value error, stage_years: stage years must increase, got 2030,2025"}]}
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
    """A report as JSON: its figures (indicators, targets, series) as built by ``planner.fleet.report``."""

    id: str
    created_at: str
    trigger: str
    figures: dict[str, Any]


_PROBLEM_DESCRIPTIONS = {
    400: "The request cannot be used: a body that is not JSON, a malformed upload.",
    401: "No X-API-Key header.",
    403: "The X-API-Key does not match a configured key.",
    404: "No such object (a run, a report), or nothing the records hold (a year, a county).",
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
