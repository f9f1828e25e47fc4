"""Residents of each town of the network: census figures where they exist, a county's remainder elsewhere.

Rules, in order, per town (each town's ``population_source`` says which one gave its figure):

1. **Outside the census** (``outside`` table, e.g. the 深汕特别合作区 towns inside 海丰县's polygon but run by
   Shenzhen): the table's figure, or null with the table's reason. Never counted in a county total.
2. **Census**: a town whose name matches a census township of its county (exact name first, then the
   name without a 镇/乡/街道 suffix when that is unique) carries the census figure exactly.
3. **Census townships that are no place of the network** become towns of their own, at the place of a
   neighbouring town of the network (``hosts`` table, else the county seat: the county's ``place=city``),
   so that their people are counted where they charge; their figure is the census one.
4. **County remainder**: the county total minus all its census townships, shared by the county's other
   towns in proportion to a weight per OSM place rank. The weight of a rank is the mean census population
   of the matched towns of that rank, relative to the rank ``town`` (Shanwei: 海城, the one ``city``
   matched, 163,989 against a mean of 32,044 for the nine ``town`` matches, so a ``city`` weighs 5.12
   towns); ranks no census town has weigh 1. Why not equal shares: a county seat (``place=city``) holds
   several times a township's residents, and the census itself says how many; the weights are then
   checked against figures the rule did not see (``data/population/README.md``). Integer shares by the
   largest-remainder method, so the towns of a county add up to its total exactly. The source names the
   total's reliability (official / secondary / low).
5. **Unknown** (no census table, a county it does not cover, a town outside every county): the OSM
   ``population`` tag, else null. Unknown is null, never 0.

Census figures override OSM ``population`` tags wherever the tables cover the county: the tags are
GeoNames figures of unknown year and extent (汕尾's 491,766 exceeds 城区's whole census total, 394,593).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from planner.errors import InputFileError
from planner.siting.candidates import Town, towns_from_network

if TYPE_CHECKING:
    from planner.network import RoadNetwork

#: Suffixes a township name may carry in one table and not in the other (longest first).
NAME_SUFFIXES = ("街道办事处", "街道", "镇", "乡")

#: The census tables shipped for the shipped Shanwei network (``census_for``).
_SHIPPED = "population"


def name_key(name: str) -> str:
    """A township name without spaces and its 镇/乡/街道 suffix, for matching (梅陇镇 → 梅陇, 海城 → 海城)."""
    key = "".join(str(name).split())
    for suffix in NAME_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key


# --------------------------------------------------------------------------------------------------
# The tables
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CensusTownship:
    """One row of a township table: a township's resident population and the source id it comes from."""

    county_code: str
    county_name: str
    township: str
    population: int
    source_id: str
    row: int = 0


@dataclass(frozen=True)
class CountyTotal:
    """A county's resident population (None: unknown) and how far it can be trusted."""

    county_code: str
    county_name: str
    population: int | None
    reliability: str
    source_id: str
    note: str = ""


@dataclass(frozen=True)
class OutsideTown:
    """A town inside a county's polygon that its census does not count (administered elsewhere)."""

    county_code: str
    town: str
    population: int | None
    reason: str
    source: str


@dataclass(frozen=True)
class CensusHost:
    """Where a census township that is no place of the network is placed: at the network town ``host_town``."""

    county_code: str
    township: str
    host_town: str
    note: str
    source: str


@dataclass(frozen=True)
class CensusTables:
    """Everything the population rules read: townships, county totals and the two optional tables."""

    townships: tuple[CensusTownship, ...] = ()
    counties: tuple[CountyTotal, ...] = ()
    outside: tuple[OutsideTown, ...] = ()
    hosts: tuple[CensusHost, ...] = ()
    #: The files read, for the report.
    files: tuple[str, ...] = ()


def _rows(path: Path, required: Sequence[str], what: str) -> list[tuple[int, dict[str, str]]]:
    from planner.fleet.reading import FIELDS_COLUMN, read_table

    table = read_table(path, what=what)
    missing = [c for c in required if c not in table.frame.columns]
    if missing:
        raise InputFileError(path, what, detail=f"missing column(s) {', '.join(missing)}")
    if FIELDS_COLUMN in table.frame.columns:  # read_table pads or cuts such a row: its figures would shift
        ncol = len(table.frame.columns) - 1
        fields = table.frame[FIELDS_COLUMN]
        ragged = fields[fields != ncol]
        raise InputFileError(path, what, detail=f"row {int(ragged.index[0])}: {int(ragged.iloc[0])} fields; "
                                                f"expected {ncol} comma-separated fields, as in the header")
    out = []
    for row, values in table.frame.iterrows():
        rec = {k: str(v).strip() for k, v in values.items()}
        if any(rec.values()):
            out.append((int(row), rec))  # type: ignore[arg-type]
    return out


def _count(path: Path, row: int, field_name: str, value: str, what: str, *, empty_ok: bool) -> int | None:
    text = value.replace(",", "").replace(" ", "")
    if not text:
        if empty_ok:
            return None
        raise InputFileError(path, what, detail=f"row {row}, field {field_name}: empty; expected a whole number "
                                                "of residents")
    try:
        n = float(text)
    except ValueError:
        n = math.nan
    if not math.isfinite(n) or n != int(n) or n <= 0:
        raise InputFileError(path, what, detail=f"row {row}, field {field_name}: {value!r} is not a positive "
                                                "whole number of residents")
    return int(n)


def read_census(
    townships: Path | str | None,
    counties: Path | str | None = None,
    *,
    outside: Path | str | None = None,
    hosts: Path | str | None = None,
) -> CensusTables:
    """Read the census tables (CSV, UTF-8 or GBK; the shipped files' columns).

    ``townships``: ``county_code, county_name, township, population_2020, source_id``; ``counties``:
    ``county_code, county_name, population_2020`` (empty = unknown), ``reliability, source_id[, note]``;
    ``outside``: ``county_code, town, population_2020`` (empty = unknown), ``reason, source``; ``hosts``:
    ``county_code, township, host_town, note, source``. Raises ``InputFileError`` naming the file, row and
    field of a bad value, and a township or county listed twice.
    """
    files: list[str] = []
    rows_t: list[CensusTownship] = []
    if townships is not None:
        path, what = Path(townships), "a census township table (CSV: county_code, county_name, township, population_2020, source_id)"
        seen: dict[tuple[str, str], int] = {}
        for row, r in _rows(path, ("county_code", "county_name", "township", "population_2020", "source_id"), what):
            key = (r["county_code"], name_key(r["township"]))
            if not r["county_code"] or not r["township"]:
                raise InputFileError(path, what, detail=f"row {row}: county_code and township must not be empty")
            if key in seen:
                raise InputFileError(path, what, detail=f"row {row}, field township: {r['township']!r} of county "
                                                        f"{r['county_code']} is listed again (first on row {seen[key]})")
            seen[key] = row
            pop = _count(path, row, "population_2020", r["population_2020"], what, empty_ok=False)
            assert pop is not None
            rows_t.append(CensusTownship(r["county_code"], r["county_name"], r["township"], pop, r["source_id"], row))
        files.append(str(path))
    rows_c: list[CountyTotal] = []
    if counties is not None:
        path, what = Path(counties), "a county population table (CSV: county_code, county_name, population_2020, reliability, source_id)"
        seen_c: dict[str, int] = {}
        for row, r in _rows(path, ("county_code", "county_name", "population_2020", "reliability", "source_id"), what):
            if r["county_code"] in seen_c:
                raise InputFileError(path, what, detail=f"row {row}, field county_code: {r['county_code']} is listed "
                                                        f"again (first on row {seen_c[r['county_code']]})")
            seen_c[r["county_code"]] = row
            pop = _count(path, row, "population_2020", r["population_2020"], what, empty_ok=True)
            rows_c.append(CountyTotal(r["county_code"], r["county_name"], pop, r["reliability"] or "unknown",
                                      r["source_id"], r.get("note", "")))
        files.append(str(path))
    rows_o: list[OutsideTown] = []
    if outside is not None:
        path, what = Path(outside), "a table of towns outside the census (CSV: county_code, town, population_2020, reason, source)"
        for row, r in _rows(path, ("county_code", "town", "population_2020", "reason", "source"), what):
            pop = _count(path, row, "population_2020", r["population_2020"], what, empty_ok=True)
            rows_o.append(OutsideTown(r["county_code"], r["town"], pop, r["reason"], r["source"]))
        files.append(str(path))
    rows_h: list[CensusHost] = []
    if hosts is not None:
        path, what = Path(hosts), "a table of census hosts (CSV: county_code, township, host_town, note, source)"
        for row, r in _rows(path, ("county_code", "township", "host_town", "note", "source"), what):
            if not r["host_town"]:
                raise InputFileError(path, what, detail=f"row {row}, field host_town: empty; expected the name of a "
                                                        "town of the network")
            rows_h.append(CensusHost(r["county_code"], r["township"], r["host_town"], r["note"], r["source"]))
        files.append(str(path))
    return CensusTables(tuple(rows_t), tuple(rows_c), tuple(rows_o), tuple(rows_h), tuple(files))


def shipped_census_files() -> dict[str, Path]:
    """The census tables shipped for Shanwei (the township table is the source file itself)."""
    from planner import config

    pop = config.SHIPPED_DATA_DIR / _SHIPPED
    return {
        "townships": config.SHIPPED_DATA_DIR / "sources" / "shanwei-population" / "township_population_2020.csv",
        "counties": pop / "county_population_2020.csv",
        "outside": pop / "outside_census.csv",
        "hosts": pop / "census_hosts.csv",
    }


def census_for(osm_path: Path | str) -> CensusTables | None:
    """The census tables shipped for this network file (only the shipped Shanwei network), else None."""
    from planner import config

    if Path(osm_path).resolve() != Path(config.SHANWEI_OSM).resolve():
        return None
    return read_census(**shipped_census_files())


# --------------------------------------------------------------------------------------------------
# The rules
# --------------------------------------------------------------------------------------------------

#: How a town got its population (see the module's rules).
Method = Literal["outside", "census", "census_hosted", "county_remainder", "osm_tag", "unknown"]


@dataclass(frozen=True)
class TownPopulation:
    """One town's population, the rule that gave it and the reliability of the figure behind it."""

    town: Town
    method: Method
    #: official / secondary / low (of the census row or county total), None for OSM tags and unknowns.
    reliability: str | None = None
    #: Place rank (``city``, ``town`` …) and the weight it had in a county remainder.
    place: str | None = None
    weight: float | None = None


@dataclass(frozen=True)
class PopulationResult:
    """The towns with their populations, and what matched, what did not and the totals used."""

    rows: tuple[TownPopulation, ...]
    #: County totals the towns add up to, per county code (the census total, else None: not used).
    county_totals_used: Mapping[str, int | None] = field(default_factory=dict)
    #: Towns of a covered county that match no census township (they share the county remainder).
    unmatched_towns: tuple[str, ...] = ()
    #: Census townships that match no place of the network (placed at a host town, or unplaced).
    unmatched_census: tuple[str, ...] = ()
    rank_weights: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def towns(self) -> list[Town]:
        """The towns for ``plan_sites(towns=...)``."""
        return [r.town for r in self.rows]

    def report(self) -> dict[str, Any]:
        """JSON-ready: per county the total used and the towns' sum; what matched nothing; the weights."""
        counties: dict[str, dict[str, Any]] = {}
        for r in self.rows:
            if r.method == "outside" or r.town.county_code is None:
                continue
            c = counties.setdefault(r.town.county_code, {"towns": 0, "population": 0, "unknown": 0})
            c["towns"] += 1
            c["population"] += r.town.population or 0
            c["unknown"] += int(r.town.population is None)
        for code, total in self.county_totals_used.items():
            counties.setdefault(code, {"towns": 0, "population": 0, "unknown": 0})["total_used"] = total
        return {
            "by_county": dict(sorted(counties.items())),
            "by_method": {m: sum(1 for r in self.rows if r.method == m) for m in sorted({r.method for r in self.rows})},
            "unmatched_towns": list(self.unmatched_towns),
            "unmatched_census": list(self.unmatched_census),
            "rank_weights": dict(self.rank_weights),
            "notes": list(self.notes),
        }


def largest_remainder(total: int, weights: Sequence[float], order: Sequence[str]) -> list[int]:
    """Whole shares of ``total`` proportional to ``weights`` that add up to ``total`` exactly (Hamilton).

    The units left after rounding down go to the largest fractional parts, ties by ``order`` (ids).
    """
    w = sum(weights)
    if total == 0 or not weights:
        return [0] * len(weights)
    if w <= 0:
        raise ValueError("weights must have a positive sum")
    exact = [total * x / w for x in weights]
    shares = [math.floor(e) for e in exact]
    left = total - sum(shares)
    rank = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), order[i]))
    for i in rank[:left]:
        shares[i] += 1
    return shares


def rank_weights(matched: Iterable[tuple[str, int]]) -> dict[str, float]:
    """Weight per place rank: the mean census population of the matched towns of that rank over that of
    ``town`` (over all matched towns when no ``town`` matched); empty when nothing matched."""
    by: dict[str, list[int]] = {}
    for place, pop in matched:
        by.setdefault(place, []).append(pop)
    if not by:
        return {}
    means = {p: sum(v) / len(v) for p, v in by.items()}
    base = means.get("town") or sum(sum(v) for v in by.values()) / sum(len(v) for v in by.values())
    return {p: round(m / base, 4) for p, m in sorted(means.items())}


def town_populations(network: RoadNetwork, census: CensusTables | None = None) -> PopulationResult:
    """Every town of ``network`` with a population or a null and its ``population_source`` (module rules).

    Without ``census`` the OSM ``population`` tags are kept (null where a town has none).
    """
    places = {str(p.osm_id): p for p in network.places}
    towns = towns_from_network(network)
    if census is None:
        return PopulationResult(tuple(_osm_row(t, places) for t in towns))
    return assign_populations(towns, {k: p.place for k, p in places.items()}, census,
                              osm_population={k: p.population for k, p in places.items()})


def _osm_row(t: Town, places: Mapping[str, Any], why: str | None = None) -> TownPopulation:
    pop = places[t.town_id].population if t.town_id in places else t.population
    pop = int(pop) if pop else None  # a 0 tag is no figure
    place = places[t.town_id].place if t.town_id in places else None
    if pop is not None:
        src = "OpenStreetMap population tag" + (f" ({why})" if why else "")
        return TownPopulation(replace(t, population=pop, population_source=src), "osm_tag", None, place)
    src = "unknown: no census figure and no OpenStreetMap population tag" + (f" ({why})" if why else "")
    return TownPopulation(replace(t, population=None, population_source=src), "unknown", None, place)


def assign_populations(
    towns: Sequence[Town],
    place_rank: Mapping[str, str],
    census: CensusTables,
    *,
    osm_population: Mapping[str, int | None] | None = None,
) -> PopulationResult:
    """The rules of this module on ``towns`` (``place_rank``: OSM ``place`` value by ``town_id``)."""
    osm_population = osm_population or {}
    places = {t.town_id: _PlaceLike(place_rank.get(t.town_id), osm_population.get(t.town_id, t.population))
              for t in towns}
    totals = {c.county_code: c for c in census.counties}
    by_county_census: dict[str, list[CensusTownship]] = {}
    for row in census.townships:
        by_county_census.setdefault(row.county_code, []).append(row)
    covered = set(totals) | set(by_county_census)
    outside = {(o.county_code, name_key(o.town)): o for o in census.outside}
    notes: list[str] = []
    out: dict[str, TownPopulation] = {}
    extra: list[TownPopulation] = []

    # Rule 1 and the towns the census does not cover.
    rest: dict[str, list[Town]] = {}
    for t in towns:
        o = outside.get((t.county_code or "", name_key(t.name)))
        if o is not None:
            src = (f"outside the census: {o.reason} (source: {o.source})" if o.population is None else
                   f"{o.population:,} from {o.source}; outside the county census: {o.reason}")
            out[t.town_id] = TownPopulation(replace(t, population=o.population, population_source=src), "outside",
                                            None, places[t.town_id].place)
        elif t.county_code is None:
            out[t.town_id] = _osm_row(t, places, "outside every county of the admin boundaries")
        elif t.county_code not in covered:
            out[t.town_id] = _osm_row(t, places, f"the census tables do not cover county {t.county_code}")
        else:
            rest.setdefault(t.county_code, []).append(t)

    # Rule 2: census matches, per county.
    matched: dict[str, tuple[Town, CensusTownship]] = {}
    unmatched_census: list[CensusTownship] = []
    for code in sorted(covered):
        rows = list(by_county_census.get(code, []))
        free = list(rest.get(code, []))
        for r in list(rows):
            exact = [t for t in free if "".join(t.name.split()) == "".join(r.township.split())]
            if len(exact) == 1:
                matched[exact[0].town_id] = (exact[0], r)
                free.remove(exact[0])
                rows.remove(r)
        for r in list(rows):
            key = name_key(r.township)
            same = [t for t in free if name_key(t.name) == key]
            rivals = [x for x in rows if name_key(x.township) == key]
            if len(same) == 1 and len(rivals) == 1:
                matched[same[0].town_id] = (same[0], r)
                free.remove(same[0])
                rows.remove(r)
        unmatched_census += rows
    weights = rank_weights((places[t.town_id].place or "?", r.population) for t, r in matched.values())
    for tid, (t, r) in matched.items():
        rel = _row_reliability(r, totals)
        out[tid] = TownPopulation(
            replace(t, population=r.population,
                    population_source=f"census 2020: {r.township} {r.population:,} ({r.source_id}, {rel})"),
            "census", rel, places[tid].place)

    # Rule 3: census townships that are no place of the network, at a host town.
    hosts = {(h.county_code, name_key(h.township)): h for h in census.hosts}
    for r in unmatched_census:
        candidates = [t for t in towns if t.county_code == r.county_code]
        h = hosts.get((r.county_code, name_key(r.township)))
        host, how = None, ""
        if h is not None:
            found = [t for t in candidates if name_key(t.name) == name_key(h.host_town)]
            if found:
                host, how = found[0], f"{h.note} (source: {h.source})"
            else:
                notes.append(f"census host table: host town {h.host_town!r} of {r.township} is no town of county "
                             f"{r.county_code} in the network; the county seat is used")
        if host is None:
            seats = sorted((t for t in candidates if places[t.town_id].place == "city"
                            and (t.county_code or "", name_key(t.name)) not in outside), key=lambda t: t.town_id)
            if not seats:
                seats = sorted((t for t, _ in matched.values() if t.county_code == r.county_code),
                               key=lambda t: (-matched[t.town_id][1].population, t.town_id))
            if seats:
                host, how = seats[0], "no host given: placed at the county seat"
        elsewhere = [t.name for t in towns if t.county_code != r.county_code and name_key(t.name) == name_key(r.township)]
        if elsewhere:
            notes.append(f"census township {r.township} ({r.county_code}) has the name of {', '.join(elsewhere)} "
                         "in another county: not matched")
        if host is None:
            notes.append(f"census township {r.township} ({r.county_code}, {r.population:,}) matches no town and "
                         "the county has no town to place it at: its residents are not counted")
            continue
        rel = _row_reliability(r, totals)
        t = Town(town_id=f"census:{r.county_code}:{r.township}", name=r.township, lon=host.lon, lat=host.lat,
                 node=host.node, population=r.population, county_code=r.county_code,
                 population_source=(f"census 2020: {r.township} {r.population:,} ({r.source_id}, {rel}); no place "
                                    f"of the network, located at {host.name}: {how}"))
        extra.append(TownPopulation(t, "census_hosted", rel, None))

    # Rule 4: county remainders.
    used: dict[str, int | None] = {}
    for code in sorted(covered):
        free = [t for t in rest.get(code, []) if t.town_id not in matched]
        total = totals.get(code)
        in_census = sum(r.population for r in by_county_census.get(code, []))
        if total is None or total.population is None:
            used[code] = None
            why = (f"county {code} total unknown ({total.source_id}, {total.reliability}: {total.note})"
                   if total is not None else f"no total for county {code} in the census tables")
            for t in free:
                out[t.town_id] = TownPopulation(replace(t, population=None, population_source=f"unknown: {why}"),
                                                "unknown", None, places[t.town_id].place)
            continue
        used[code] = total.population
        remainder = total.population - in_census
        if remainder < 0:
            raise InputFileError(census.files[1] if len(census.files) > 1 else "census tables",
                                 "county totals at least the sum of their census townships",
                                 detail=f"county {code} ({total.county_name}): total {total.population:,} < "
                                        f"{in_census:,} in its townships")
        if not free:
            if remainder > 0:
                notes.append(f"county {code} ({total.county_name}): {remainder:,} residents beyond its census "
                             "townships and no other town to carry them: not counted")
            continue
        w = [weights.get(places[t.town_id].place or "?", 1.0) for t in free]
        shares = largest_remainder(remainder, w, [t.town_id for t in free])
        rank_txt = ", ".join(f"{p} {x:g}" for p, x in weights.items()) or "equal"
        for t, wi, n in zip(free, w, shares, strict=True):
            src = (f"county remainder 2020: {total.county_name} {total.population:,} ({total.source_id}, "
                   f"{total.reliability}) less {in_census:,} in census townships, shared over {len(free)} towns "
                   f"by place rank (weights {rank_txt}); this town weight {wi:g}")
            out[t.town_id] = TownPopulation(replace(t, population=n if n > 0 else None, population_source=src),
                                            "county_remainder", total.reliability, places[t.town_id].place, wi)
    unmatched_towns = tuple(sorted(f"{t.name} ({t.county_code})" for code in covered for t in rest.get(code, [])
                                   if t.town_id not in matched))
    rows = tuple(out[t.town_id] for t in towns) + tuple(extra)
    return PopulationResult(rows, used, unmatched_towns,
                            tuple(f"{r.township} ({r.county_code})" for r in unmatched_census), weights, tuple(notes))


def _row_reliability(r: CensusTownship, totals: Mapping[str, CountyTotal]) -> str:
    """A township row is as reliable as its county's total when both cite the same source, else unstated."""
    total = totals.get(r.county_code)
    if total is not None and total.source_id == r.source_id:
        return total.reliability
    return "unstated"


@dataclass(frozen=True)
class _PlaceLike:
    place: str | None
    population: int | None


__all__ = [
    "CensusHost",
    "CensusTables",
    "CensusTownship",
    "CountyTotal",
    "OutsideTown",
    "PopulationResult",
    "TownPopulation",
    "assign_populations",
    "census_for",
    "largest_remainder",
    "name_key",
    "rank_weights",
    "read_census",
    "shipped_census_files",
    "town_populations",
]
