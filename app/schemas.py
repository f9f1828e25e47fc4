"""Request and response bodies of the API (pydantic), apart from the routers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from planner.siting.candidates import CANDIDATE_KINDS
from planner.siting.plan import Scenario, scenario_from_options


class ScenarioIn(BaseModel):
    """A siting scenario; every field has the default of ``evplan plan``."""

    model_config = ConfigDict(
        extra="forbid",
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

    id: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: float
    message: str
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    scenario: dict
    reused: bool = False
