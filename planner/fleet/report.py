"""The fleet-share report: every transport target of clauses 21-22 with its status and levers, in Chinese or English.

One self-contained HTML page (inline CSS and SVG charts drawn here, no scripts, no network, A4 print
styles) plus the same figures as JSON and a long CSV. The CLI (``evplan fleet report``, ``evplan plan``)
writes it with ``write_report``; the service stores ``build_report``'s HTML and figures on its schedule.
Both take the records' ``fleet_series`` as ``series=`` so that it is computed once per run.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from planner._io import write_text_atomic
from planner.errors import RecordError
from planner.fleet import assessment as tg
from planner.fleet.charging import assess_service_area_charging
from planner.fleet.decomposition import TERMS, decompose_co2
from planner.fleet.hindcast import INTERVAL_LEVEL, run_hindcast
from planner.fleet.i18n import (
    LABELS,
    LANGS,
    Lang,
    clause_22_reason,
    default_language,
    goal,
    label_or,
    lever,
    reason,
    status,
    t,
)
from planner.fleet.indicators import FleetSeries, fleet_series
from planner.fleet.records import FleetRecords
from planner.fleet.schema import BASE_YEAR, NE_POWERTRAINS
from planner.fleet.targets import TargetSet
from planner.fleet.turnover import DEFAULT_SCENARIO, AdditionsScenario, Cutoff

#: Times on the report are in this zone unless the targets file's [plan] says ``timezone``.
DEFAULT_TIMEZONE = "Asia/Shanghai"
#: The hindcast the report states: fitted to the first year, projected to the second (if the records span them).
HINDCAST_CHECK = (2021, 2025)

STATUS_COLOURS = {  # (text, background)
    tg.MET: ("#0f5323", "#d3f0dc"),
    tg.ON_TRACK: ("#1a6a35", "#e6f4ea"),
    tg.AT_RISK: ("#7a4a00", "#fdefc8"),
    tg.OFF_TRACK: ("#8e1b1b", "#fbdcdc"),
    tg.NO_DATA: ("#4a4a4a", "#e8e8e8"),
    "not assessed": ("#4a4a4a", "#e8e8e8"),
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
    """A built report: the figures (JSON-ready), the HTML page (in ``figures["lang"]``) and the CSV text."""

    figures: dict[str, Any]
    html: str
    csv: str

    def html_in(self, lang: Lang, *, print_zoom: float = 1.0) -> str:
        """The same figures rendered in another language."""
        return render_html(self.figures, lang=lang, print_zoom=print_zoom)


def build_report(records: FleetRecords, *, targets: TargetSet, year: int | None = None,
                 synthetic: bool | None = None, generated_at: str | None = None,
                 series: FleetSeries | None = None, lang: str | None = None,
                 plan_summary: Mapping[str, Any] | None = None,
                 scenario: AdditionsScenario = DEFAULT_SCENARIO) -> Report:
    """Build the fleet-share report for the assessment ``year`` (default: the records' cut-off).

    Parameters
    ----------
    records
        ``FleetRecords``; ``records.quarantine`` (if any) feeds the data-quality section.
    targets
        Targets file contents (``targets.targets_for`` or ``load_target_set``).
    year
        Assessment year; the records are cut at its 31 Dec.
    synthetic
        Whether the records are synthetic (a banner says so) or real (no banner); default: what the
        records say, else unknown, and the banner says that the shipped records are synthetic.
    generated_at
        Timestamp to print (ISO 8601); default now, in the plan's time zone (Asia/Shanghai).
    series
        The records' ``fleet_series``, when the caller has it already (it is not computed again).
    lang
        ``"zh"`` or ``"en"``; default ``i18n.default_language`` of the targets file's [plan].
    plan_summary
        A plan's ``summary.json`` (``charging.load_plan_summary``) for clause 22 and 车桩比; None: the
        report says "not assessed: no plan given".
    scenario
        The additions scenario of the projections.
    """
    target_set = targets
    language: Lang = _language(lang, target_set)
    full = series if series is not None else fleet_series(records)
    assessed_objs = tg.assess_targets(records, targets=target_set, year=year, series=full, scenario=scenario)
    cutoff = assessed_objs[0].cutoff if assessed_objs else Cutoff.of_records(records)
    cut_year = min(cutoff.complete_year, full.years[-1]) if cutoff.complete_year >= full.years[0] else full.years[-1]
    series = full.up_to(cut_year).with_county_names(target_set.counties)
    names_en = target_set.english_names(series.county_names)
    assessed = [a.to_dict() for a in assessed_objs]
    zone = ZoneInfo(target_set.plan.get("timezone", DEFAULT_TIMEZONE))
    figures = _figures(records, series, assessed, target_set, names_en,
                       synthetic=_is_synthetic(records) if synthetic is None else synthetic,
                       generated_at=generated_at or datetime.now(zone).isoformat(timespec="seconds"))
    figures["lang"] = language
    figures["data_cutoff"] = cutoff.to_dict()
    figures["scenario"] = scenario.name
    figures["clause_22"] = _clause_22(records, cutoff, plan_summary)
    figures["decomposition"] = _decompositions(records, series, cut_year)
    figures["hindcast"] = _hindcast(records, full)
    figures = json.loads(json.dumps(figures, ensure_ascii=False, default=_json_default))
    return Report(figures=figures, html=render_html(figures, lang=language), csv=_csv(series, names_en))


def _language(lang: str | None, target_set: TargetSet) -> Lang:
    if lang is None:
        return default_language(target_set.plan)
    if lang not in LANGS:
        raise ValueError(f"report language {lang!r}: expected one of {', '.join(LANGS)}")
    return lang  # type: ignore[return-value]


def write_report(records: FleetRecords, *, out_dir: Path | str, targets: TargetSet, year: int | None = None,
                 synthetic: bool | None = None, series: FleetSeries | None = None, lang: str | None = None,
                 plan_summary: Mapping[str, Any] | None = None, other_language: bool = False,
                 scenario: AdditionsScenario = DEFAULT_SCENARIO, pdf: bool = False,
                 chromium: str | None = None) -> list[Path]:
    """Write ``report.html`` (in ``lang``), ``report.json`` and ``report.csv`` to ``out_dir``, each atomically.

    With ``other_language`` the page is also written in the other language beside it
    (``report.en.html`` or ``report.zh.html``). With ``pdf`` each page is fitted for A4 print
    (``fit_for_print``: headless Chromium, and pypdf to measure the pages), written with the fitted print
    zoom, and printed beside it (``report.pdf``, ``report.en.pdf``). The other options are those of
    ``build_report``; returns the paths written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = build_report(records, year=year, targets=targets, synthetic=synthetic, series=series, lang=lang,
                          plan_summary=plan_summary, scenario=scenario)
    texts = {
        "report.html": report.html,
        "report.json": json.dumps(report.figures, ensure_ascii=False, indent=2, allow_nan=False) + "\n",
        "report.csv": report.csv,
    }
    if other_language:
        other = next(x for x in LANGS if x != report.figures["lang"])
        texts[f"report.{other}.html"] = report.html_in(other)
    pdfs: dict[str, bytes] = {}
    if pdf:
        from planner.fleet import printing

        for name in [n for n in texts if n.endswith(".html")]:
            fit = printing.fit_for_print(texts[name], chromium=chromium)
            texts[name] = fit.html
            pdfs[name.removesuffix(".html") + ".pdf"] = fit.pdf
    paths = [write_text_atomic(out / name, text) for name, text in texts.items()]
    for name, data in pdfs.items():
        tmp = out / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(out / name)
        paths.append(out / name)
    return paths


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
             names_en: Mapping[str, str], *, synthetic: bool | None, generated_at: str) -> dict[str, Any]:
    """The report's figures. As with ``city`` and ``city_en``, ``county_name(s)`` are the plan's own (Chinese)
    names and ``county_name(s)_en`` the English ones, whatever the page's language: both pages render from them.
    """
    city = series.city.copy()
    county_cols = ["year", "county"] + [c for c in ("buses", "ne_buses", "ne_bus_share", "taxis", "ne_taxis",
                                                     "ne_taxi_share") if c in series.counties]
    counties = series.counties[county_cols].copy() if len(series.counties) else pd.DataFrame(columns=county_cols)
    counties.insert(2, "county_name", [series.county_names.get(str(c), str(c)) for c in counties["county"]])
    counties.insert(3, "county_name_en", [names_en.get(str(c), str(c)) for c in counties["county"]])
    counties = counties.rename(columns={"county": "county_code"})
    statuses = Counter(a["status"] for a in assessed)
    plan = target_set.plan
    grid = getattr(records, "grid_factors", None)
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
        "county_names_en": dict(names_en),
        "counties": _table_records(counties),
        "data_quality": _data_quality(records, series),
        "not_assessed": [n for n in target_set.not_assessed if n.get("clause") != "22"],
        "synthetic": synthetic,
        "emission_factors": _emission_factors(records),
        "grid_factors": [] if grid is None else _table_records(grid),
        "method": {
            "interval_level": INTERVAL_LEVEL,
            "projection": LABELS["m_projection_text"].en,
            "intervals": LABELS["m_intervals_text"].en.format(level=int(INTERVAL_LEVEL * 100)),
            "status_rules": STATUS_RULES,
        },
    }


#: The status rules as the figures carry them (the report words them in its language from ``i18n``).
STATUS_RULES = {k: LABELS[f"rule.{k}"].en for k in (*tg.STATUS_ORDER, tg.NO_DATA)}


def _clause_22(records: FleetRecords, cutoff: Cutoff, summary: Mapping[str, Any] | None) -> dict[str, Any]:
    v = records.vehicles
    d = cutoff.date
    in_stock = (v["registered_on"] <= d) & ~(v["deregistered_on"] <= d) & v["powertrain"].isin(NE_POWERTRAINS)
    evs = v[in_stock.to_numpy(dtype=bool)]["county_code"].astype(str).value_counts().sort_index()
    return assess_service_area_charging(summary, evs_by_county={k: int(n) for k, n in evs.items()},
                                        as_of=_as_date(d)).to_dict()


def _as_date(value: Any) -> date:
    """A cut-off as a ``datetime.date`` (it may be a pandas or numpy timestamp)."""
    return pd.Timestamp(value).date()


def _decompositions(records: FleetRecords, series: FleetSeries, year: int) -> list[dict[str, Any]]:
    out = []
    for area in (None, *series.county_names):
        try:
            out.append(decompose_co2(records, base_year=BASE_YEAR, year=year, area=area).to_dict())
        except RecordError:
            continue
    return out


def _hindcast(records: FleetRecords, series: FleetSeries) -> dict[str, Any] | None:
    fit, to = HINDCAST_CHECK
    if not (series.years[0] < fit < to <= series.years[-1]):
        return None
    cov = run_hindcast(records, series=series).coverage(fit_to=fit, project_to=to)
    return cov.to_dict() if cov.cases else None


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


def _csv(series: FleetSeries, names_en: Mapping[str, str]) -> str:
    """Long table: one row per year, scope (city or county) and indicator; counties named in Chinese and English."""
    rows = []
    for frame, scope in ((series.city, "city"), (series.counties, "county")):
        if frame.empty:
            continue
        for col in _scalar_columns(frame):
            for rec in frame[["year", col] + (["county"] if scope == "county" else [])].itertuples(index=False):
                code = str(rec[2]) if scope == "county" else ""
                rows.append({"year": int(rec[0]), "scope": scope, "county_code": code,
                             "county_name": series.county_names.get(code, "") if code else "",
                             "county_name_en": names_en.get(code, "") if code else "",
                             "indicator": col, "value": _clean(rec[1]), "unit": _unit(col)})
    buf = io.StringIO()
    columns = ["year", "scope", "county_code", "county_name", "county_name_en", "indicator", "value", "unit"]
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

#: The print zoom of a page not fitted (``fit_for_print`` writes the fitted one into this rule).
PRINT_FIT_RULE = "@media print {{ main {{ zoom: {zoom:.3f}; }} }} /* print fit */"
_PRINT_FIT_RE = re.compile(r"@media print \{ main \{ zoom: ([0-9.]+); \} \} /\* print fit \*/")

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
h3 { font-size: 15px; margin: 10px 0 6px; }
h1, h2, h3, .chips, .lead { break-after: avoid; page-break-after: avoid; }
p, li { orphans: 2; widows: 2; }
.sub { color: var(--muted); margin: 0; }
.note { background:#fff7e0; border-left: 4px solid #d79b00; padding: 10px 14px; margin: 14px 0; }
.chips { display:flex; gap:8px; flex-wrap:wrap; margin: 8px 0 12px; }
.chip, .status { display:inline-block; border-radius: 999px; padding: 1px 10px; font-weight: 600; font-size: 12.5px;
  white-space: nowrap; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13px; }
thead { display: table-header-group; }
table.facts { width: auto; min-width: 50%; }
tr, .keep { break-inside: avoid; page-break-inside: avoid; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.quote { font-size: 12.5px; color: var(--muted); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 12px; background: #fff;
  break-inside: avoid; page-break-inside: avoid; }
figcaption { font-size: 12.5px; color: var(--muted); margin-top: 6px; }
svg.chart { width: 100%; height: auto; display: block; }
.small { font-size: 12px; color: var(--muted); }
code { font-size: 0.92em; }
cite { font-style: normal; }
footer { margin-top: 28px; font-size: 12px; color: var(--muted); }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { background:#fff; font-size: 11.5px; }
  main { padding: 0; max-width: none; }
  .grid { grid-template-columns: 1fr 1fr; gap: 8px; }
  figure { padding: 6px; }
  figcaption { font-size: 10.5px; }
  svg.chart { width: auto; height: 44mm; max-width: 100%; margin: 0 auto; }
  table { font-size: 11px; }
  th, td { padding: 3px 5px; }
  h2 { margin-top: 16px; }
}
"""


def _status_badge(value: str, lang: Lang = "en") -> str:
    fg, bg = STATUS_COLOURS.get(value, STATUS_COLOURS[tg.NO_DATA])
    return f'<span class="status" data-status="{esc(value)}" style="color:{fg};background:{bg}">{esc(status(lang, value))}</span>'


def _zh(text: str) -> str:
    return f'<span lang="zh-CN">{esc(text)}</span>'


def _verbatim(text: str) -> str:
    """Text shown as written in the input files (a source citation, a checker's message, a scenario's name)."""
    return f'<cite class="verbatim">{esc(text)}</cite>'


def _with_code(text: str, *codes: str) -> str:
    """``text`` escaped, with each of ``codes`` (a command, a file name) set as code."""
    out = esc(text)
    for c in codes:
        out = out.replace(esc(c), f"<code>{esc(c)}</code>")
    return out


def _title_of(a: dict[str, Any], lang: Lang = "en") -> str:
    return label_or(lang, "title", a["indicator"])


def _clause_label(lang: Lang, number: str) -> str:
    return t(lang, "clause", n=number)


def projection_text(a: Mapping[str, Any], lang: Lang) -> str:
    """``assessment.format_projection`` in ``lang`` (the same numbers; "to" between an interval's ends is 至)."""
    text = tg.format_projection(a)
    return text.replace(" to ", " 至 ") if lang == "zh" else text


def _pct(value: float | None, *, signed: bool = False) -> str:
    return tg.format_percent(value, signed=signed)


def _goal(a: Mapping[str, Any], lang: Lang) -> str:
    return goal(lang, a, _pct)


def _names(figures: Mapping[str, Any], lang: Lang) -> dict[str, str]:
    """County code -> name in ``lang`` (English names fall back to the Chinese where the file gives one name)."""
    names = dict(figures.get("county_names") or {})
    if lang == "en":
        english = figures.get("county_names_en") or {}
        return {code: english.get(code) or name for code, name in names.items()}
    return names


def _county(name: str, lang: Lang) -> str:
    """A county's name as HTML; Chinese text is marked as such on the English page."""
    return _zh(name) if lang == "zh" or any(ord(ch) > 0x2e7f for ch in name) else esc(name)


def render_html(figures: dict[str, Any], *, lang: Lang | None = None, print_zoom: float = 1.0) -> str:
    """The report page from its figures (every text escaped; no scripts, no external resources).

    ``print_zoom`` scales the printed page (``fit_for_print`` finds the zoom at which no page is more
    than half blank); the screen view is not affected.
    """
    lang = lang or figures.get("lang", "en")
    city = figures.get("city", "") if lang == "zh" else " ".join(
        x for x in (figures.get("city"), figures.get("city_en")) if x)
    year = figures["assessment_year"]
    plan = figures["plan"]
    cut = figures.get("data_cutoff") or {"date": f"{year}-12-31", "flow_start": f"{year}-01-01",
                                         "flow_end": f"{year}-12-31"}
    when = t(lang, "records_to", date=cut["date"], start=cut["flow_start"], end=cut["flow_end"])
    title = t(lang, "title")
    note_city = figures.get("city", "") if lang == "zh" else (figures.get("city_en") or figures.get("city", ""))
    shipped = _with_code(t(lang, "shipped_note", dir="data/fleet"), "data/fleet")
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{t(lang, "html_lang")}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)} — {esc(city)} — {esc(cut['date'])}</title>",
        f"<style>{CSS}{PRINT_FIT_RULE.format(zoom=print_zoom)}</style>",
        "</head>",
        f'<body data-lang="{esc(lang)}"><main>',
        "<header>",
        f"<h1>{esc(title)} — {esc(city)}</h1>",
        (f'<p class="sub" id="cutoff">{esc(when)}{esc(t(lang, "stop"))}{esc(t(lang, "against"))} '
         f"{_zh(plan.get('title', ''))}{esc(t(lang, 'open'))}{_zh(plan.get('document', ''))}{esc(t(lang, 'comma'))}"
         f"{esc(t(lang, 'issued'))} {esc(plan.get('issued_on', ''))}{esc(t(lang, 'close'))}{esc(t(lang, 'stop'))}"
         f"{esc(t(lang, 'generated', at=_local_time(figures['generated_at'], lang)))}</p>"),
        "</header>",
    ]
    if figures.get("synthetic") is True:
        parts.append(f'<div class="note" id="data-note"><strong>{esc(t(lang, "synthetic"))}</strong> {shipped} '
                     f"{esc(t(lang, 'synthetic_note', city=note_city))}</div>")
    elif figures.get("synthetic") is None:
        parts.append(f'<div class="note" id="data-note"><strong>{esc(t(lang, "about_data"))}</strong> {shipped} '
                     f"{esc(t(lang, 'unknown_note', city=note_city))}</div>")
    parts += _summary_section(figures, lang)
    parts += _charts_section(figures, lang)
    parts += _county_section(figures, lang)
    parts += _operators_section(figures, lang)
    parts += _clause22_section(figures, lang)
    parts += _decomposition_section(figures, lang)
    parts += _quality_section(figures, lang)
    parts += _method_section(figures, lang)
    targets_file = plan.get("targets_file", "")
    parts.append(f"<footer>evplan · {esc(title)} · {esc(city)} · {esc(when)} · "
                 f"<code>{esc(targets_file)}</code></footer>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _colon(lang: Lang) -> str:
    return "：" if lang == "zh" else ": "


def _local_time(iso: str, lang: Lang) -> str:
    """The report's timestamp as a reader writes it in ``lang`` (zh: ``2026-12-02 09:47:00``, no "T")."""
    return iso.replace("T", " ", 1)[:19] if lang == "zh" else iso


def _fmt_value(a: dict[str, Any], value: Any) -> str:
    return tg.format_value(a, value)


def _reason(a: Mapping[str, Any], lang: Lang, names: Mapping[str, str], *, own: bool = False) -> str:
    if lang == "en" and not own:
        return str(a.get("status_reason", ""))
    return reason(lang, a, _pct, names=names, own=own)


def _summary_section(figures: dict[str, Any], lang: Lang) -> list[str]:
    counts = Counter(a["status"] for a in figures["targets"])
    c22 = figures.get("clause_22") or {"status": "not assessed"}
    counts[c22["status"]] += 1
    chips = "".join(
        f'<span class="chip" style="color:{STATUS_COLOURS.get(s, STATUS_COLOURS[tg.NO_DATA])[0]};'
        f'background:{STATUS_COLOURS.get(s, STATUS_COLOURS[tg.NO_DATA])[1]}">{n} {esc(status(lang, s))}</span>'
        for s, n in counts.items() if n)
    level = int(figures["method"]["interval_level"] * 100)
    out = ['<section id="summary">', f"<h2>{esc(t(lang, 'at_a_glance'))}</h2>", f'<div class="chips">{chips}</div>',
           '<table id="targets-table">', (f'<thead><tr><th style="width:30%">{esc(t(lang, "col_target"))}</th>'
           f'<th class="num">{esc(t(lang, "col_goal"))}</th><th class="num">{esc(t(lang, "col_latest"))}</th>'
           f'<th class="num">{t(lang, "col_projection", level=level)}</th><th>{esc(t(lang, "col_status"))}</th>'
           f"<th>{esc(t(lang, 'col_lever'))}</th></tr></thead>"), "<tbody>"]
    for a in figures["targets"]:
        latest = f"{_fmt_value(a, a['latest_value'])}" if a["latest_value"] is not None else "–"
        clause = a["clause"]
        scope = t(lang, "scope_county") if a["scope"] == "county" else t(lang, "scope_city")
        out.append(
            f'<tr id="target-{esc(a["id"])}">'
            f"<td><strong>{esc(_title_of(a, lang))}</strong> <span class=\"small\">({esc(scope)})</span>"
            f"<br><span class=\"quote\">{_zh(clause['quote_zh'])} — {_zh(clause['document'])} "
            f"{esc(_clause_label(lang, clause['number']))}</span></td>"
            f"<td class=\"num\">{esc(_goal(a, lang))}</td>"
            f"<td class=\"num\">{esc(latest)}</td>"
            f"<td class=\"num\">{esc(projection_text(a, lang))}</td>"
            f"<td>{_status_badge(a['status'], lang)}</td>"
            f"<td>{esc(lever(lang, a, _pct))}</td>"
            "</tr>")
    sides = c22.get("sides_with_station")
    c22_reason = clause_22_reason(lang, c22)
    out.append(
        '<tr id="target-clause-22">'
        f"<td><strong>{esc(t(lang, 'clause22'))}</strong><br><span class=\"quote\">"
        f"{_zh(t(lang, 'c22_quote'))} — {_zh(figures['plan'].get('document', ''))} "
        f"{esc(_clause_label(lang, '22'))}</span></td>"
        f"<td class=\"num\">{esc(t(lang, 'goal_c22'))}</td>"
        f"<td class=\"num\">{esc('–' if c22.get('sides_meeting_today') is None else str(c22['sides_meeting_today']))}</td>"
        f"<td class=\"num\">{esc('–' if sides is None else str(sides) + (' / ' + str(c22['sides_total']) if c22.get('sides_total') else ''))}</td>"
        f"<td>{_status_badge(c22['status'], lang)}</td>"
        f"<td>{_with_code(c22_reason, 'evplan fleet report --plan-summary summary.json')}</td></tr>")
    scenario = figures.get("scenario", "")
    scenario_html = (esc(t(lang, "scenario_default")) if scenario == LABELS["scenario_default"].en
                     else _verbatim(scenario))
    rules = "; ".join(f"<strong>{esc(status(lang, k))}</strong>: {esc(t(lang, 'rule.' + k))}"
                      for k in (*tg.STATUS_ORDER, tg.NO_DATA)) if lang == "en" else "；".join(
        f"<strong>{esc(status(lang, k))}</strong>：{esc(t(lang, 'rule.' + k))}" for k in (*tg.STATUS_ORDER, tg.NO_DATA))
    out += ["</tbody></table>",
            (f'<p class="small" id="rules">{esc(t(lang, "scenario"))}{"：" if lang == "zh" else ": "}{scenario_html}'
            f'{"。" if lang == "zh" else ". "}{esc(t(lang, "rules"))}{"：" if lang == "zh" else ": "}{rules}'
            f'{"。" if lang == "zh" else "."}</p>')]
    hc = figures.get("hindcast")
    fit, to = HINDCAST_CHECK
    text = (t(lang, "hindcast_text", fit=hc["fit_to"], to=hc["project_to"], level=int(hc["level"] * 100),
              inside=hc["inside"], cases=hc["cases"], share=tg.format_percent(hc["share"]))
            if hc else t(lang, "no_hindcast", fit=fit, to=to))
    out.append(f'<p id="hindcast" class="keep"><strong>{esc(t(lang, "hindcast"))}</strong> {esc(text)}</p>')
    out.append("</section>")
    return out


def _charts_section(figures: dict[str, Any], lang: Lang) -> list[str]:
    names = _names(figures, lang)
    out = ['<section id="charts">', f"<h2>{esc(t(lang, 'charts'))}</h2>", '<div class="grid">']
    for a in figures["targets"]:
        clause = a["clause"]
        interp_text = clause.get("interpretation_zh") if lang == "zh" else clause.get("interpretation")
        interp = f"<br><strong>{esc(t(lang, 'read_as'))}{_colon(lang)}</strong>{esc(interp_text)}" if interp_text else ""
        gloss = f" — {esc(clause['gloss_en'])}" if lang == "en" else ""
        why = f"<br><strong>{esc(t(lang, 'assessment'))}{_colon(lang)}</strong>{esc(_reason(a, lang, names))}"
        scenario_value = (a.get("projection") or {}).get("scenario_value")
        if scenario_value is not None:
            why += f"<br>{esc(t(lang, 'scenario_only', value=_fmt_value(a, scenario_value)))}"
        out.append(
            f'<figure id="fig-{esc(a["id"])}">'
            f"<h3>{esc(_title_of(a, lang))} {_status_badge(a['status'], lang)}</h3>"
            f"{chart_svg(a, years=figures['years'], lang=lang)}"
            f"<figcaption><strong>{esc(t(lang, 'plan'))}{_colon(lang)}</strong>{_zh(clause['quote_zh'])} "
            f"({_zh(clause['document'])} {esc(_clause_label(lang, clause['number']))}){gloss}{interp}{why}<br>"
            f"<strong>{esc(t(lang, 'gap'))}{_colon(lang)}</strong>{esc(lever(lang, a, _pct))}</figcaption>"
            "</figure>")
    out += ["</div>", "</section>"]
    return out


def _county_section(figures: dict[str, Any], lang: Lang) -> list[str]:
    year = figures["assessment_year"]
    date = (figures.get("data_cutoff") or {}).get("date", f"{year}-12-31")
    latest = {str(r["county_code"]): r for r in figures["counties"] if r["year"] == year}
    names = _names(figures, lang)
    rows = [latest.get(code, {"county_code": code}) for code in figures["county_names"]]
    by_target = {a["indicator"]: a for a in figures["targets"] if a.get("counties")}
    h = {k: esc(t(lang, k)) for k in ("county", "buses", "ne_buses", "ne_bus_share", "bus_target", "taxis",
                                      "ne_taxis", "ne_taxi_share", "taxi_target")}
    out = ['<section id="counties">', f"<h2>{esc(t(lang, 'by_county', date=date))}</h2>",
           '<table id="county-table">',
           (f"<thead><tr><th>{h['county']}</th><th class=\"num\">{h['buses']}</th><th class=\"num\">{h['ne_buses']}</th>"
           f"<th class=\"num\">{h['ne_bus_share']}</th><th>{h['bus_target']}</th><th class=\"num\">{h['taxis']}</th>"
           f"<th class=\"num\">{h['ne_taxis']}</th><th class=\"num\">{h['ne_taxi_share']}</th><th>{h['taxi_target']}</th>"
           "</tr></thead>"), "<tbody>"]

    def status_cell(indicator: str, code: str) -> str:
        a = by_target.get(indicator)
        c = next((c for c in (a or {}).get("counties", []) if c["county_code"] == code), None)
        if c is None:
            return "<td>–</td>"
        return (f"<td>{_status_badge(c['status'], lang)}<br>"
                f"<span class=\"small\">{esc(lever(lang, {**a, **c}, _pct))}</span></td>")

    for r in rows:
        code = str(r["county_code"])
        name, zh_name = names.get(code, code), figures["county_names"].get(code, code)
        # the English page keeps the plan's own name beside the code, as it quotes the plan beside its gloss
        small = esc(code) if name == zh_name else f"{_zh(zh_name)} · {esc(code)}"
        out.append(
            "<tr>"
            f"<td>{_county(name, lang)}<br><span class=\"small\">{small}</span></td>"
            f"<td class=\"num\">{_int(r.get('buses'))}</td><td class=\"num\">{_int(r.get('ne_buses'))}</td>"
            f"<td class=\"num\">{esc(tg.format_percent(r.get('ne_bus_share')))}</td>{status_cell('ne_bus_share', code)}"
            f"<td class=\"num\">{_int(r.get('taxis'))}</td><td class=\"num\">{_int(r.get('ne_taxis'))}</td>"
            f"<td class=\"num\">{esc(tg.format_percent(r.get('ne_taxi_share')))}</td>{status_cell('ne_taxi_share', code)}"
            "</tr>")
    out += ["</tbody></table>"]
    for col in ("ne_bus_share", "ne_taxi_share"):
        out += _county_year_matrix(figures, col, t(lang, col), lang)
    out.append("</section>")
    return out


def _county_year_matrix(figures: dict[str, Any], col: str, label: str, lang: Lang) -> list[str]:
    years = figures["years"][-11:]
    codes = _names(figures, lang)
    cells: dict[tuple[str, int], Any] = {}
    for r in figures["counties"]:
        cells[(str(r["county_code"]), r["year"])] = r.get(col)
    if not codes:
        return []
    head = "".join(f'<th class="num">{y}</th>' for y in years)
    # no "keep" here: a long table breaks between rows (its head repeats) rather than leaving a gap
    out = [f'<h3>{esc(t(lang, "matrix", label=label))}</h3>',
           f'<table class="matrix" id="matrix-{col}">',
           f"<thead><tr><th>{esc(t(lang, 'county'))}</th>{head}</tr></thead><tbody>"]
    for code, name in codes.items():
        tds = []
        for y in years:
            v = cells.get((code, y))
            shade = "" if v is None else f' style="background:rgba(31,95,168,{0.06 + 0.34 * float(v):.2f})"'
            tds.append(f'<td class="num"{shade}>{esc(tg.format_percent(v))}</td>')
        out.append(f"<tr><td>{_county(name, lang)}</td>{''.join(tds)}</tr>")
    out.append("</tbody></table>")
    return out


def _operator_name(name: str, lang: Lang) -> str:
    return esc(t(lang, "operator_not_recorded")) if name == tg.OPERATOR_NOT_RECORDED else _zh(name)


def _operators_section(figures: dict[str, Any], lang: Lang) -> list[str]:
    stock = [a for a in figures["targets"] if a["kind"] == "stock share"]
    names = _names(figures, lang)
    date = (figures.get("data_cutoff") or {}).get("date", "")
    out = ['<section id="operators">', f"<h2>{esc(t(lang, 'operators'))}</h2>"]
    rows = [(a, o) for a in stock for o in a.get("operators_to_switch", [])]
    if not rows:
        out += [f"<p>{esc(t(lang, 'none_left'))}</p>", "</section>"]
        return out
    out += [f'<p class="small lead">{esc(t(lang, "operators_note", date=date))}</p>',
            ('<table id="operators-table"><thead><tr>'
            f"<th>{esc(t(lang, 'class'))}</th><th>{esc(t(lang, 'operator'))}</th><th>{esc(t(lang, 'county'))}</th>"
            f"<th class=\"num\">{esc(t(lang, 'vehicles'))}</th><th class=\"num\">{esc(t(lang, 'last_scrap'))}</th>"
            "</tr></thead><tbody>")]
    out += [f"<tr><td>{esc(label_or(lang, 'class', str((a.get('gap') or {}).get('vehicle_class') or '')))}</td>"
            f"<td>{_operator_name(o['operator'], lang)}</td>"
            f"<td>{_county(names.get(o['county_code'], o['county_code']), lang)}</td>"
            f"<td class=\"num\">{o['vehicles']:,}</td>"
            f"<td class=\"num\">{esc(o.get('last_scrapping_on') or '–')}</td></tr>"
            for a, o in rows]
    out += ["</tbody></table>", "</section>"]
    return out


def _clause22_section(figures: dict[str, Any], lang: Lang) -> list[str]:
    c = figures.get("clause_22") or {}
    names = _names(figures, lang)

    def cell(v: Any) -> str:
        return esc(t(lang, "not_given")) if v is None else esc(f"{v:,}" if isinstance(v, int) else str(v))

    out = ['<section id="clause-22">', f"<h2>{esc(t(lang, 'clause22'))} {_status_badge(c.get('status', 'not assessed'), lang)}</h2>",
           f"<p>{_with_code(clause_22_reason(lang, c), 'evplan fleet report --plan-summary summary.json')}</p>",
           '<table class="facts"><tbody>',
           f"<tr><th>{esc(t(lang, 'sides_with_station'))}</th><td class=\"num\">{cell(c.get('sides_with_station'))}</td></tr>",
           f"<tr><th>{esc(t(lang, 'sides_total'))}</th><td class=\"num\">{cell(c.get('sides_total'))}</td></tr>",
           f"<tr><th>{esc(t(lang, 'sides_today'))}</th><td class=\"num\">{cell(c.get('sides_meeting_today'))}</td></tr>",
           "</tbody></table>"]
    if c.get("closed_service_areas"):
        out += [f'<h3>{esc(t(lang, "closed"))}</h3>', '<ul id="closed-service-areas">']
        out += [f"<li>{_zh(x)}</li>" for x in c["closed_service_areas"]]
        out.append("</ul>")
    if c.get("chargers_by_county"):
        out += [f'<h3>{esc(t(lang, "ratio"))}</h3>', ('<table id="charger-ratio"><thead><tr>'
                f"<th>{esc(t(lang, 'county'))}</th><th class=\"num\">{esc(t(lang, 'evs'))}</th>"
                f"<th class=\"num\">{esc(t(lang, 'chargers'))}</th><th class=\"num\">{esc(t(lang, 'ratio_col'))}</th>"
                "</tr></thead><tbody>")]
        for r in c["chargers_by_county"]:
            ratio = r.get("evs_per_charger")
            out.append(f"<tr><td>{_county(names.get(r['county_code'], r['county_code']), lang)}</td>"
                       f"<td class=\"num\">{r['evs']:,}</td><td class=\"num\">{cell(r.get('public_chargers'))}</td>"
                       f"<td class=\"num\">{'–' if ratio is None else f'{ratio:.1f}'}</td></tr>")
        out.append("</tbody></table>")
    out.append("</section>")
    return out


def _decomposition_section(figures: dict[str, Any], lang: Lang) -> list[str]:
    decs = figures.get("decomposition") or []
    if not decs:
        return []
    base = decs[0]["base_year"]
    names = _names(figures, lang)
    heads = "".join(f'<th class="num">{esc(t(lang, "term." + term))}</th>' for term in TERMS)
    out = ['<section id="decomposition">', f"<h2>{esc(t(lang, 'decomposition', base=base))}</h2>",
           (f'<p class="small lead">{_with_code(t(lang, "decomp_note", file="grid_factors.csv"), "grid_factors.csv")} '
           f'({esc(t(lang, "t_co2"))})</p>')]
    city = decs[0]
    out += [(f'<div class="keep"><h3>{esc(t(lang, "city_total"))}{_colon(lang)}{city["base_co2_t"]:,.0f} → {city["co2_t"]:,.0f} '
            f'{esc(t(lang, "t_co2"))} ({city["base_year"]}–{city["year"]})</h3>'),
            (f'<table id="decomposition-city"><thead><tr><th>{esc(t(lang, "class"))}</th>{heads}'
            f'<th class="num">{esc(t(lang, "total"))}</th></tr></thead><tbody>')]
    for vclass, terms in city["by_class"].items():
        out.append(f"<tr><td>{esc(label_or(lang, 'class', vclass))}</td>"
                   + "".join(f'<td class="num">{terms[k]:+,.0f}</td>' for k in TERMS)
                   + f'<td class="num">{sum(terms.values()):+,.0f}</td></tr>')
    out.append("<tr><th>Σ</th>" + "".join(f'<th class="num">{city["terms"][k]:+,.0f}</th>' for k in TERMS)
               + f'<th class="num">{city["total_change_t"]:+,.0f}</th></tr>')
    out += ["</tbody></table></div>", (f'<table id="decomposition-counties"><thead><tr><th>{esc(t(lang, "county"))}</th>'
            f'{heads}<th class="num">{esc(t(lang, "total"))}</th></tr></thead><tbody>')]
    for d in decs[1:]:
        out.append(f"<tr><td>{_county(names.get(d['area'], d['area']), lang)}</td>"
                   + "".join(f'<td class="num">{d["terms"][k]:+,.0f}</td>' for k in TERMS)
                   + f'<td class="num">{d["total_change_t"]:+,.0f}</td></tr>')
    out += ["</tbody></table>", "</section>"]
    return out


def _number(value: Any) -> str:
    return "–" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _int(value: Any) -> str:
    return "–" if value is None else f"{int(value):,}"


def _quality_section(figures: dict[str, Any], lang: Lang = "en") -> list[str]:
    q = figures["data_quality"]
    accepted = q["rows_accepted"]
    out = ['<section id="quality">', f"<h2>{esc(t(lang, 'quality'))}</h2>", '<table class="facts"><tbody>',
           f"<tr><th>{esc(t(lang, 'rows_read'))}</th><td class=\"num\">{q['rows_read']:,}</td></tr>",
           f"<tr><th>{esc(t(lang, 'vehicles_accepted'))}</th><td class=\"num\">{accepted['vehicles']:,}</td></tr>",
           f"<tr><th>{esc(t(lang, 'activity_accepted'))}</th><td class=\"num\">{accepted['activity']:,}</td></tr>",
           f"<tr><th>{esc(t(lang, 'depots_accepted'))}</th><td class=\"num\">{accepted['depots']:,}</td></tr>",
           f"<tr><th>{esc(t(lang, 'rows_quarantined'))}</th><td class=\"num\">{q['quarantined_rows']:,}</td></tr>",
           f"<tr><th>{esc(t(lang, 'years_covered'))}</th><td class=\"num\">{q['first_year']}–{q['last_year']}</td></tr>",
           "</tbody></table>"]
    sep = t(lang, "list_sep")
    if q["vehicles_by_class"]:
        out.append(f'<p class="small">{esc(t(lang, "by_class"))}' + esc(sep.join(
            f"{label_or(lang, 'class', k)} {v:,}" for k, v in q["vehicles_by_class"].items()))
            + ("。" if lang == "zh" else ".") + "</p>")
    if not q["quarantine_by_reason"]:
        out += [f"<p>{esc(t(lang, 'none_quarantined'))}</p>", "</section>"]
        return out
    out += [f"<h3>{esc(t(lang, 'quarantine_reasons'))}</h3>",
            (f'<table id="quarantine-reasons"><thead><tr><th>{esc(t(lang, "field"))}</th>'
            f'<th>{esc(t(lang, "reason_verbatim"))}</th><th class="num">{esc(t(lang, "issues"))}</th>'
            "</tr></thead><tbody>")]
    out += [f"<tr><td><code>{esc(r['field'])}</code></td><td>{_verbatim(r['reason'])}</td>"
            f"<td class=\"num\">{r['issues']:,}</td></tr>" for r in q["quarantine_by_reason"]]
    out.append("</tbody></table>")
    out += [f'<p class="small">{esc(t(lang, "by_file"))}' + "; ".join(
        f"<code>{esc(f['file'])}</code> {f['issues']:,}" for f in q["quarantine_by_file"]) + "</p>"]
    total = f"{q['quarantine_issues']:,}"
    out += [f"<h3>{esc(t(lang, 'sample', n=len(q['quarantine_sample']), total=total))}</h3>",
            (f'<table id="quarantine-sample"><thead><tr><th>{esc(t(lang, "file"))}</th>'
            f'<th class="num">{esc(t(lang, "row"))}</th><th>{esc(t(lang, "field"))}</th>'
            f'<th>{esc(t(lang, "value"))}</th><th>{esc(t(lang, "reason_verbatim"))}</th></tr></thead><tbody>')]
    out += [f"<tr><td><code>{esc(s['file'])}</code></td><td class=\"num\">{esc(str(s['row']))}</td>"
            f"<td><code>{esc(s['field'])}</code></td><td>{_verbatim(s['value'])}</td><td>{_verbatim(s['reason'])}</td></tr>"
            for s in q["quarantine_sample"]]
    out += ["</tbody></table>", "</section>"]
    return out


def _held_from(grid: Sequence[Mapping[str, Any]], row: Mapping[str, Any]) -> int | None:
    """The year whose published or derived grid factor a held year uses (the nearest with the same value)."""
    same = [g["year"] for g in grid if g.get("basis") != "held"
            and abs(float(g["kg_co2_per_kwh"]) - float(row["kg_co2_per_kwh"])) < 1e-9]
    return min(same, key=lambda y: abs(y - row["year"])) if same else None


def _method_section(figures: dict[str, Any], lang: Lang = "en") -> list[str]:
    level = int(figures["method"]["interval_level"] * 100)
    plan = figures["plan"]
    colon = "：" if lang == "zh" else ": "

    def item(key: str, body: str) -> str:
        return f"<li><strong>{esc(t(lang, key))}</strong>{colon}{body}</li>"

    targets_file = plan.get("targets_file", "")
    out = ['<section id="method">', f"<h2>{esc(t(lang, 'method'))}</h2>", "<ul>",
           item("m_cutoff", esc(t(lang, "m_cutoff_text"))),
           item("m_projection", esc(t(lang, "m_projection_text"))),
           item("m_intervals", esc(t(lang, "m_intervals_text", level=level))),
           item("m_levers", esc(t(lang, "m_levers_text"))),
           "</ul>", f"<h3>{esc(t(lang, 'sources'))}</h3>", "<ul>",
           item("s_targets", _with_code(t(lang, "s_targets_text", title=plan.get("title", ""),
                                          document=plan.get("document", ""), issued_on=plan.get("issued_on", ""),
                                          file=targets_file), targets_file)),
           item("s_records", esc(t(lang, "s_records_text"))),
           item("s_shipped", _with_code(t(lang, "shipped_note", dir="data/fleet"), "data/fleet")), "</ul>"]
    if figures.get("emission_factors"):
        out += [f'<h3>{esc(t(lang, "emission_factors"))}</h3>',
                (f'<table id="emission-factors"><thead><tr><th>{esc(t(lang, "carrier"))}</th>'
                f'<th class="num">{esc(t(lang, "kg_per_unit"))}</th><th>{esc(t(lang, "unit"))}</th>'
                f"<th>{esc(t(lang, 'source'))}</th></tr></thead><tbody>")]
        out += [f"<tr><td>{esc(label_or(lang, 'carrier', str(f.get('carrier', ''))))}</td>"
                f"<td class=\"num\">{esc(_number(f.get('kg_co2_per_unit')))}</td>"
                f"<td>{esc(str(f.get('unit', '')))}</td><td class=\"small\">{_verbatim(str(f.get('source', '')))}</td></tr>"
                for f in figures["emission_factors"]]
        out.append("</tbody></table>")
    grid = figures.get("grid_factors") or []
    if grid:
        out += [f'<h3>{esc(t(lang, "grid_factors"))}</h3>', (f'<table id="grid-factors"><thead><tr>'
                f'<th>{esc(t(lang, "year"))}</th><th class="num">{esc(t(lang, "kg_per_kwh"))}</th>'
                f'<th>{esc(t(lang, "basis"))}</th><th>{esc(t(lang, "source"))}</th></tr></thead><tbody>')]
        for g in grid:
            held = _held_from(grid, g) if g.get("basis") == "held" else None
            source = (esc(t(lang, "held_from", year=held)) if held is not None
                      else _verbatim(str(g.get("source", ""))))
            out.append(f"<tr><td>{g['year']}</td><td class=\"num\">{g['kg_co2_per_kwh']:.4f}</td>"
                       f"<td>{esc(label_or(lang, 'basis', str(g.get('basis', ''))))}</td>"
                       f"<td class=\"small\">{source}</td></tr>")
        out.append("</tbody></table>")
    if figures["not_assessed"]:
        out += [f"<h3>{esc(t(lang, 'not_assessed'))}</h3>",
                (f"<table><thead><tr><th>{esc(t(lang, 'clause_col'))}</th><th>{esc(t(lang, 'target_col'))}</th>"
                f"<th>{esc(t(lang, 'why'))}</th></tr></thead><tbody>")]
        for n in figures["not_assessed"]:
            gloss = f"<br><span class=\"small\">{esc(n.get('gloss_en', ''))}</span>" if lang == "en" else ""
            why = n.get("reason_zh") if lang == "zh" and n.get("reason_zh") else n.get("reason", "")
            why_html = esc(why) if lang == "en" or n.get("reason_zh") else _verbatim(why)
            out.append(f"<tr><td>{esc(_clause_label(lang, n.get('clause', '')))}</td><td>{_zh(n.get('quote_zh', ''))}"
                       f"{gloss}</td><td>{why_html}</td></tr>")
        out.append("</tbody></table>")
    out.append("</section>")
    return out


# --------------------------------------------------------------------------------------------- charts

_W, _H = 560, 300
_ML, _MR, _MT, _MB = 54, 20, 16, 62


def chart_svg(assessed: dict[str, Any], *, years: Sequence[int] = (), lang: Lang = "en") -> str:
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

    title = f"{_title_of(assessed, lang)}: {_goal(assessed, lang)}"
    out = [(f'<svg class="chart" id="chart-{esc(assessed["id"])}" xmlns="http://www.w3.org/2000/svg" '
           f'viewBox="0 0 {_W} {_H}" role="img" aria-label="{esc(title)}" font-size="11" fill="#1d2430">'),
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
               f'fill="#c62828"><title>{esc(_goal(assessed, lang))}</title></path>')
    # projection band and line
    if len(path) >= 2:
        upper = " ".join(f"{sx(y):.1f},{sy(h):.1f}" for y, _, _, h in path)
        lower = " ".join(f"{sx(y):.1f},{sy(lo):.1f}" for y, _, lo, _ in reversed(path))
        out.append(f'<polygon points="{upper} {lower}" fill="#1f5fa8" fill-opacity="0.14"/>')
        line = " ".join(f"{sx(y):.1f},{sy(v):.1f}" for y, v, _, _ in path)
        out.append(f'<polyline points="{line}" fill="none" stroke="#1f5fa8" stroke-width="2" stroke-dasharray="6 4"/>')
        ey, ev = path[-1][0], path[-1][1]
        out.append(f'<circle cx="{sx(ey):.1f}" cy="{sy(ev):.1f}" r="3.5" fill="#fff" stroke="#1f5fa8" stroke-width="2">'
                   f"<title>{esc(t(lang, 'projected_at', year=ey, value=projection_text(assessed, lang)))}</title></circle>")
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
                   f"{esc(t(lang, 'chart_no_data'))}</text>")
    out += _legend(_MT + ph + 34, t(lang, "target_legend", goal=_goal(assessed, lang)), lang)
    out.append("</svg>")
    return "".join(out)


def _legend(y: float, target_label: str, lang: Lang = "en") -> list[str]:
    items: Sequence[tuple[str, str]] = (
        ('<line x1="0" x2="22" y1="0" y2="0" stroke="#1d2430" stroke-width="2"/>', t(lang, "observed")),
        ('<line x1="0" x2="22" y1="0" y2="0" stroke="#1f5fa8" stroke-width="2" stroke-dasharray="6 4"/>',
         t(lang, "projection")),
        ('<rect x="0" y="-6" width="22" height="12" fill="#1f5fa8" fill-opacity="0.14"/>',
         t(lang, "band", level=int(INTERVAL_LEVEL * 100))),
        ('<line x1="0" x2="22" y1="0" y2="0" stroke="#c62828" stroke-width="1.5" stroke-dasharray="7 4"/>',
         target_label),
    )
    out, x = [], _ML
    for glyph, label in items:
        colour = "#c62828" if glyph.count("#c62828") else "#5b6575"
        out.append(f'<g transform="translate({x},{y})">{glyph}<text x="28" y="4" fill="{colour}">{esc(label)}</text></g>')
        x += 40 + sum(11 if ord(ch) > 0x2e7f else 6 for ch in label)  # CJK glyphs are twice as wide
    return out


# ------------------------------------------------------------------------------------------ A4 print

def set_print_zoom(page: str, zoom: float) -> str:
    """The report page with its print zoom set to ``zoom`` (the screen view is unchanged)."""
    new, n = _PRINT_FIT_RE.subn(PRINT_FIT_RULE.format(zoom=zoom), page, count=1)
    if n != 1:
        raise ValueError("not a report page of this version: its print-fit rule is missing")
    return new


def print_zoom_of(page: str) -> float:
    """The print zoom a report page carries."""
    m = _PRINT_FIT_RE.search(page)
    if m is None:
        raise ValueError("not a report page of this version: its print-fit rule is missing")
    return float(m.group(1))
