"""Where the operating vehicles' CO2 change came from: additive LMDI-I by class, per county and city-wide.

``CO2 = Σ_i,f A · S_i · I_i · M_if · F_f(year)`` with A the converted turnover (t·km), S_i the class's
share of it, I_i its final energy per t·km (MJ), M_if the carrier's share of that energy and F_f the
carrier's kg CO2 per MJ (for electricity the grid factor of the year). Each term is
``Σ L(C1, C0) · ln(X1 / X0)`` (Ang 2005); a cell that is zero in one year gives its whole change to the
factor that is zero there (Ang & Liu 2007), so the terms add up exactly to the total change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.errors import RecordError
from planner.fleet.records import FleetRecords
from planner.fleet.schema import ENERGY_COLUMNS, PASSENGER_KM_TO_TONNE_KM

#: Final energy per unit of each carrier (MJ), from the NCVs and densities of ``emission_factors.csv``:
#: IPCC 2006 Vol. 2 Ch. 1 Table 1.2 NCVs (petrol 44.3, diesel 43.0, natural gas 48.0 MJ/kg) × assumed
#: densities (0.74 kg/L, 0.84 kg/L, 0.717 kg/m³); electricity 3.6 MJ/kWh; hydrogen 120 MJ/kg (LHV).
MJ_PER_UNIT: dict[str, float] = {
    "electricity_kwh": 3.6, "petrol_l": 44.3 * 0.74, "diesel_l": 43.0 * 0.84, "cng_m3": 48.0 * 0.717,
    "lng_kg": 48.0, "h2_kg": 120.0,
}
TERMS: tuple[str, ...] = ("activity", "structure", "intensity", "mix", "grid_factor")


@dataclass(frozen=True)
class Decomposition:
    """The change of operating CO2 (t) between ``base_year`` and ``year`` for one area, split into terms.

    ``by_class[class][term]`` in t CO2; ``terms`` sums them over classes; ``total_change_t`` is
    ``co2_t - base_co2_t`` and equals ``sum(terms.values())``.
    """

    area: str | None
    base_year: int
    year: int
    base_co2_t: float
    co2_t: float
    by_class: Mapping[str, Mapping[str, float]]

    @property
    def total_change_t(self) -> float:
        return self.co2_t - self.base_co2_t

    @property
    def terms(self) -> dict[str, float]:
        return {t: float(sum(c[t] for c in self.by_class.values())) for t in TERMS}

    def to_dict(self) -> dict[str, object]:
        return {"area": self.area, "base_year": self.base_year, "year": self.year, "base_co2_t": self.base_co2_t,
                "co2_t": self.co2_t, "total_change_t": self.total_change_t, "terms": self.terms,
                "by_class": {k: dict(v) for k, v in self.by_class.items()}}


def _log_mean(a: float, b: float) -> float:
    if a == b:
        return a
    return (a - b) / (math.log(a) - math.log(b))


def _cells(rows: pd.DataFrame, kg_per_unit: Mapping[str, float]) -> dict[tuple[str, str], tuple[float, float, float]]:
    """(class, carrier) -> (converted t·km of the class, MJ, kg CO2)."""
    out: dict[tuple[str, str], tuple[float, float, float]] = {}
    for vclass, g in rows.groupby(rows["vehicle_class"].astype(str)):
        turnover = float((g["tonne_km"] + PASSENGER_KM_TO_TONNE_KM * g["passenger_km"]).sum())
        for col in ENERGY_COLUMNS:
            if col not in g:
                continue
            used = float(g[col].sum())
            if used > 0:
                out[(str(vclass), col)] = (turnover, used * MJ_PER_UNIT[col], used * kg_per_unit[col])
        out.setdefault((str(vclass), "_none"), (turnover, 0.0, 0.0))
    return out


def decompose_co2(records: FleetRecords, *, base_year: int, year: int, area: str | None = None) -> Decomposition:
    """LMDI-I decomposition of operating CO2 from ``base_year`` to ``year`` (city, or one county code).

    Raises ``RecordError`` when either year has no activity in the area.
    """
    act = records.activity
    if act is None or act.empty:
        raise RecordError("no activity table: the CO2 change cannot be decomposed")
    if area is not None:
        act = act[act["county_code"].astype(str) == area]
    data = {}
    for y in (base_year, year):
        rows = act[act["year"].astype(int) == int(y)]
        if rows.empty:
            raise RecordError(f"no activity for {y}{'' if area is None else ' in county ' + area}: "
                              "the CO2 change cannot be decomposed")
        data[y] = _cells(rows, _factors_of_year(records, int(y)))
    c0, c1 = data[base_year], data[year]
    a0 = sum({k[0]: v[0] for k, v in c0.items()}.values())
    a1 = sum({k[0]: v[0] for k, v in c1.items()}.values())
    classes = sorted({k[0] for k in (*c0, *c1)})
    e0 = {c: sum(v[1] for k, v in c0.items() if k[0] == c) for c in classes}
    e1 = {c: sum(v[1] for k, v in c1.items() if k[0] == c) for c in classes}
    t0 = {c: next((v[0] for k, v in c0.items() if k[0] == c), 0.0) for c in classes}
    t1 = {c: next((v[0] for k, v in c1.items() if k[0] == c), 0.0) for c in classes}
    f0, f1 = _factors_of_year(records, base_year), _factors_of_year(records, year)
    by_class: dict[str, dict[str, float]] = {c: dict.fromkeys(TERMS, 0.0) for c in classes}
    carriers = sorted({k[1] for k in (*c0, *c1)} - {"_none"})
    for c in classes:
        for f in carriers:
            x0 = c0.get((c, f), (0.0, 0.0, 0.0))
            x1 = c1.get((c, f), (0.0, 0.0, 0.0))
            C0, C1 = x0[2], x1[2]
            if C0 == 0 and C1 == 0:
                continue
            # factors of the identity in each year; None where undefined (a zero upstream)
            def factors(a: float, t: float, e: float, cell_e: float, fac: Mapping[str, float], f: str = f) -> list[float]:
                s = t / a if a > 0 else 0.0
                i = e / t if t > 0 else 0.0
                m = cell_e / e if e > 0 else 0.0
                return [a, s, i, m, fac[f] / MJ_PER_UNIT[f]]
            X0 = factors(a0, t0[c], e0[c], x0[1], f0)
            X1 = factors(a1, t1[c], e1[c], x1[1], f1)
            if C0 > 0 and C1 > 0:
                w = _log_mean(C1, C0)
                for term, a, b in zip(TERMS, X0, X1, strict=True):
                    by_class[c][term] += w * math.log(b / a)
            elif C0 == 0:  # the cell appears: its CO2 goes to the first factor that was zero
                k = next(j for j, v in enumerate(X0) if v == 0)
                by_class[c][TERMS[k]] += C1
            else:  # the cell disappears
                k = next(j for j, v in enumerate(X1) if v == 0)
                by_class[c][TERMS[k]] -= C0
    base_t = sum(v[2] for v in c0.values()) / 1000.0
    now_t = sum(v[2] for v in c1.values()) / 1000.0
    return Decomposition(area, int(base_year), int(year), base_t, now_t,
                         {c: {t: v / 1000.0 for t, v in terms.items()} for c, terms in by_class.items()})


def _factors_of_year(records: FleetRecords, year: int) -> dict[str, float]:
    """kg CO2 per unit of each carrier in ``year`` (electricity from the grid-factor table when there is one)."""
    factors = records.emission_factors
    if factors is None or len(factors) == 0:
        raise RecordError("no emission factors: the CO2 change cannot be decomposed")
    out = dict(zip(factors["activity_column"], factors["kg_co2_per_unit"].astype(float), strict=True))
    grid = getattr(records, "grid_factors", None)
    if grid is not None and len(grid):
        years = grid["year"].astype(int).to_numpy()
        nearest = int(years[np.abs(years - int(year)).argmin()])
        out["electricity_kwh"] = float(grid.loc[grid["year"] == nearest, "kg_co2_per_kwh"].iloc[0])
    return out
