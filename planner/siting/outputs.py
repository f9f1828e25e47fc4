"""A plan as GeoJSON (RFC 7946, WGS84 lon/lat) with flat numeric per-stage columns, and as a terminal table."""

from __future__ import annotations

from typing import Any

from planner.geo import feature_collection, point_feature
from planner.siting.plan import PlanResult


def sites_geojson(result: PlanResult) -> dict[str, Any]:
    """One Point per site the plan uses; per stage year Y flat numbers a GIS can style.

    ``chargers_Y``, ``existing_chargers_Y``, ``new_chargers_Y``, ``high_power_chargers_Y``, ``power_kw_Y``,
    ``capex_cny_Y`` (spent in that stage), ``cost_cny_Y`` (spent up to it), ``arrivals_per_hour_Y``
    (served: own stopping traffic plus assigned towns), ``corridor_arrivals_per_hour_Y``,
    ``capacity_arrivals_per_hour_Y``, ``towns_served_Y``; ``stage`` is the year it opens and the
    unsuffixed figures are the final stage's. ``service_area_id`` and ``side`` match the network
    export's service areas (null elsewhere).
    """
    years = result.scenario.stage_years
    final = years[-1]
    features = []
    for s in result.sites:
        c = s.candidate
        props: dict[str, Any] = {
            "site_id": c.site_id,
            "kind": c.kind,
            "name": c.name,
            "county_code": s.county_code,
            "county_name": s.county_name,
            "stage": s.first_stage,
            "chargers": s.chargers_by_stage[final],
            "chargers_by_stage": {str(k): v for k, v in s.chargers_by_stage.items()},
            "power_kw": s.power_kw_by_stage[final],
            "cost_cny": s.cost_cny_by_stage[final],
            "peak_arrivals_per_hour": s.peak_arrivals_per_hour_by_stage[final],
        }
        for y in years:
            props.update({
                f"chargers_{y}": s.chargers_by_stage[y],
                f"existing_chargers_{y}": s.existing_by_stage[y],
                f"new_chargers_{y}": s.chargers_by_stage[y] - s.existing_by_stage[y],
                f"high_power_chargers_{y}": s.high_power_by_stage[y],
                f"power_kw_{y}": s.power_kw_by_stage[y],
                f"capex_cny_{y}": s.capex_cny_by_stage[y],
                f"cost_cny_{y}": s.cost_cny_by_stage[y],
                f"arrivals_per_hour_{y}": s.peak_arrivals_per_hour_by_stage[y],
                f"corridor_arrivals_per_hour_{y}": s.corridor_arrivals_per_hour_by_stage[y],
                f"capacity_arrivals_per_hour_{y}": s.capacity_arrivals_per_hour_by_stage[y],
                f"towns_served_{y}": len(s.towns_served_by_stage[y]),
            })
        props.update({
            "towns_served": list(s.towns_served),
            "depot_vehicles": c.depot_vehicles or None,
            "service_area_id": c.service_area_id,
            "side": c.side,
            "location_approximate": c.location_approximate,
        })
        features.append(point_feature(c.lon, c.lat, props))
    return feature_collection(features)


def coverage_geojson(result: PlanResult) -> dict[str, Any]:
    """One Point per town: per stage year Y ``covered_Y`` (its demand served within the drive time),
    ``minutes_Y`` (local roads to the nearest open public charger, null beyond the threshold) and
    ``arrivals_per_hour_Y``; ``population`` is null where unknown (never 0: a 0 is no figure) and
    ``population_source`` says where it comes from (census, county remainder, OSM tag) or why it is null."""
    years = result.scenario.stage_years
    final = years[-1]
    features = []
    for tc in result.towns:
        t = tc.town
        props: dict[str, Any] = {
            "town_id": t.town_id,
            "name": t.name,
            "county_code": t.county_code,
            "county_name": tc.county_name,
            "population": t.population or None,
            "population_source": t.population_source,
            "covered": tc.covered_by_stage[final],
            "minutes_to_nearest": tc.minutes_by_stage[final],
            "covered_by_stage": {str(k): v for k, v in tc.covered_by_stage.items()},
            "minutes_by_stage": {str(k): v for k, v in tc.minutes_by_stage.items()},
            "drive_time_threshold_min": result.scenario.drive_time_min,
        }
        for y in years:
            props[f"covered_{y}"] = tc.covered_by_stage[y]
            props[f"minutes_{y}"] = tc.minutes_by_stage[y]
            props[f"arrivals_per_hour_{y}"] = tc.arrivals_by_stage.get(y, 0.0)
            props[f"served_by_{y}"] = ",".join(tc.sites_by_stage.get(y, ()))
        features.append(point_feature(t.lon, t.lat, props))
    return feature_collection(features)


def summary_table(result: PlanResult) -> str:
    """The per-stage summary as an aligned text table for the terminal, then the solver's status."""
    summary = result.summary()
    rows = [("stage", "sites", "chargers", "existing", "high-power", "power MW", "capex M CNY", "SA sides",
             "towns covered", "people covered")]
    for year, st in summary["stages"].items():
        rows.append(
            (
                year,
                str(st["sites"]),
                str(st["chargers"]),
                str(st["existing_chargers"]),
                str(st["high_power_chargers"]),
                f"{st['power_kw'] / 1000:.1f}",
                f"{st['capex_cny'] / 1e6:.1f}",
                str(st["service_area_sides_with_station"]),
                f"{st['towns_covered']}/{st['towns']}",
                f"{st['population_covered']:,}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if summary["present_value_cny"] is not None:
        lines.append(f"capital: {summary['capex_total_cny'] / 1e6:.1f} M CNY, present value "
                     f"{summary['present_value_cny'] / 1e6:.1f} M CNY at {100 * summary['discount_rate']:g} % "
                     f"to {summary['price_base_year']}")
    sv = summary["solver"]
    gap = "" if sv["gap"] is None else f", gap {100 * sv['gap']:.2f} %"
    bound = "" if sv["status"] == "optimal" or sv["bound_cny"] is None else f", bound {sv['bound_cny']:,.0f}"
    lines.append(f"solver: {sv['solver']} {sv['status']}{gap}{bound}, {sv['solve_time_s']:.2f} s")
    return "\n".join(lines)
