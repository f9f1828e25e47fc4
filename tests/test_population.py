"""Town populations: census figures on the shipped network, county remainders, and the rules on hand-made towns.

The shipped checks read the census CSVs here with the ``csv`` module, independently of the code under test.
"""

from __future__ import annotations

import csv
import itertools
import random
from pathlib import Path

import pytest

from planner import config
from planner.demand.population import (
    CensusTables,
    CensusTownship,
    CountyTotal,
    OutsideTown,
    assign_populations,
    census_for,
    largest_remainder,
    name_key,
    rank_weights,
    read_census,
    shipped_census_files,
    town_populations,
)
from planner.errors import InputFileError
from planner.siting.candidates import Town, towns_from_network

SOURCES = config.SHIPPED_DATA_DIR / "sources" / "shanwei-population"
SHENSHAN = ("鹅埠", "赤石", "鲘门", "小漠")


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def shipped(shanwei_network):
    return town_populations(shanwei_network, census_for(config.SHANWEI_OSM))


def test_haifeng_towns_carry_the_census_figures_exactly(shipped) -> None:
    census = {r["township"]: int(r["population_2020"]) for r in _csv(SOURCES / "township_population_2020.csv")
              if r["county_code"] == "441521"}
    assert len(census) == 13
    got = {}
    for t in shipped.towns:
        if t.county_code != "441521" or t.population is None:
            continue
        hits = [k for k in census if k == t.name or k.removesuffix("镇") == t.name]
        assert len(hits) == 1, t.name
        got[hits[0]] = t.population
    assert got == census  # every township once, each with its figure
    assert shipped.towns[[t.name for t in shipped.towns].index("海城")].population == 163989


def test_towns_add_up_to_the_county_totals_used(shipped) -> None:
    totals = {r["county_code"]: int(r["population_2020"])
              for r in _csv(config.SHIPPED_DATA_DIR / "population" / "county_population_2020.csv")}
    assert set(totals) == {"441502", "441521", "441523", "441581"}
    outside = {r.town.town_id for r in shipped.rows if r.method == "outside"}
    for code, total in totals.items():
        assert sum(t.population or 0 for t in shipped.towns
                   if t.county_code == code and t.town_id not in outside) == total, code
    assert dict(shipped.county_totals_used) == totals
    # 陆河县's total is the only one not in the source table (the article's "about 250,000").
    source = {r["county_code"]: r["population_2020"] for r in _csv(SOURCES / "county_population_2020.csv")}
    assert source["441523"] == "" and totals["441523"] == 250000
    assert all(source[c] == str(v) for c, v in totals.items() if c != "441523")


def test_every_town_has_a_population_or_a_null_with_its_source(shipped, shanwei_network) -> None:
    network_ids = {str(p.osm_id) for p in shanwei_network.places}
    assert network_ids <= {t.town_id for t in shipped.towns}
    for t in shipped.towns:
        assert t.population is None or t.population > 0, t.name
        assert t.population_source, t.name
    nulls = {t.name.removesuffix("镇") for t in shipped.towns if t.population is None}
    assert nulls == set(SHENSHAN)
    for t in shipped.towns:
        if t.name.removesuffix("镇") in SHENSHAN:
            assert "深汕" in t.population_source and t.population is None


def test_census_rows_and_towns_that_match_nothing_are_reported(shipped) -> None:
    assert set(shipped.unmatched_census) == {"附城镇 (441521)", "城东镇 (441521)", "梅陇农场 (441521)"}
    hosted = {r.town.name: r.town for r in shipped.rows if r.method == "census_hosted"}
    names = {t.town_id: t for t in shipped.towns}
    seat = next(t for t in names.values() if t.name == "海城")
    assert hosted["附城镇"].node == seat.node and hosted["城东镇"].node == seat.node
    assert hosted["附城镇"].population == 128953 and "海城" in hosted["附城镇"].population_source
    # 陆丰's 城东街道 has the name of 海丰's 城东镇 but another county: no match, a note.
    assert any("城东镇" in n and "城东街道" in n for n in shipped.notes)
    lf = next(t for t in names.values() if t.name == "城东街道")
    assert lf.county_code == "441581" and "county remainder" in lf.population_source
    assert "汕尾 (441502)" in shipped.unmatched_towns and not any("海城" in u for u in shipped.unmatched_towns)


def test_county_remainders_follow_the_rank_rule_by_hand(shipped, shanwei_network) -> None:
    places = {str(p.osm_id): p for p in shanwei_network.places}
    # Weights by hand from 海丰县's matched towns: 海城 is the one city, nine towns.
    hf = [r for r in shipped.rows if r.method == "census"]
    towns = [r.town.population for r in hf if places[r.town.town_id].place == "town"]
    assert len(towns) == 9
    city_weight = 163989 / (sum(towns) / 9)
    assert shipped.rank_weights["city"] == pytest.approx(city_weight, abs=1e-4)
    # 陆丰市: no census town, 21 towns of which one city.
    lf = [t for t in shipped.towns if t.county_code == "441581"]
    assert len(lf) == 21
    share = 1235827 / (20 + city_weight)
    for t in lf:
        expected = share * (city_weight if places[t.town_id].place == "city" else 1.0)
        assert abs(t.population - expected) < 1.0, t.name
        assert "secondary" in t.population_source and "WIKI-LF" in t.population_source
    # Census figures override the OSM tags (汕尾 carries 491766 in OSM, more than all of 城区).
    sw = next(t for t in shipped.towns if t.name == "汕尾")
    assert places[sw.town_id].population == 491766 and sw.population < 394593 and "low" in sw.population_source


def test_without_census_the_osm_tags_stay(shanwei_network) -> None:
    plain = town_populations(shanwei_network)
    before = {t.town_id: t.population for t in towns_from_network(shanwei_network)}
    assert {t.town_id: t.population for t in plain.towns} == before
    assert sum(1 for p in before.values() if p) == 5
    assert all(t.population_source == "OpenStreetMap population tag" for t in plain.towns if t.population)
    assert all("unknown" in t.population_source for t in plain.towns if t.population is None)
    assert census_for(Path("elsewhere.osm")) is None


def _town(i: int, name: str, county: str | None) -> Town:
    return Town(town_id=str(i), name=name, lon=115.0 + i / 100, lat=23.0, node=i, population=None, county_code=county)


def test_rules_on_hand_made_towns() -> None:
    towns = [_town(1, "甲镇", "1"), _town(2, "乙", "1"), _town(3, "丙街道", "1"), _town(4, "丁乡", "1"),
             _town(5, "戊", "1"), _town(6, "己", "2"), _town(7, "庚", "3"), _town(8, "辛", None)]
    rank = {"1": "city", "2": "town", "3": "town", "4": "village", "5": "town", "6": "town", "7": "town", "8": "town"}
    census = CensusTables(
        townships=(CensusTownship("1", "A", "甲", 6000, "S"), CensusTownship("1", "A", "乙镇", 2000, "S"),
                   CensusTownship("1", "A", "壬镇", 500, "S")),
        counties=(CountyTotal("1", "A", 10000, "official", "S"), CountyTotal("2", "B", None, "low", "T", "none")),
        outside=(OutsideTown("1", "戊镇", None, "run by another city", "note"),))
    got = assign_populations(towns, rank, census, osm_population={"6": 777, "7": 888, "8": 999})
    pop = {r.town.name: r.town.population for r in got.rows}
    method = {r.town.name: r.method for r in got.rows}
    # 甲 (city, 6000) and 乙 (town, 2000) match: weights city 3, town 1; the village has no census example: 1.
    assert got.rank_weights == {"city": 3.0, "town": 1.0}
    assert pop["甲镇"] == 6000 and pop["乙"] == 2000 and method["甲镇"] == "census"
    # 壬镇 is no town: placed at the county seat (the city, 甲镇), with its figure.
    assert pop["壬镇"] == 500 and method["壬镇"] == "census_hosted"
    assert next(r.town for r in got.rows if r.town.name == "壬镇").node == 1
    # Remainder 10000 - 8500 = 1500 over 丙 (town, 1) and 丁 (village, 1): 750 each.
    assert pop["丙街道"] == 750 and pop["丁乡"] == 750
    assert pop["戊"] is None and method["戊"] == "outside" and "another city" in got.rows[4].town.population_source
    # County 2's total is unknown: null, not its OSM tag; county 3 is not covered: its OSM tag; no county: tag.
    assert pop["己"] is None and "unknown" in got.rows[5].town.population_source
    assert pop["庚"] == 888 and method["庚"] == "osm_tag" and pop["辛"] == 999
    assert sum(p or 0 for n, p in pop.items() if n != "戊" and n in {"甲镇", "乙", "丙街道", "丁乡", "壬镇"}) == 10000


def test_a_census_larger_than_its_county_total_is_an_error() -> None:
    census = CensusTables(townships=(CensusTownship("1", "A", "甲", 6000, "S"),),
                          counties=(CountyTotal("1", "A", 5000, "official", "S"),), files=("t.csv", "c.csv"))
    with pytest.raises(InputFileError, match=r"c\.csv.*county 1 .*5,000 < 6,000"):
        assign_populations([_town(1, "甲", "1"), _town(2, "乙", "1")], {"1": "town", "2": "town"}, census)


def test_bad_census_files_name_the_row_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "t.csv"
    bad.write_text("county_code,county_name,township,population_2020,source_id\n1,A,甲镇,100,S\n1,A,乙镇,abc,S\n",
                   encoding="utf-8")
    with pytest.raises(InputFileError, match=r"t\.csv.*row 3, field population_2020: 'abc'"):
        read_census(bad)
    dup = tmp_path / "d.csv"
    dup.write_text("county_code,county_name,township,population_2020,source_id\n1,A,甲镇,100,S\n1,A,甲,5,S\n",
                   encoding="utf-8")
    with pytest.raises(InputFileError, match=r"row 3, field township: '甲' .* listed again \(first on row 2\)"):
        read_census(dup)
    cols = tmp_path / "c.csv"
    cols.write_text("county_code,name,population_2020\n1,A,5\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="missing column.*county_name.*reliability"):
        read_census(None, cols)
    # The shipped files read cleanly, with the rows of the source table.
    tables = read_census(**shipped_census_files())
    assert len(tables.townships) == 13 and len(tables.counties) == 4 and len(tables.outside) == 4


def test_name_key_tolerates_suffixes_only() -> None:
    assert name_key("梅陇镇") == name_key("梅陇") == "梅陇"
    assert name_key("凤山街道") == "凤山" and name_key("某乡") == "某" and name_key(" 海城 镇") == "海城"
    assert name_key("梅陇农场") == "梅陇农场" and name_key("镇") == "镇"


def test_largest_remainder_adds_up_and_is_the_closest_rounding() -> None:
    assert largest_remainder(10, [1, 1, 1], ["a", "b", "c"]) == [4, 3, 3]
    rng = random.Random(7)
    for _ in range(150):
        n = rng.randint(1, 3)
        w = [rng.uniform(0.1, 5) for _ in range(n)]
        total = rng.randint(0, 25)
        got = largest_remainder(total, w, [str(i) for i in range(n)])
        assert sum(got) == total
        exact = [total * x / sum(w) for x in w]
        # Brute force: no other whole split with the same sum is closer in the largest deviation.
        best = min(max(abs(s - e) for s, e in zip(split, exact))
                   for split in itertools.product(range(total + 1), repeat=n) if sum(split) == total)
        assert max(abs(s - e) for s, e in zip(got, exact)) <= best + 1e-9


def test_rank_weights_by_hand() -> None:
    assert rank_weights([("city", 100), ("town", 10), ("town", 30)]) == {"city": 5.0, "town": 1.0}
    assert rank_weights([("city", 100), ("village", 50)]) == {"city": pytest.approx(100 / 75, abs=1e-4),
                                                               "village": pytest.approx(50 / 75, abs=1e-4)}
    assert rank_weights([]) == {}
