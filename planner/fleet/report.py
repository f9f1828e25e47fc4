"""The fleet-share report: each target's trend against its line, a table per county, the data quality.

One self-contained HTML page (inline CSS and SVG charts drawn here, no scripts, no network) plus the
same figures as JSON and a long CSV. The CLI (``evplan fleet report``, ``evplan plan``) writes it
with ``write_report``; the service stores ``build_report``'s HTML and figures on its schedule. Both
take the records' ``fleet_series`` as ``series=`` so that it is computed once per run.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from planner import config
from planner._io import write_text_atomic
from planner.fleet import assessment as tg
from planner.fleet.indicators import FleetSeries, fleet_series
from planner.fleet.records import FleetRecords
from planner.fleet.targets import TargetSet
from planner.fleet.trend import INTERVAL_LEVEL

#: What the shipped records are (``planner.config``); shown on every report unless the records are real.
SHIPPED_DATA_NOTE = config.SHIPPED_FLEET_NOTE
SYNTHETIC_NOTE = SHIPPED_DATA_NOTE + config.SHIPPED_FLEET_NOTE_SYNTHETIC
UNKNOWN_SOURCE_NOTE = SHIPPED_DATA_NOTE + config.SHIPPED_FLEET_NOTE_UNKNOWN

STATUS_COLOURS = {  # (text, background)
    tg.MET: ("#0f5323", "#d3f0dc"),
    tg.ON_TRACK: ("#1a6a35", "#e6f4ea"),
    tg.AT_RISK: ("#7a4a00", "#fdefc8"),
    tg.OFF_TRACK: ("#8e1b1b", "#fbdcdc"),
    tg.NO_DATA: ("#4a4a4a", "#e8e8e8"),
}

_UNITS = {
    "passenger_km": "passenger-km",
    "tonne_km": "t·km",
    "pkm_to_tkm": "t·km per passenger-km",
    "operating_co2_t": "t CO2",
    "converted_turnover_tkm": "converted t·km",
    "operating_co2_per_converted_turnover": "kg CO2 per converted t·km",
    "operating_co2_per_converted_turnover_2020": "kg CO2 per converted t·km",
    "operating_co2_intensity_change_vs_2020": "fraction (change vs 2020)",
}


@dataclass(frozen=True)
class Report:
    """A built report: the figures (JSON-ready), the HTML page and the CSV text."""

    figures: dict[str, Any]
    html: str
    csv: str


def build_report(records: FleetRecords, *, targets: TargetSet, year: int | None = None,
                 synthetic: bool | None = None, generated_at: str | None = None,
                 series: FleetSeries | None = None) -> Report:
    """Build the fleet-share report for the assessment ``year`` (default: the latest in the records).

    Parameters
    ----------
    records
        ``FleetRecords``; ``records.quarantine`` (if any) feeds the data-quality section.
    year
        Assessment year; trends use the years up to it.
    targets
        Targets file contents (``targets.targets_for`` or ``load_target_set``).
    synthetic
        Whether the records are synthetic (a banner says so) or real (no banner); default: what the
        records say (a ``synthetic`` attribute, or ``attrs["synthetic"]`` on the vehicles table), else
        unknown, and the banner says that the shipped records are synthetic.
    generated_at
        Timestamp to print (ISO 8601); default now, UTC.
    series
        The records' ``fleet_series``, when the caller has it already (it is not computed again).
    """
    target_set = targets
    full = series if series is not None else fleet_series(records)
    series = full.up_to(year).with_county_names(target_set.counties)
    assessed = [a.to_dict() for a in tg.assess_series(series, target_set.targets)]
    figures = _figures(records, series, assessed, target_set,
                       synthetic=_is_synthetic(records) if synthetic is None else synthetic,
                       generated_at=generated_at or datetime.now(UTC).isoformat(timespec="seconds"))
    figures = json.loads(json.dumps(figures, ensure_ascii=False, default=_json_default))
    return Report(figures=figures, html=render_html(figures), csv=_csv(series))


def write_report(records: FleetRecords, *, out_dir: Path | str, targets: TargetSet, year: int | None = None,
                 synthetic: bool | None = None, series: FleetSeries | None = None) -> list[Path]:
    """Write ``report.html``, ``report.json`` and ``report.csv`` to ``out_dir``, each atomically.

    The options are those of ``build_report``; returns the three paths.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = build_report(records, year=year, targets=targets, synthetic=synthetic, series=series)
    texts = {
        "report.html": report.html,
        "report.json": json.dumps(report.figures, ensure_ascii=False, indent=2, allow_nan=False) + "\n",
        "report.csv": report.csv,
    }
    return [write_text_atomic(out / name, text) for name, text in texts.items()]


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    return str(obj)


def _is_synthetic(records: FleetRecords) -> bool | None:
    flag = getattr(records, "synthetic", None)
    if flag is None:
        flag = records.vehicles.attrs.get("synthetic")
    return None if flag is None else bool(flag)


# ------------------------------------------------------------------------------------------- figures


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _table_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _scalar_columns(frame: pd.DataFrame) -> list[str]:
    skip = {"year", "county"}
    return [c for c in frame.columns if c not in skip and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])]


def _figures(records: FleetRecords, series: FleetSeries, assessed: list[dict[str, Any]], target_set: TargetSet,
             *, synthetic: bool | None, generated_at: str) -> dict[str, Any]:
    city = series.city.copy()
    county_cols = ["year", "county"] + [c for c in ("buses", "ne_buses", "ne_bus_share", "taxis", "ne_taxis",
                                                     "ne_taxi_share") if c in series.counties]
    counties = series.counties[county_cols].copy() if len(series.counties) else pd.DataFrame(columns=county_cols)
    counties.insert(2, "county_name", [series.county_names.get(str(c), str(c)) for c in counties["county"]])
    counties = counties.rename(columns={"county": "county_code"})
    statuses = Counter(a["status"] for a in assessed)
    plan = target_set.plan
    return {
        "title": "New-energy fleet targets",
        "city": plan.get("city", ""),
        "city_en": plan.get("city_en", ""),
        "plan": {"title": plan.get("title", ""), "document": plan.get("document", ""),
                 "issued_on": plan.get("issued_on", ""), "targets_file": Path(target_set.path).name},
        "generated_at": generated_at,
        "assessment_year": series.assessment_year,
        "years": list(series.years),
        "status_counts": {s: statuses.get(s, 0) for s in (*tg.STATUS_ORDER, tg.NO_DATA)},
        "targets": assessed,
        "indicators": _table_records(city[["year", *_scalar_columns(city)]]),
        "county_names": dict(series.county_names),
        "counties": _table_records(counties),
        "data_quality": _data_quality(records, series),
        "not_assessed": list(target_set.not_assessed),
        "synthetic": synthetic,
        "emission_factors": _emission_factors(records),
        "method": {
            "interval_level": INTERVAL_LEVEL,
            "shares": "logistic trend: weighted least squares on the empirical logit of each year's counts",
            "intensity": "log-linear trend: least squares on the log of the yearly intensity",
            "status_rules": STATUS_RULES,
        },
    }


STATUS_RULES = {
    tg.MET: "the value observed for the assessment year already meets the target",
    tg.ON_TRACK: "the projection to the target year and the pessimistic end of its interval meet the target",
    tg.AT_RISK: "the projection meets the target but the pessimistic end does not, or the projection "
                "misses but the target lies inside the interval",
    tg.OFF_TRACK: "the whole interval misses the target, or the target year has passed unmet",
    tg.NO_DATA: "fewer than 3 years with data (or no baseline year): no projection",
}


def _data_quality(records: FleetRecords, series: FleetSeries) -> dict[str, Any]:
    issues = list(getattr(records, "quarantine", ()) or ())
    kinds = Counter((str(getattr(i, "field", "")), _reason_kind(str(getattr(i, "reason", "")))) for i in issues)
    by_file = Counter(str(getattr(i, "file", "")) for i in issues)
    bad_rows = {(str(getattr(i, "file", "")), getattr(i, "row", None)) for i in issues}
    vehicles = records.vehicles
    activity = getattr(records, "activity", None)
    depots = getattr(records, "depots", None)
    accepted = {"vehicles": len(vehicles), "activity": 0 if activity is None else len(activity),
                "depots": 0 if depots is None else len(depots)}
    return {
        "rows_read": sum(accepted.values()) + len(bad_rows),
        "rows_accepted": accepted,
        "vehicle_rows_accepted": accepted["vehicles"],
        "quarantined_rows": len(bad_rows),
        "quarantine_issues": len(issues),
        "quarantine_by_reason": [{"field": f, "reason": r, "issues": n} for (f, r), n in kinds.most_common()],
        "quarantine_by_file": [{"file": f, "issues": n} for f, n in by_file.most_common()],
        "quarantine_sample": [
            {"file": str(getattr(i, "file", "")), "row": _clean(getattr(i, "row", None)),
             "field": str(getattr(i, "field", "")), "value": str(getattr(i, "value", "")),
             "reason": str(getattr(i, "reason", ""))}
            for i in issues[:QUARANTINE_SAMPLE]
        ],
        "first_year": series.years[0],
        "last_year": series.years[-1],
        "vehicles_by_class": {str(k): int(v) for k, v in vehicles["vehicle_class"].value_counts().sort_index().items()}
        if "vehicle_class" in vehicles else {},
    }


def _reason_kind(reason: str) -> str:
    """A row issue's reason without its particulars (dates, counts, file rows), to count alike issues together."""
    head = reason.split(";")[0].split(", already in")[0]
    return re.sub(r"\d[\d\-:./]*", "…", head).strip()


def _emission_factors(records: FleetRecords) -> list[dict[str, Any]]:
    factors = getattr(records, "emission_factors", None)
    if factors is None or len(factors) == 0:
        return []
    cols = [c for c in ("carrier", "unit", "kg_co2_per_unit", "source") if c in factors.columns]
    return _table_records(factors[cols])


#: Quarantined rows listed one by one in the report (all are counted).
QUARANTINE_SAMPLE = 25


def _csv(series: FleetSeries) -> str:
    """Long table: one row per year, scope (city or county) and indicator."""
    rows = []
    for frame, scope in ((series.city, "city"), (series.counties, "county")):
        if frame.empty:
            continue
        for col in _scalar_columns(frame):
            for rec in frame[["year", col] + (["county"] if scope == "county" else [])].itertuples(index=False):
                code = str(rec[2]) if scope == "county" else ""
                rows.append({"year": int(rec[0]), "scope": scope, "county_code": code,
                             "county_name": series.county_names.get(code, "") if code else "",
                             "indicator": col, "value": _clean(rec[1]), "unit": _unit(col)})
    buf = io.StringIO()
    columns = ["year", "scope", "county_code", "county_name", "indicator", "value", "unit"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["value"] = pd.Series([r["value"] for r in rows], dtype=object)  # counts stay integers in the file
    frame.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def _unit(col: str) -> str:
    if col in _UNITS:
        return _UNITS[col]
    if col.endswith("_share"):
        return "fraction"
    if col in _COUNTS or col.endswith(("_vehicles", "_cars", "buses", "taxis", "_in_stock")):
        return "vehicles"
    return ""


_COUNTS = {"buses", "ne_buses", "taxis", "ne_taxis", "new_vehicles", "new_ne_or_clean_vehicles",
           "new_passenger_cars", "new_ev_passenger_cars", "vehicles_in_stock"}


# ---------------------------------------------------------------------------------------------- HTML

esc = html.escape

CSS = """
:root { --ink:#1d2430; --muted:#5b6575; --line:#d9dee6; --accent:#1f5fa8; --bg:#f6f7f9; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 14px/1.5 -apple-system, "Segoe UI", "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans",
  "Noto Sans CJK SC", "Source Han Sans SC",
  "PingFang SC", "Microsoft YaHei", "WenQuanYi Zen Hei", sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 48px; background:#fff; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 16px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 6px; }
.sub { color: var(--muted); margin: 0; }
.note { background:#fff7e0; border-left: 4px solid #d79b00; padding: 10px 14px; margin: 14px 0; }
.chips { display:flex; gap:8px; flex-wrap:wrap; margin: 8px 0 12px; }
.chip, .status { display:inline-block; border-radius: 999px; padding: 1px 10px; font-weight: 600; font-size: 12.5px;
  white-space: nowrap; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13px; }
table.facts { width: auto; min-width: 50%; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.quote { font-size: 12.5px; color: var(--muted); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 12px; background: #fff;
  break-inside: avoid; }
figcaption { font-size: 12.5px; color: var(--muted); margin-top: 6px; }
svg.chart { width: 100%; height: auto; display: block; }
.small { font-size: 12px; color: var(--muted); }
footer { margin-top: 28px; font-size: 12px; color: var(--muted); }
@media print { body { background:#fff; } main { padding: 0; } .grid { grid-template-columns: 1fr 1fr; } }
"""


def _status_badge(status: str) -> str:
    fg, bg = STATUS_COLOURS.get(status, STATUS_COLOURS[tg.NO_DATA])
    return f'<span class="status" style="color:{fg};background:{bg}">{esc(status)}</span>'


def _zh(text: str) -> str:
    return f'<span lang="zh-CN">{esc(text)}</span>'


def _title_of(a: dict[str, Any]) -> str:
    names = {
        "ne_bus_share": "New-energy share of buses",
        "ne_taxi_share": "New-energy share of taxis",
        "ne_or_clean_new_vehicle_share": "New-energy or clean share of new vehicles",
        "ev_new_passenger_car_share": "Electric share of new passenger cars",
        "operating_co2_per_converted_turnover": "CO2 per converted turnover of operating vehicles, change",
    }
    return names.get(a["indicator"], a["indicator"])


def render_html(figures: dict[str, Any]) -> str:
    """The report page from its figures (every text escaped; no scripts, no external resources)."""
    city = " ".join(x for x in (figures.get("city"), figures.get("city_en")) if x)
    year = figures["assessment_year"]
    plan = figures["plan"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(figures['title'])} — {esc(city)} — {year}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body><main>",
        "<header>",
        f"<h1>{esc(figures['title'])} — {esc(city)}</h1>",
        f'<p class="sub">Fleet records to 31 Dec {year} against the transport targets of '
        f"{_zh(plan.get('title', ''))} ({_zh(plan.get('document', ''))}, issued {esc(plan.get('issued_on', ''))}). "
        f"Generated {esc(figures['generated_at'])} by evplan.</p>",
        "</header>",
    ]
    if figures.get("synthetic") is True:
        parts.append(f'<div class="note" id="data-note"><strong>Synthetic data.</strong> {esc(SYNTHETIC_NOTE)}</div>')
    elif figures.get("synthetic") is None:
        parts.append(f'<div class="note" id="data-note"><strong>About the data.</strong> '
                     f"{esc(UNKNOWN_SOURCE_NOTE)}</div>")
    parts += _summary_section(figures)
    parts += _charts_section(figures)
    parts += _county_section(figures)
    parts += _quality_section(figures)
    parts += _method_section(figures)
    parts.append(f"<footer>evplan · {esc(figures['title'])} · {esc(city)} · records to 31 Dec {year} · "
                 f"targets from {esc(plan.get('targets_file', ''))}</footer>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _summary_section(figures: dict[str, Any]) -> list[str]:
    counts = figures["status_counts"]
    chips = "".join(
        f'<span class="chip" style="color:{STATUS_COLOURS[s][0]};background:{STATUS_COLOURS[s][1]}">'
        f"{counts[s]} {esc(s)}</span>" for s in counts if counts[s])
    level = int(figures["method"]["interval_level"] * 100)
    out = ['<section id="summary">', "<h2>Targets at a glance</h2>", f'<div class="chips">{chips}</div>',
           '<table id="targets-table">', '<thead><tr><th style="width:34%">Target and clause</th>'
           '<th class="num">Target</th><th class="num">Latest</th>'
           f'<th class="num">Projected for target year<br>({level} % interval)</th><th>Status</th>'
           "<th>Gap to close</th></tr></thead>", "<tbody>"]
    for a in figures["targets"]:
        latest = f"{tg.format_value(a, a['latest_value'])} ({a['latest_year']})" if a["latest_year"] else "–"
        clause = a["clause"]
        scope = "city and every county" if a["scope"] == "county" else "city"
        out.append(
            f'<tr id="target-{esc(a["id"])}">'
            f"<td><strong>{esc(_title_of(a))}</strong> <span class=\"small\">({esc(a['kind'])}, {esc(scope)})</span>"
            f"<br><span class=\"quote\">{_zh(clause['quote_zh'])} — {_zh(clause['document'])} "
            f"clause {esc(clause['number'])}</span></td>"
            f"<td class=\"num\">{esc(tg.format_target(a))}</td>"
            f"<td class=\"num\">{esc(latest)}</td>"
            f"<td class=\"num\">{esc(tg.format_projection(a))}</td>"
            f"<td>{_status_badge(a['status'])}</td>"
            f"<td>{esc(tg.format_gap(a))}</td>"
            "</tr>")
    out += ["</tbody></table>",
            '<p class="small">Status rules: ' + "; ".join(
                f"<strong>{esc(k)}</strong>: {esc(v)}" for k, v in figures["method"]["status_rules"].items())
            + ".</p>", "</section>"]
    return out


def _charts_section(figures: dict[str, Any]) -> list[str]:
    out = ['<section id="charts">', "<h2>Trends against the targets</h2>", '<div class="grid">']
    for a in figures["targets"]:
        clause = a["clause"]
        interp = f"<br><strong>Read as:</strong> {esc(clause['interpretation'])}" if clause.get("interpretation") else ""
        basis = f" ({esc(a['gap']['basis'])})" if a["gap"].get("basis") else ""
        out.append(
            f'<figure id="fig-{esc(a["id"])}">'
            f"<h3>{esc(_title_of(a))} {_status_badge(a['status'])}</h3>"
            f"{chart_svg(a, years=figures['years'])}"
            f"<figcaption><strong>Plan:</strong> {_zh(clause['quote_zh'])} "
            f"({_zh(clause['document'])} clause {esc(clause['number'])}) — {esc(clause['gloss_en'])}{interp}<br>"
            f"<strong>Assessment:</strong> {esc(a['status_reason'])}<br>"
            f"<strong>Gap:</strong> {esc(tg.format_gap(a))}{basis}</figcaption>"
            "</figure>")
    out += ["</div>", "</section>"]
    return out


def _county_section(figures: dict[str, Any]) -> list[str]:
    year = figures["assessment_year"]
    latest = {str(r["county_code"]): r for r in figures["counties"] if r["year"] == year}
    rows = [latest.get(code, {"county_code": code, "county_name": name})
            for code, name in figures["county_names"].items()]
    by_target = {a["indicator"]: a for a in figures["targets"] if a.get("counties")}
    out = ['<section id="counties">', f"<h2>By county, 31 Dec {year}</h2>",
           '<table id="county-table">',
           "<thead><tr><th>County</th><th class=\"num\">Buses</th><th class=\"num\">NE buses</th>"
           "<th class=\"num\">NE bus share</th><th>Bus target</th><th class=\"num\">Taxis</th>"
           "<th class=\"num\">NE taxis</th><th class=\"num\">NE taxi share</th><th>Taxi target</th></tr></thead>",
           "<tbody>"]

    def status_cell(indicator: str, code: str) -> str:
        a = by_target.get(indicator)
        c = next((c for c in (a or {}).get("counties", []) if c["county_code"] == code), None)
        if c is None:
            return "<td>–</td>"
        gap = tg.format_gap({**a, **c})
        return f"<td>{_status_badge(c['status'])}<br><span class=\"small\">{esc(gap)}</span></td>"

    for r in rows:
        code = str(r["county_code"])
        out.append(
            "<tr>"
            f"<td>{_zh(str(r['county_name']))}<br><span class=\"small\">{esc(code)}</span></td>"
            f"<td class=\"num\">{_int(r.get('buses'))}</td><td class=\"num\">{_int(r.get('ne_buses'))}</td>"
            f"<td class=\"num\">{esc(tg.format_percent(r.get('ne_bus_share')))}</td>{status_cell('ne_bus_share', code)}"
            f"<td class=\"num\">{_int(r.get('taxis'))}</td><td class=\"num\">{_int(r.get('ne_taxis'))}</td>"
            f"<td class=\"num\">{esc(tg.format_percent(r.get('ne_taxi_share')))}</td>{status_cell('ne_taxi_share', code)}"
            "</tr>")
    out += ["</tbody></table>"]
    for col, label in (("ne_bus_share", "NE share of buses"), ("ne_taxi_share", "NE share of taxis")):
        out += _county_year_matrix(figures, col, label)
    out.append("</section>")
    return out


def _county_year_matrix(figures: dict[str, Any], col: str, label: str) -> list[str]:
    years = figures["years"][-11:]
    codes: dict[str, str] = dict(figures["county_names"])
    cells: dict[tuple[str, int], Any] = {}
    for r in figures["counties"]:
        cells[(str(r["county_code"]), r["year"])] = r.get(col)
    if not codes:
        return []
    head = "".join(f'<th class="num">{y}</th>' for y in years)
    out = [f"<h3>{esc(label)} by county and year (stock on 31 Dec)</h3>", f'<table class="matrix" id="matrix-{col}">',
           f"<thead><tr><th>County</th>{head}</tr></thead><tbody>"]
    for code, name in codes.items():
        tds = []
        for y in years:
            v = cells.get((code, y))
            shade = "" if v is None else f' style="background:rgba(31,95,168,{0.06 + 0.34 * float(v):.2f})"'
            tds.append(f'<td class="num"{shade}>{esc(tg.format_percent(v))}</td>')
        out.append(f"<tr><td>{_zh(name)}</td>{''.join(tds)}</tr>")
    out.append("</tbody></table>")
    return out


def _number(value: Any) -> str:
    return "–" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _int(value: Any) -> str:
    return "–" if value is None else f"{int(value):,}"


def _quality_section(figures: dict[str, Any]) -> list[str]:
    q = figures["data_quality"]
    accepted = q["rows_accepted"]
    out = ['<section id="quality">', "<h2>Data quality</h2>", '<table class="facts"><tbody>',
           f"<tr><th>Rows read (vehicles, activity, depots)</th><td class=\"num\">{q['rows_read']:,}</td></tr>",
           f"<tr><th>Vehicles accepted</th><td class=\"num\">{accepted['vehicles']:,}</td></tr>",
           f"<tr><th>Activity rows accepted</th><td class=\"num\">{accepted['activity']:,}</td></tr>",
           f"<tr><th>Depots accepted</th><td class=\"num\">{accepted['depots']:,}</td></tr>",
           f"<tr><th>Rows quarantined (kept aside with file, row, field and reason)</th>"
           f"<td class=\"num\">{q['quarantined_rows']:,}</td></tr>",
           f"<tr><th>Years covered</th><td class=\"num\">{q['first_year']}–{q['last_year']}</td></tr>",
           "</tbody></table>"]
    if q["vehicles_by_class"]:
        out.append('<p class="small">Accepted vehicles by class: ' + ", ".join(
            f"{esc(k)} {v:,}" for k, v in q["vehicles_by_class"].items()) + ".</p>")
    if not q["quarantine_by_reason"]:
        out += ["<p>No row was quarantined.</p>", "</section>"]
        return out
    out += ["<h3>Quarantine issues by field and reason</h3>",
            '<table id="quarantine-reasons"><thead><tr><th>Field</th><th>Reason</th><th class="num">Issues</th>'
            "</tr></thead><tbody>"]
    out += [f"<tr><td>{esc(r['field'])}</td><td>{esc(r['reason'])}</td><td class=\"num\">{r['issues']:,}</td></tr>"
            for r in q["quarantine_by_reason"]]
    out.append("</tbody></table>")
    out += ['<p class="small">By file: ' + "; ".join(f"{esc(f['file'])} {f['issues']:,}"
                                                      for f in q["quarantine_by_file"]) + ".</p>"]
    out += [f"<h3>First {len(q['quarantine_sample'])} of {q['quarantine_issues']:,} quarantine issues</h3>",
            '<table id="quarantine-sample"><thead><tr><th>File</th><th class="num">Row</th><th>Field</th>'
            "<th>Value</th><th>Reason</th></tr></thead><tbody>"]
    out += [f"<tr><td>{esc(s['file'])}</td><td class=\"num\">{esc(str(s['row']))}</td><td>{esc(s['field'])}</td>"
            f"<td>{esc(s['value'])}</td><td>{esc(s['reason'])}</td></tr>" for s in q["quarantine_sample"]]
    out += ["</tbody></table>", "</section>"]
    return out


def _method_section(figures: dict[str, Any]) -> list[str]:
    level = int(figures["method"]["interval_level"] * 100)
    out = ['<section id="method">', "<h2>Method and sources</h2>", "<ul>",
           "<li><strong>Stock</strong> in year Y: vehicles registered on or before 31 Dec Y and not deregistered by "
           "then; <strong>additions</strong>: vehicles registered in Y. New energy (NE) = BEV, PHEV, FCEV; clean "
           "energy = CNG, LNG.</li>",
           f"<li><strong>Projection</strong>: shares by a {esc(figures['method']['shares'])}; the intensity by a "
           f"{esc(figures['method']['intensity'])}. The band is the {level} % interval of the fitted trend, its "
           "spread taken from the years' scatter around it (never less than binomial counting noise).</li>",
           "<li><strong>Gap</strong>: for a stock share, the vehicles of the class still to switch to new energy "
           "divided by the years left; for a flow share, (target − projected share) × the mean additions of the "
           "latest 3 years; for the intensity, the CO2 to cut in the target year at the latest converted turnover."
           "</li>",
           "</ul>", "<h3>Data sources</h3>", "<ul>",
           "<li><strong>Targets</strong>: "
           f"{_zh(figures['plan'].get('title', ''))} ({_zh(figures['plan'].get('document', ''))}, issued "
           f"{esc(figures['plan'].get('issued_on', ''))}), clause by clause as quoted in "
           f"{esc(figures['plan'].get('targets_file', ''))}.</li>",
           "<li><strong>Fleet records</strong>: vehicles (registration, deregistration, class, powertrain, "
           "county), activity of operating vehicles per year (passenger-km, tonne-km, energy by carrier) and "
           "depots, as read and checked by evplan; see the data-quality section.</li>",
           f"<li><strong>Shipped records</strong>: {esc(SHIPPED_DATA_NOTE)}</li>"]
    out.append("</ul>")
    if figures.get("emission_factors"):
        out += ["<h3>Emission factors (CO2 = energy used × factor)</h3>",
                '<table id="emission-factors"><thead><tr><th>Carrier</th><th class="num">kg CO2 per unit</th>'
                "<th>Unit</th><th>Source</th></tr></thead><tbody>"]
        out += [f"<tr><td>{esc(str(f.get('carrier', '')))}</td>"
                f"<td class=\"num\">{esc(_number(f.get('kg_co2_per_unit')))}</td>"
                f"<td>{esc(str(f.get('unit', '')))}</td><td class=\"small\">{esc(str(f.get('source', '')))}</td></tr>"
                for f in figures["emission_factors"]]
        out.append("</tbody></table>")
    if figures["not_assessed"]:
        out += ["<h3>Transport targets of the plan not assessed from fleet records</h3>",
                "<table><thead><tr><th>Clause</th><th>Target</th><th>Why not here</th></tr></thead><tbody>"]
        out += [f"<tr><td>{esc(n.get('clause', ''))}</td><td>{_zh(n.get('quote_zh', ''))}<br>"
                f"<span class=\"small\">{esc(n.get('gloss_en', ''))}</span></td><td>{esc(n.get('reason', ''))}</td></tr>"
                for n in figures["not_assessed"]]
        out.append("</tbody></table>")
    out.append("</section>")
    return out


# --------------------------------------------------------------------------------------------- charts

_W, _H = 560, 300
_ML, _MR, _MT, _MB = 54, 20, 16, 62


def chart_svg(assessed: dict[str, Any], *, years: Sequence[int] = ()) -> str:
    """One inline SVG chart: observed values, the dashed projection in its band, the target line and year.

    ``years`` are the record years, so that a chart without data still spans them.
    """
    is_share = assessed["kind"] != "intensity ratio"
    def fmt(v: float) -> str:
        return f"{100 * v:.0f} %" if is_share or abs(v) < 1e-9 else f"{100 * v:+.0f} %"

    observed = [(o["year"], o["value"]) for o in assessed["observed"]]
    path = [(p["year"], p["value"], p["low"], p["high"]) for p in assessed.get("projection_path", [])]
    target_value, target_year = assessed["target_value"], assessed["target_year"]
    span = [*years, *(y for y, _ in observed), *(p[0] for p in path), target_year]
    x0, x1 = min(span), max(span)
    if x1 == x0:
        x1 = x0 + 1
    if is_share:
        y0, y1 = 0.0, 1.0
    else:
        vals = [v for _, v in observed] + [v for p in path for v in p[1:]] + [target_value, 0.0]
        lo, hi = min(vals), max(vals)
        pad = max(0.02, 0.1 * (hi - lo))
        y0, y1 = math.floor((lo - pad) * 20) / 20, math.ceil((hi + pad) * 20) / 20
    pw, ph = _W - _ML - _MR, _H - _MT - _MB

    def sx(year: float) -> float:
        return _ML + (year - x0) / (x1 - x0) * pw

    def sy(value: float) -> float:
        value = min(max(value, y0), y1)
        return _MT + (1 - (value - y0) / (y1 - y0)) * ph

    title = f"{_title_of(assessed)}: target {tg.format_target(assessed)}"
    out = [f'<svg class="chart" id="chart-{esc(assessed["id"])}" xmlns="http://www.w3.org/2000/svg" '
           f'viewBox="0 0 {_W} {_H}" role="img" aria-label="{esc(title)}" font-size="11" fill="#1d2430">',
           f"<title>{esc(title)}</title>",
           f'<rect x="{_ML}" y="{_MT}" width="{pw}" height="{ph}" fill="#fbfcfd" stroke="#d9dee6"/>']
    n_ticks = 5 if is_share else max(2, min(8, round((y1 - y0) / 0.05)))
    for i in range(n_ticks + 1):
        v = y0 + (y1 - y0) * i / n_ticks
        out.append(f'<line x1="{_ML}" x2="{_ML + pw}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#e6e9ee"/>')
        out.append(f'<text x="{_ML - 6}" y="{sy(v) + 4:.1f}" text-anchor="end" fill="#5b6575">{esc(fmt(v))}</text>')
    step = 1 if x1 - x0 <= 12 else 2
    for y in range(int(x0), int(x1) + 1):
        if y != target_year and ((y - int(x0)) % step or abs(y - target_year) < step):
            continue
        out.append(f'<line x1="{sx(y):.1f}" x2="{sx(y):.1f}" y1="{_MT + ph}" y2="{_MT + ph + 4}" stroke="#9aa3af"/>')
        style = 'fill="#c62828" font-weight="600"' if y == target_year else 'fill="#5b6575"'
        out.append(f'<text x="{sx(y):.1f}" y="{_MT + ph + 16}" text-anchor="middle" {style}>{y}</text>')
    if not is_share:
        out.append(f'<line x1="{_ML}" x2="{_ML + pw}" y1="{sy(0):.1f}" y2="{sy(0):.1f}" stroke="#9aa3af"/>')
    # target: tolerance band, line, year and marker
    if assessed.get("comparison") == "≈" and assessed.get("tolerance"):
        lo_t = target_value - assessed["tolerance"]
        out.append(f'<rect x="{_ML}" y="{sy(target_value):.1f}" width="{pw}" '
                   f'height="{sy(lo_t) - sy(target_value):.1f}" fill="#c62828" fill-opacity="0.08"/>')
    out.append(f'<line x1="{sx(target_year):.1f}" x2="{sx(target_year):.1f}" y1="{_MT}" y2="{_MT + ph}" '
               'stroke="#c62828" stroke-dasharray="2 3" stroke-opacity="0.7"/>')
    out.append(f'<line x1="{_ML}" x2="{_ML + pw}" y1="{sy(target_value):.1f}" y2="{sy(target_value):.1f}" '
               'stroke="#c62828" stroke-width="1.5" stroke-dasharray="7 4"/>')
    tx, ty = sx(target_year), sy(target_value)
    out.append(f'<path d="M{tx:.1f},{ty - 6:.1f} L{tx + 6:.1f},{ty:.1f} L{tx:.1f},{ty + 6:.1f} L{tx - 6:.1f},{ty:.1f} Z" '
               f'fill="#c62828"><title>{esc(tg.format_target(assessed))}</title></path>')
    # projection band and line
    if len(path) >= 2:
        upper = " ".join(f"{sx(y):.1f},{sy(h):.1f}" for y, _, _, h in path)
        lower = " ".join(f"{sx(y):.1f},{sy(lo):.1f}" for y, _, lo, _ in reversed(path))
        out.append(f'<polygon points="{upper} {lower}" fill="#1f5fa8" fill-opacity="0.14"/>')
        line = " ".join(f"{sx(y):.1f},{sy(v):.1f}" for y, v, _, _ in path)
        out.append(f'<polyline points="{line}" fill="none" stroke="#1f5fa8" stroke-width="2" stroke-dasharray="6 4"/>')
        ey, ev = path[-1][0], path[-1][1]
        out.append(f'<circle cx="{sx(ey):.1f}" cy="{sy(ev):.1f}" r="3.5" fill="#fff" stroke="#1f5fa8" stroke-width="2">'
                   f"<title>projected {ey}: {esc(tg.format_projection(assessed))}</title></circle>")
    # observed
    if observed:
        pts = " ".join(f"{sx(y):.1f},{sy(v):.1f}" for y, v in observed)
        out.append(f'<polyline points="{pts}" fill="none" stroke="#1d2430" stroke-width="2"/>')
        for y, v in observed:
            out.append(f'<circle cx="{sx(y):.1f}" cy="{sy(v):.1f}" r="3" fill="#1d2430">'
                       f"<title>{y}: {esc(tg.format_value(assessed, v))}</title></circle>")
        ly, lv = observed[-1]
        above = sy(lv) > _MT + 24
        out.append(f'<text x="{sx(ly):.1f}" y="{sy(lv) + (-9 if above else 16):.1f}" text-anchor="middle" '
                   f'font-weight="600">{esc(tg.format_value(assessed, lv))}</text>')
    else:
        out.append(f'<text x="{_ML + pw / 2:.1f}" y="{_MT + ph / 2:.1f}" text-anchor="middle" fill="#5b6575">'
                   "no data</text>")
    out += _legend(_MT + ph + 34, "target " + tg.format_target(assessed))
    out.append("</svg>")
    return "".join(out)


def _legend(y: float, target_label: str) -> list[str]:
    items: Sequence[tuple[str, str]] = (
        ('<line x1="0" x2="22" y1="0" y2="0" stroke="#1d2430" stroke-width="2"/>', "observed"),
        ('<line x1="0" x2="22" y1="0" y2="0" stroke="#1f5fa8" stroke-width="2" stroke-dasharray="6 4"/>', "projection"),
        ('<rect x="0" y="-6" width="22" height="12" fill="#1f5fa8" fill-opacity="0.14"/>',
         f"{int(INTERVAL_LEVEL * 100)} % band"),
        ('<line x1="0" x2="22" y1="0" y2="0" stroke="#c62828" stroke-width="1.5" stroke-dasharray="7 4"/>',
         target_label),
    )
    out, x = [], _ML
    for glyph, label in items:
        colour = "#c62828" if glyph.count("#c62828") else "#5b6575"
        out.append(f'<g transform="translate({x},{y})">{glyph}<text x="28" y="4" fill="{colour}">{esc(label)}</text></g>')
        x += 40 + 6 * len(label)
    return out
