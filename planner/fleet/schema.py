"""What fleet records hold: vehicle classes, powertrains, column names, units, and the row issue type.

Every other module of ``planner.fleet`` takes its names from here, so a column or a code is spelled once.
NE (new energy) = BEV, PHEV, FCEV; clean energy = CNG, LNG.
"""

from __future__ import annotations

from dataclasses import dataclass

VEHICLE_CLASSES: tuple[str, ...] = ("bus", "taxi", "ride_hailing", "passenger_car", "coach", "truck", "van", "special")
POWERTRAINS: tuple[str, ...] = ("BEV", "PHEV", "FCEV", "HEV", "petrol", "diesel", "CNG", "LNG")
NE_POWERTRAINS: frozenset[str] = frozenset({"BEV", "PHEV", "FCEV"})
CLEAN_POWERTRAINS: frozenset[str] = frozenset({"CNG", "LNG"})
#: Powertrains that charge from the grid (depot charging).
PLUG_IN_POWERTRAINS: frozenset[str] = frozenset({"BEV", "PHEV"})

REQUIRED_COLUMNS: tuple[str, ...] = (
    "vehicle_id", "vehicle_class", "powertrain", "registered_on", "deregistered_on", "county_code", "is_operating",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("depot_id",)

#: Energy carriers of the activity table and their units (column names carry the unit).
ENERGY_COLUMNS: tuple[str, ...] = ("electricity_kwh", "petrol_l", "diesel_l", "cng_m3", "lng_kg", "h2_kg")
ACTIVITY_KEY: tuple[str, ...] = ("year", "county_code", "vehicle_class", "powertrain")
ACTIVITY_MEASURES: tuple[str, ...] = ("vehicle_years", "vehicle_km", "passenger_km", "tonne_km", *ENERGY_COLUMNS)
DEPOT_REQUIRED: tuple[str, ...] = ("depot_id", "name", "fleet_kind", "lon", "lat", "county_code")

#: Road transport: 10 passenger-km count as 1 tonne-km in converted turnover (换算周转量), the national
#: transport statistics convention for road (公路 10人公里 = 1吨公里).
PASSENGER_KM_TO_TONNE_KM = 0.1
#: The plan measures the CO2-intensity cut against this year.
BASE_YEAR = 2020

#: Words read as true / false in boolean columns (is_operating, location_approximate).
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "是"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "否"})


@dataclass(frozen=True)
class RowIssue:
    """One field of one row that failed a check: where it is, what it holds, what was expected.

    ``row`` counts as in the file: the header is line 1 and the first data row is 2 (Parquet rows are
    numbered the same way, as if the file were exported to CSV). ``field`` is ``"*"`` when the row as a
    whole is malformed (wrong number of fields).
    """

    file: str
    row: int
    field: str
    value: str
    reason: str

    def to_dict(self) -> dict[str, str | int]:
        """JSON-ready form."""
        return {"file": self.file, "row": self.row, "field": self.field, "value": self.value, "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.file}, row {self.row}, field {self.field}: {self.reason} (value {self.value!r})"
