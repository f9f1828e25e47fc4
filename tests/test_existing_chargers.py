"""Existing chargers: OSM and CSV reading, attachment to service-area sides and sites, the clause-22 audit."""

from __future__ import annotations

import csv
import dataclasses
import json

import pytest

from planner.config import (
    EXISTING_CHARGERS,
    FLEET_DIR,
    SHANWEI_OSM,
    shipped_existing_chargers,
)
from planner.errors import InputFileError
from planner.siting.candidates import CANDIDATE_KINDS, Depot, candidates_from_network
from planner.siting.existing import (
    MAX_ATTACH_KM,
    ExistingCharger,
    attach_existing,
    clause22_status,
    largest_remainder,
    load_existing,
    parse_power_kw,
    read_existing_csv,
    read_osm_chargers,
)
from tests.support.chargers import (
    CSV_HEADER,
    DEG_LAT_PER_KM,
    east_of,
    haversine_km,
    side,
    site,
    write_csv,
)
from tests.support.osm import write_osm

# ------------------------------------------------------------------------------------------------ OSM tags


def test_power_values_are_read_with_their_units() -> None:
    assert parse_power_kw("120 kW") == 120.0
    assert parse_power_kw("120kW") == 120.0
    assert parse_power_kw("7.4 kw") == 7.4
    assert parse_power_kw("22000 W") == 22.0
    assert parse_power_kw("0.36 MW") == pytest.approx(360.0)
    assert parse_power_kw("60") == 60.0
    assert parse_power_kw("50 kW;150 kW") == 150.0
    for bad in ("fast", "", "-5 kW", "120 kVA", "0 kW", "12,5 kW"):
        with pytest.raises(ValueError):
            parse_power_kw(bad)


@pytest.fixture(scope="module")
def osm_stations(tmp_path_factory: pytest.TempPathFactory):
    cs = {"amenity": "charging_station"}
    nodes = [
        (1, 115.0, 22.8, {**cs, "name": "Mixed", "capacity": "4", "socket:gb_dc": "2", "socket:gb_dc:output": "120 kW",
                          "socket:gb_ac": "2", "socket:gb_ac:output": "7000 W", "operator": "国家电网",
                          "start_date": "2021-06"}),
        (2, 115.01, 22.8, {**cs, "socket:type2": "2", "socket:type2:output": "22 kW"}),   # no capacity
        (3, 115.02, 22.8, {**cs, "capacity": "lots"}),                                    # malformed capacity
        (4, 115.03, 22.8, {**cs, "capacity": "2", "socket:gb_dc:output": "fast"}),        # malformed output
        (5, 115.04, 22.8, {**cs}),                                                        # nothing known
        (6, 115.05, 22.8, {**cs, "capacity": "1", "socket:gb_dc:output": "60", "start_date": "early 2020"}),
        (7, 115.06, 22.8, {**cs, "capacity": "2", "socket:gb_dc:output": "0.48 MW", "access": "private"}),
        (8, 115.07, 22.8, {"construction:amenity": "charging_station", "capacity": "10", "name": "Planned"}),
        (9, 115.08, 22.8, {"amenity": "fuel", "name": "Not a charger"}),
        (20, 115.100, 22.800, {}), (21, 115.102, 22.800, {}), (22, 115.102, 22.802, {}), (23, 115.100, 22.802, {}),
    ]
    ways = [(30, [20, 21, 22, 23, 20], {**cs, "capacity": "6", "name": "Car park chargers"})]
    path = write_osm(tmp_path_factory.mktemp("osm") / "chargers.osm", nodes, ways)
    return path, read_osm_chargers(path)


def test_osm_capacity_sockets_and_units(osm_stations) -> None:
    _, read = osm_stations
    by = {c.source: c for c in read.chargers}
    mixed = by["osm:node/1"]
    assert (mixed.name, mixed.chargers, mixed.power_kw, mixed.operator) == ("Mixed", 4, 120.0, "国家电网")
    assert mixed.commissioned == "2021-06" and mixed.commissioned_year == 2021 and not mixed.approximate
    assert any("node/1" in n and "highest DC output" in n and "gb_dc" in n for n in read.notes)
    no_cap = by["osm:node/2"]
    assert (no_cap.chargers, no_cap.power_kw, no_cap.approximate) == (2, 22.0, True)
    assert any("node/2" in n and "no capacity" in n for n in read.notes)
    bare = by["osm:node/5"]
    assert (bare.chargers, bare.power_kw, bare.approximate) == (1, None, True)
    unitless = by["osm:node/6"]
    assert unitless.power_kw == 60.0 and unitless.commissioned is None
    assert any("node/6" in n and "no unit" in n for n in read.notes)
    assert any("node/6" in n and "early 2020" in n for n in read.notes)
    assert by["osm:node/7"].power_kw == pytest.approx(480.0) and by["osm:node/7"].access == "private"
    assert by["osm:node/8"].status == "planned" and by["osm:node/8"].chargers == 10
    assert "osm:node/9" not in by
    way = by["osm:way/30"]
    assert way.chargers == 6 and way.lon == pytest.approx(115.101) and way.lat == pytest.approx(22.801)


def test_osm_malformed_values_are_quarantined_with_the_element_and_tag(osm_stations) -> None:
    _, read = osm_stations
    bad = {(q.row, q.field): q for q in read.quarantined}
    assert set(bad) == {("node/3", "capacity"), ("node/4", "socket:gb_dc:output")}
    assert all(q.file == "chargers.osm" for q in read.quarantined)
    assert "capacity" in bad[("node/3", "capacity")].describe() and "'lots'" in bad[("node/3", "capacity")].describe()
    assert {c.source for c in read.chargers}.isdisjoint({"osm:node/3", "osm:node/4"})


def test_osm_pbf_reads_like_xml(osm_stations, tmp_path) -> None:
    osmium = pytest.importorskip("osmium")
    xml, read = osm_stations
    pbf = tmp_path / "chargers.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    again = load_existing(pbf)
    assert again.chargers == read.chargers
    assert [(q.row, q.field) for q in again.quarantined] == [(q.row, q.field) for q in read.quarantined]


# ---------------------------------------------------------------------------------------------------- CSV


def test_csv_rows_are_read_and_gcj02_is_converted(tmp_path) -> None:
    header = CSV_HEADER + ["crs", "status", "side", "access", "approximate"]
    rows = [
        ["长沙湾服务区", "115.275369", "22.821977", "80", "120", "", "", "GCJ-02", "planned", "", "public", "true"],
        ["Depot", "115.3705", "22.7905", "10", "60 kW", "2021-11-08", "汕尾公交", "", "", "北", "private", ""],
    ]
    read = read_existing_csv(write_csv(tmp_path / "a.csv", header, rows))
    assert read.quarantined == ()
    sa, depot = read.chargers
    # the service-area evidence table gives 115.2706, 22.8248 for this point in WGS84 (about 490 m west)
    assert (sa.lon, sa.lat) == (pytest.approx(115.2706, abs=1e-4), pytest.approx(22.8248, abs=1e-4))
    assert (sa.status, sa.approximate, sa.access, sa.source) == ("planned", True, "public", "a.csv:2")
    assert (depot.power_kw, depot.commissioned, depot.operator, depot.side) == (60.0, "2021-11-08", "汕尾公交", "north")
    assert depot.status == "operational" and not depot.approximate


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_encodings(tmp_path, encoding) -> None:
    path = write_csv(tmp_path / "e.csv", CSV_HEADER, [["海丰公交停保场", "115.3", "22.9", "3", "", "", "海丰县公交"]],
                     encoding=encoding)
    (rec,) = read_existing_csv(path).chargers
    assert (rec.name, rec.operator, rec.power_kw) == ("海丰公交停保场", "海丰县公交", None)


def test_csv_bad_rows_are_quarantined_with_file_row_and_field(tmp_path) -> None:
    header = CSV_HEADER + ["status", "crs", "extra"]
    good = ["ok", "115.0", "22.8", "2", "120", "2024", "x", "", "", ""]
    rows = [
        good,                                                                      # line 2
        ["bad lon", "east", "22.8", "2", "120", "", "", "", "", ""],               # line 3
        ["bad count", "115.0", "22.8", "2.5", "120", "", "", "", "", ""],          # line 4
        ["bad power", "115.0", "22.8", "2", "120 kVA", "", "", "", "", ""],        # line 5
        ["watts", "115.0", "22.8", "2", "120000", "", "", "", "", ""],             # line 6
        ["bad date", "115.0", "22.8", "2", "120", "2021/11/08", "", "", "", ""],   # line 7
        ["bad status", "115.0", "22.8", "2", "120", "", "", "built", "", ""],      # line 8
        ["bad crs", "115.0", "22.8", "2", "120", "", "", "", "BD-09", ""],         # line 9
        ["", "115.0", "95", "0", "", "", "", "", "", ""],                          # line 10: three fields
        good,                                                                      # line 11: duplicate
        ["short", "115.0"],                                                        # line 12
    ]
    read = read_existing_csv(write_csv(tmp_path / "bureau.csv", header, rows))
    assert [c.name for c in read.chargers] == ["ok"]
    found = {(q.row, q.field) for q in read.quarantined}
    assert found == {(3, "lon"), (4, "chargers"), (5, "power_kw"), (6, "power_kw"), (7, "commissioned"),
                     (8, "status"), (9, "crs"), (10, "name"), (10, "lat"), (10, "chargers"), (11, "(row)"),
                     (12, "(row)")}
    assert all(q.file == "bureau.csv" for q in read.quarantined)
    text = next(q for q in read.quarantined if q.row == 5).describe()
    assert text.startswith("bureau.csv row 5, power_kw: expected") and "'120 kVA'" in text
    assert "row 2" in next(q for q in read.quarantined if q.row == 11).expected
    assert any("'extra'" in n for n in read.notes)  # an unknown column is said, not silently dropped
    # every data row is either read or quarantined
    assert {2} | {q.row for q in read.quarantined} == set(range(2, 13))


def test_csv_missing_column_is_a_clear_error(tmp_path) -> None:
    path = write_csv(tmp_path / "m.csv", ["name", "lon", "lat", "chargers", "operator"], [["a", "1", "2", "3", "x"]])
    with pytest.raises(InputFileError, match=r"m\.csv.*missing column\(s\) power_kw, commissioned"):
        read_existing_csv(path)
    with pytest.raises(InputFileError, match="unsupported"):
        load_existing(tmp_path / "chargers.xlsx")


def test_load_directory_reads_every_csv(tmp_path) -> None:
    write_csv(tmp_path / "a.csv", CSV_HEADER, [["A", "115.0", "22.8", "1", "", "", ""]])
    write_csv(tmp_path / "b.csv", CSV_HEADER, [["B", "115.1", "22.8", "2", "", "", ""]])
    (tmp_path / "README.md").write_text("not data\n", encoding="utf-8")
    assert [c.source for c in load_existing(tmp_path).chargers] == ["a.csv:2", "b.csv:2"]


# ----------------------------------------------------------------------------------------------- attachment

LON, LAT = 115.0, 22.8
HALF_KM = 0.095  # each side 95 m off the centre line, as in the shipped network
NORTH = side("sa-1", "Test SA", "north", LON, LAT + HALF_KM * DEG_LAT_PER_KM, parking_spaces=100)
SOUTH = side("sa-1", "Test SA", "south", LON, LAT - HALF_KM * DEG_LAT_PER_KM, parking_spaces=300)
LAT2 = 22.9  # a second area, parking unknown
NORTH2 = side("sa-2", "Other SA", "north", LON, LAT2 + HALF_KM * DEG_LAT_PER_KM)
SOUTH2 = side("sa-2", "Other SA", "south", LON, LAT2 - HALF_KM * DEG_LAT_PER_KM)
CLOSED = side("sa-9", "Closed SA", "north", 115.5, 22.8, status="closed")
SIDES = (NORTH, SOUTH, NORTH2, SOUTH2, CLOSED)
DEPOT = site("depot:D1", "depot", 115.2, 22.8)
TOWN = site("town:T1", "town", east_of(115.2, 22.8, 1.2), 22.8)
FUEL = site("fuel:F1", "fuel", 115.3, 22.8)
SITES = (DEPOT, TOWN, FUEL, site("sa:sa-1:north", "service_area", NORTH.lon, NORTH.lat))


def rec(name: str, lon: float, lat: float, chargers: int = 8, power_kw: float | None = 120.0, **kw) -> ExistingCharger:
    values = {"commissioned": None, "operator": None, **kw}
    return ExistingCharger(name=name, lon=lon, lat=lat, chargers=chargers, power_kw=power_kw, source=f"test:{name}",
                           **values)


def placed(result, name: str) -> dict[str, int]:
    return {a.site_id: a.chargers for a in result.attachments if a.charger.name == name}


def test_record_between_the_sides_is_split_by_parking_or_equally() -> None:
    records = [rec("centre", LON, LAT), rec("centre2", LON, LAT2, chargers=5),
               rec("on south", LON, SOUTH.lat), rec("named", LON, LAT, side="north")]
    out = attach_existing(records, SITES, SIDES)
    assert placed(out, "centre") == {"sa:sa-1:north": 2, "sa:sa-1:south": 6}   # parking 100 : 300
    assert placed(out, "centre2") == {"sa:sa-2:north": 3, "sa:sa-2:south": 2}  # parking unknown: equal, remainder north
    assert placed(out, "on south") == {"sa:sa-1:south": 8}                      # clearly at one side: that side
    assert placed(out, "named") == {"sa:sa-1:north": 8}
    assert out.by_site["sa:sa-1:north"].chargers == 2 + 8
    assert out.unmatched == ()
    for a in out.attachments:
        s = next(s for s in SIDES if f"sa:{s.id}:{s.side}" == a.site_id)
        assert a.distance_km == pytest.approx(haversine_km(a.charger.lon, a.charger.lat, s.lon, s.lat), abs=1e-3)


def test_side_rules_nearest_and_split() -> None:
    near_north = rec("near north", LON, LAT + 0.01 * DEG_LAT_PER_KM)  # 10 m north of the centre line
    nearest = attach_existing([near_north], SITES, SIDES, side_rule="nearest")
    assert placed(nearest, "near north") == {"sa:sa-1:north": 8}
    assert placed(attach_existing([near_north], SITES, SIDES), "near north") == {"sa:sa-1:north": 2, "sa:sa-1:south": 6}
    on_south = rec("on south", LON, SOUTH.lat)
    assert placed(attach_existing([on_south], SITES, SIDES, side_rule="split"), "on south") == {
        "sa:sa-1:north": 2, "sa:sa-1:south": 6}


def test_service_area_distance_limit_and_named_side_missing() -> None:
    inside = rec("450 m", east_of(NORTH.lon, NORTH.lat, 0.45), NORTH.lat)
    outside = rec("550 m", east_of(NORTH.lon, NORTH.lat, 0.55), NORTH.lat)
    east = rec("east side", LON, LAT, side="east")
    out = attach_existing([inside, outside, east], SITES, SIDES)
    assert placed(out, "450 m") == {"sa:sa-1:north": 8}
    assert placed(out, "550 m") == {} and placed(out, "east side") == {}
    far = {u.charger.name: u for u in out.unmatched}
    assert far["550 m"].nearest_site_id == "sa:sa-1:north"
    expected_km = haversine_km(outside.lon, outside.lat, NORTH.lon, NORTH.lat)
    assert far["550 m"].distance_km == pytest.approx(expected_km, abs=1e-3)
    assert far["550 m"].distance_km > MAX_ATTACH_KM["service_area"]
    assert "east side" in far["east side"].reason and "north, south" in far["east side"].reason
    assert out.existing_only_candidates == ()  # no network given: reported only
    assert "no network" in far["550 m"].reason


def test_candidates_by_kind_access_and_distance() -> None:
    fleet = rec("fleet", east_of(DEPOT.lon, DEPOT.lat, 0.8), DEPOT.lat, access="private")
    public = rec("public", east_of(DEPOT.lon, DEPOT.lat, 0.8), DEPOT.lat, access="public")
    anyone = rec("anyone", east_of(FUEL.lon, FUEL.lat, -0.2), FUEL.lat)
    fleet_at_sa = rec("fleet at SA", LON, LAT, access="private")
    at_closed = rec("at closed", CLOSED.lon, CLOSED.lat)
    out = attach_existing([fleet, public, anyone, fleet_at_sa, at_closed], SITES, SIDES)
    assert placed(out, "fleet") == {"depot:D1": 8}
    assert placed(out, "public") == {"town:T1": 8}  # a public station is no depot's
    assert placed(out, "anyone") == {"fuel:F1": 8}
    by = {a.charger.name: a for a in out.attachments}
    assert by["public"].distance_km == pytest.approx(haversine_km(public.lon, public.lat, TOWN.lon, TOWN.lat), abs=1e-3)
    un = {u.charger.name: u for u in out.unmatched}
    assert "private" in un["fleet at SA"].reason and un["fleet at SA"].candidate_site_id is None
    assert "closed" in un["at closed"].reason


def test_capacity_sums_thresholds_and_years() -> None:
    records = [rec("a", LON, SOUTH.lat, chargers=2, power_kw=360.0, commissioned="2024"),
               rec("b", LON, SOUTH.lat, chargers=4, power_kw=120.0, commissioned="2026-03"),
               rec("c", LON, SOUTH.lat, chargers=3, power_kw=7.0),
               rec("d", LON, SOUTH.lat, chargers=1, power_kw=None),
               rec("e", LON, SOUTH.lat, chargers=5, power_kw=120.0, status="planned")]
    out = attach_existing(records, SITES, SIDES)
    cap = out.by_site["sa:sa-1:south"]
    assert (cap.chargers, cap.high_power_chargers, cap.fast_chargers, cap.unknown_power_chargers) == (10, 2, 6, 1)
    assert cap.power_kw == pytest.approx(2 * 360 + 4 * 120 + 3 * 7)
    assert cap.commissioned_year == 2026 and cap.sources == ("test:a", "test:b", "test:c", "test:d")
    assert out.planned_by_site["sa:sa-1:south"].chargers == 5
    in_2025 = out.capacity(as_of_year=2025)["sa:sa-1:south"]
    assert (in_2025.chargers, in_2025.commissioned_year) == (6, 2024)  # b (2026) not yet; c, d undated: counted
    lower = attach_existing(records, SITES, SIDES, high_power_kw=120.0).by_site["sa:sa-1:south"]
    assert lower.high_power_chargers == 6


def test_largest_remainder_sums_to_total() -> None:
    assert largest_remainder(522, [280, 160, 270, 249, 170, 166]) == [113, 64, 109, 100, 69, 67]
    assert largest_remainder(1, [1, 1]) == [1, 0]
    assert sum(largest_remainder(80, [231, 382])) == 80


def test_clause22_on_hand_made_sides() -> None:
    records = [rec("fast", LON, NORTH.lat, chargers=2, power_kw=120.0),
               rec("slow", LON, SOUTH.lat, chargers=4, power_kw=7.0),
               rec("soon", LON, SOUTH.lat, chargers=6, power_kw=120.0, status="planned")]
    out = attach_existing(records, SITES, SIDES)
    audit = clause22_status(SIDES, out.by_site, planned_by_site=out.planned_by_site)
    by = {s.site_id: s for s in audit.sides}
    assert set(by) == {"sa:sa-1:north", "sa:sa-1:south", "sa:sa-2:north", "sa:sa-2:south"}
    assert by["sa:sa-1:north"].meets_clause22 and by["sa:sa-1:north"].fast_chargers == 2
    south = by["sa:sa-1:south"]
    assert not south.meets_clause22 and south.chargers == 4 and south.planned_chargers == 6
    assert "no operational fast charger" in south.missing and "6 planned" in south.missing
    assert [s.site_id for s in audit.met] == ["sa:sa-1:north"]
    assert [(x.status, x.name) for x in audit.listed_apart] == [("closed", "Closed SA (north side)")]


# ----------------------------------------------------------------------------------- the shipped Shanwei data


@pytest.fixture(scope="module")
def shipped(shanwei_network):
    depots = [Depot(d["depot_id"], d["name"], float(d["lon"]), float(d["lat"]), vehicles=1, daily_kwh=1.0)
              for d in csv.DictReader((FLEET_DIR / "depots.csv").open(encoding="utf-8"))]
    cands = candidates_from_network(shanwei_network, kinds=CANDIDATE_KINDS, corridor_access_km=2.0, depots=depots)
    read = load_existing(EXISTING_CHARGERS)
    return read, cands, attach_existing(read.chargers, cands, shanwei_network.service_areas, network=shanwei_network)


def test_shipped_rows_are_sourced_and_read_cleanly(shipped) -> None:
    read, _, _ = shipped
    assert shipped_existing_chargers(SHANWEI_OSM) == EXISTING_CHARGERS
    assert read.quarantined == () and read.notes == ()
    assert len(read.chargers) == 7
    assert all(c.approximate and c.evidence and c.note for c in read.chargers)
    depot_rows = [c for c in read.chargers if c.access == "private"]
    assert sum(c.chargers for c in depot_rows) == 522 and all("7500.html" in c.evidence for c in depot_rows)
    (sa,) = [c for c in read.chargers if c.name == "长沙湾服务区"]
    assert (sa.chargers, sa.status) == (80, "planned")


def test_shipped_depot_split_follows_the_battery_electric_buses() -> None:
    pd = pytest.importorskip("pandas")
    v = pd.read_csv(FLEET_DIR / "vehicles.csv.gz", engine="pyarrow",
                    usecols=["vehicle_class", "powertrain", "registered_on", "deregistered_on", "depot_id"])
    bev = v[(v.vehicle_class == "bus") & (v.powertrain == "BEV")]
    day = pd.Timestamp("2021-11-08")
    gone = pd.to_datetime(bev.deregistered_on) <= day  # NaT (still in service) compares False
    live = bev[(pd.to_datetime(bev.registered_on) <= day) & ~gone]
    buses = live.groupby("depot_id").size().to_dict()
    assert sum(buses.values()) == 1295  # the article's battery-electric buses
    ids = sorted(buses)
    expected = dict(zip(ids, largest_remainder(522, [buses[i] for i in ids]), strict=True))
    rows = [c for c in load_existing(EXISTING_CHARGERS).chargers if c.access == "private"]
    got = {c.note.split(":")[0].removeprefix("depot "): c.chargers for c in rows}
    assert got == expected


def test_shipped_rows_attach_to_the_intended_sites(shipped, shanwei_network) -> None:
    read, _, out = shipped
    depots = {d["name"]: d["depot_id"] for d in csv.DictReader((FLEET_DIR / "depots.csv").open(encoding="utf-8"))}
    csw = {s.side: f"sa:{s.id}:{s.side}" for s in shanwei_network.service_areas if s.name == "长沙湾服务区"}
    assert set(csw) == {"north", "south"}
    for c in read.chargers:
        got = placed(out, c.name)
        if c.access == "private":
            assert got == {f"depot:{depots[c.name.removesuffix('充电桩')]}": c.chargers}
        else:  # published centre point, no side: split by the sides' parking spaces 231 : 382
            assert got == {csw["north"]: 30, csw["south"]: 50}
    assert out.unmatched == () and out.existing_only_candidates == ()
    assert sum(cap.chargers for cap in out.by_site.values()) == 522
    assert all(sid.startswith("depot:BUS-") for sid in out.by_site)
    assert out.by_site["depot:BUS-CQ-1"].power_kw == pytest.approx(113 * 60.0)


def test_shipped_clause22_audit(shipped, shanwei_network) -> None:
    read, cands, out = shipped
    net = shanwei_network
    audit = clause22_status(net.service_areas, out.by_site, planned_by_site=out.planned_by_site,
                            unsnapped=net.unsnapped_service_areas)
    active = {f"sa:{s.id}:{s.side}" for s in net.service_areas if s.status == "active"}
    assert {s.site_id for s in audit.sides} == active and len(active) == 6
    assert audit.met == ()  # nothing operational at a service area is on record
    csw = [s for s in audit.sides if s.name == "长沙湾服务区"]
    assert sorted((s.side, s.planned_chargers) for s in csw) == [("north", 30), ("south", 50)]
    assert all("planned" in s.missing for s in csw)
    assert [x.name for x in audit.listed_apart] == ["鲘门服务区", "鲘门服务区"]
    assert all(x.status == "closed" for x in audit.listed_apart)
    # once the bureau confirms 长沙湾's chargers are built, both its sides meet clause 22, nothing else changes
    built = [dataclasses.replace(c, status="operational") if c.name == "长沙湾服务区" else c for c in read.chargers]
    after = clause22_status(net.service_areas, attach_existing(built, cands, net.service_areas).by_site)
    assert sorted(s.site_id for s in after.met) == sorted(s.site_id for s in csw)


def test_unmatched_public_station_becomes_its_own_site(shipped, shanwei_network) -> None:
    _, cands, _ = shipped
    lonely = rec("lonely", 115.3920, 22.7765, chargers=4)  # > 4 km from every candidate, beside a local road
    nearest = min(haversine_km(lonely.lon, lonely.lat, c.lon, c.lat) for c in cands)
    assert nearest > max(MAX_ATTACH_KM.values())
    out = attach_existing([lonely], cands, shanwei_network.service_areas, network=shanwei_network)
    (u,) = out.unmatched
    assert u.distance_km == pytest.approx(nearest, abs=1e-3)
    (new,) = out.existing_only_candidates
    assert u.candidate_site_id == new.site_id == "existing:test:lonely" and new.kind == "parking"
    assert out.by_site[new.site_id].chargers == 4
    node = shanwei_network.graph.nodes[new.node]
    assert haversine_km(lonely.lon, lonely.lat, node["x"], node["y"]) < 2.0


# ------------------------------------------------------------------------- the main job with existing chargers


def _cli_plan(out, *extra: str) -> tuple[dict, list[dict]]:
    from cli.main import main

    assert main(["plan", "--out", str(out), "--quiet", "--town-coverage-from", "none", *extra]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    sites = [f["properties"] for f in json.loads((out / "sites.geojson").read_text(encoding="utf-8"))["features"]]
    return summary, sites


def test_the_main_job_sinks_the_shipped_and_a_bureaus_chargers_and_audits_clause_22(tmp_path) -> None:
    """``evplan plan`` attaches the shipped file (and a bureau's, via --existing-chargers): the 2025 capex
    falls by the value of what stands, computed here from the CSV rows and the cost assumptions."""
    from planner.siting.scenario import Scenario

    costs, first = Scenario().costs, 2025
    bare, bare_sites = _cli_plan(tmp_path / "none", "--existing-chargers", "none")
    assert bare["existing_chargers"]["records"] == 0
    # A bureau's register: the chargers the bare plan builds at one service-area side stood there since 2024.
    areas = json.loads((tmp_path / "none" / "service_areas.geojson").read_text(encoding="utf-8"))["features"]
    sa = next(p for p in bare_sites if p["kind"] == "service_area")
    (pos,) = [f["geometry"]["coordinates"] for f in areas
              if (f["properties"]["id"], f["properties"]["side"]) == (sa["service_area_id"], sa["side"])]
    hp = sa[f"high_power_chargers_{first}"]
    std = sa[f"chargers_{first}"] - hp
    bureau = write_csv(tmp_path / "bureau.csv", CSV_HEADER + ["side", "access"], [
        ["bureau std", pos[0], pos[1], std, "120 kW", "2024-03", "bureau", sa["side"], "public"],
        ["bureau hp", pos[0], pos[1], hp, "360 kW", "2024-03", "bureau", sa["side"], "public"],
    ])
    summary, sites = _cli_plan(tmp_path / "with", "--existing-chargers", str(bureau))

    rows = list(csv.DictReader(EXISTING_CHARGERS.open(encoding="utf-8")))
    depots = {(float(d["lon"]), float(d["lat"])): d["depot_id"]
              for d in csv.DictReader((FLEET_DIR / "depots.csv").open(encoding="utf-8"))}
    bare_by = {p["site_id"]: p for p in bare_sites}
    value = 0.0
    for r in rows:
        if r["status"] != "operational":
            continue  # planned (长沙湾): not sunk
        built = bare_by[f"depot:{depots[(float(r['lon']), float(r['lat']))]}"][f"chargers_{first}"]
        value += min(int(r["chargers"]), built) * costs.depot_charger_cny + 0.25 * costs.site_fixed_cny
    value += std * costs.dc_charger_cny + hp * costs.high_power_charger_cny + costs.site_fixed_cny
    saved = bare["stages"][str(first)]["capex_cny"] - summary["stages"][str(first)]["capex_cny"]
    assert saved == pytest.approx(value, abs=1.0)
    by, bare_by = {p["site_id"]: p for p in sites}, {p["site_id"]: p for p in bare_sites}
    # Planned chargers (长沙湾) are not sunk: those sides cost what they cost without any record.
    planned = [k for k, p in by.items() if p["kind"] == "service_area" and p["name"].startswith("长沙湾服务区")]
    assert len(planned) == 2
    assert all(by[k][f"capex_cny_{first}"] == bare_by[k][f"capex_cny_{first}"] > 0 for k in planned)
    assert summary["stages"][str(first)]["existing_chargers"] == 522 + std + hp

    report = summary["existing_chargers"]
    assert report["records"] == len(rows) + 2 and report["unmatched"] == [] and report["quarantined"] == []
    assert report["operational_chargers_attached"] == 522 + std + hp and report["planned_chargers_attached"] == 80
    assert by[sa["site_id"]][f"existing_chargers_{first}"] == std + hp
    assert by[sa["site_id"]][f"capex_cny_{first}"] == 0.0
    # Clause 22 today: only the bureau's side has operational chargers; 长沙湾's are planned.
    clause = {c["site_id"]: c for c in summary["clause_22"]}
    active = {f"sa:{f['properties']['id']}:{f['properties']['side']}" for f in areas
              if f["properties"]["status"] == "active" and f["properties"]["snapped"]}
    assert set(clause) == active
    assert {k for k, c in clause.items() if c["meets_clause_22_today"]} == {sa["site_id"]}
    assert clause[sa["site_id"]]["missing_today"] == "" and clause[sa["site_id"]][f"missing_chargers_{first}"] == 0
    csw = [c for c in clause.values() if c["name"].startswith("长沙湾服务区")]
    assert sorted(c["planned_chargers"] for c in csw) == [30, 50]
    assert all("planned" in c["missing_today"] for c in csw)
    assert all(not clause[k]["meets_clause_22_today"] for k in clause if k != sa["site_id"])
