"""A plan as GeoJSON (RFC 7946, WGS84 lon/lat) and as a terminal table."""

from __future__ import annotations

from typing import Any

from planner.geo import feature_collection, point_feature
from planner.siting.plan import PlanResult


def sites_geojson(result: PlanResult) -> dict[str, Any]:
    """One Point per opened site; ``stage`` is the year it opens, ``chargers`` its final-stage count.

    ``service_area_id`` and ``side`` match the network export's service areas (null elsewhere).
    """
    final = result.scenario.stage_years[-1]
    features = []
    for s in result.sites:
        c = s.candidate
        features.append(
            point_feature(
                c.lon,
                c.lat,
                {
                    "site_id": c.site_id,
                    "kind": c.kind,
                    "name": c.name,
                    "stage": s.first_stage,
                    "chargers": s.chargers_by_stage[final],
                    "chargers_by_stage": {str(k): v for k, v in s.chargers_by_stage.items()},
                    "power_kw": s.power_kw_by_stage[final],
                    "cost_cny": s.cost_cny_by_stage[final],
                    "peak_arrivals_per_hour": s.peak_arrivals_per_hour_by_stage[final],
                    "towns_served": list(s.towns_served),
                    "depot_vehicles": c.depot_vehicles or None,
                    "service_area_id": c.service_area_id,
                    "side": c.side,
                    "location_approximate": c.location_approximate,
                },
            )
        )
    return feature_collection(features)


def coverage_geojson(result: PlanResult) -> dict[str, Any]:
    """One Point per town: covered or not in each stage, and minutes to the nearest open public charger."""
    final = result.scenario.stage_years[-1]
    features = []
    for tc in result.towns:
        t = tc.town
        features.append(
            point_feature(
                t.lon,
                t.lat,
                {
                    "town_id": t.town_id,
                    "name": t.name,
                    "county_code": t.county_code,
                    "population": t.population,
                    "covered": tc.covered_by_stage[final],
                    "minutes_to_nearest": tc.minutes_by_stage[final],
                    "covered_by_stage": {str(k): v for k, v in tc.covered_by_stage.items()},
                    "minutes_by_stage": {str(k): v for k, v in tc.minutes_by_stage.items()},
                    "drive_time_threshold_min": result.scenario.drive_time_min,
                },
            )
        )
    return feature_collection(features)


def summary_table(result: PlanResult) -> str:
    """The per-stage summary as an aligned text table for the terminal."""
    summary = result.summary()
    rows = [("stage", "sites", "chargers", "power MW", "cost M CNY", "SA sides", "towns covered", "people covered")]
    for year, st in summary["stages"].items():
        rows.append(
            (
                year,
                str(st["sites"]),
                str(st["chargers"]),
                f"{st['power_kw'] / 1000:.1f}",
                f"{st['cost_cny'] / 1e6:.1f}",
                str(st["service_area_sides_with_station"]),
                f"{st['towns_covered']}/{st['towns']}",
                f"{st['population_covered']:,}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    sv = summary["solver"]
    gap = "" if sv["gap"] is None else f", gap {100 * sv['gap']:.2f} %"
    lines.append(f"solver: {sv['solver']} {sv['status']}{gap}, {sv['solve_time_s']:.2f} s")
    return "\n".join(lines)
