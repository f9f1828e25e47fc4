"""The fleet-share report: files, figures equal to the assessment, charts, county table, escaping, rendering."""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import string
import struct
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser

import pandas as pd
import pytest
from support.fleet import Records, tiny_fleet

from planner import config
from planner.fleet import assessment, i18n, printing, report, targets

SHIPPED_TARGETS = targets.load_target_set(config.TARGETS_FILE)

EVIL = "<script>alert('x')</script>"


@dataclass(frozen=True)
class Issue:
    """A quarantined row, shaped like ``fleet.RowIssue``."""

    file: str
    row: int
    field: str
    value: str
    reason: str


@pytest.fixture(scope="module")
def shipped_report(shanwei_records, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    paths = report.write_report(shanwei_records, out_dir=out, targets=SHIPPED_TARGETS, other_language=True)
    return out, paths


def test_report_files_are_written_with_the_assessed_figures(shanwei_records, shipped_report) -> None:
    from planner import fleet

    out, paths = shipped_report
    assert [p.name for p in paths] == ["report.html", "report.json", "report.csv", "report.en.html"]
    assert sorted(p.name for p in out.iterdir()) == ["report.csv", "report.en.html", "report.html", "report.json"]
    figures = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assessed = json.loads(json.dumps([a.to_dict() for a in assessment.assess_targets(shanwei_records,
                                                                                     targets=SHIPPED_TARGETS)]))
    assert figures["targets"] == assessed
    years = fleet.record_years(shanwei_records)
    series = fleet.indicator_series(shanwei_records.vehicles, shanwei_records.activity, years=years)
    assert [row["year"] for row in figures["indicators"]] == years
    for row in figures["indicators"]:
        expected = series[series["year"] == row["year"]].iloc[0]
        for key in ("ne_bus_share", "ne_taxi_share", "ne_or_clean_new_vehicle_share", "ev_new_passenger_car_share",
                    "operating_co2_per_converted_turnover", "buses", "ne_buses"):
            if pd.isna(expected[key]):
                assert row[key] is None
            else:
                assert row[key] == pytest.approx(float(expected[key]), rel=1e-12), (row["year"], key)
    assert figures["assessment_year"] == years[-1]
    quality = figures["data_quality"]
    assert quality["rows_accepted"] == {"vehicles": len(shanwei_records.vehicles),
                                        "activity": len(shanwei_records.activity),
                                        "depots": len(shanwei_records.depots)}
    assert quality["quarantined_rows"] == len({(i.file, i.row) for i in shanwei_records.quarantine})
    assert quality["rows_read"] == sum(quality["rows_accepted"].values()) + quality["quarantined_rows"]


def test_report_csv_has_one_row_per_year_and_indicator(shanwei_records, shipped_report) -> None:
    from planner import fleet

    out, _ = shipped_report
    table = pd.read_csv(out / "report.csv", dtype={"county_code": str})
    assert list(table.columns) == ["year", "scope", "county_code", "county_name", "county_name_en", "indicator",
                                   "value", "unit"]
    city = table[table["scope"] == "city"]
    assert not city.duplicated(["year", "indicator"]).any()
    years = fleet.record_years(shanwei_records)
    assert sorted(city["year"].unique()) == years
    assert city.groupby("indicator")["year"].count().eq(len(years)).all()
    latest = fleet.indicators(shanwei_records.vehicles, shanwei_records.activity, year=years[-1]).to_dict()
    row = city[(city["year"] == years[-1]) & (city["indicator"] == "ne_bus_share")].iloc[0]
    assert row["value"] == pytest.approx(latest["ne_bus_share"]) and row["unit"] == "fraction"
    counties = table[table["scope"] == "county"]
    assert set(counties["county_code"]) >= {"441502", "441521", "441523", "441581"}
    for code, share in latest["ne_bus_share_by_county"].items():
        got = counties[(counties["county_code"] == code) & (counties["year"] == years[-1])
                       & (counties["indicator"] == "ne_bus_share")]["value"]
        assert got.iloc[0] == pytest.approx(share)


def test_report_html_is_self_contained_with_a_chart_per_target_and_the_county_table(shipped_report) -> None:
    out, _ = shipped_report
    page = (out / "report.en.html").read_text(encoding="utf-8")
    figures = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert page.count("<svg") == len(figures["targets"])  # one chart per target, nothing else drawn
    share_targets = [a for a in figures["targets"] if a["kind"] != "intensity ratio"]
    assert len(share_targets) == 4
    for a in figures["targets"]:
        chart = re.search(rf'<svg class="chart" id="chart-{a["id"]}".*?</svg>', page, re.DOTALL)
        assert chart, a["id"]
        svg = chart.group(0)
        assert 'stroke-dasharray="7 4"' in svg  # the dashed target line
        if len(a["projection_path"]) >= 2:  # target year ahead: dashed projection in its interval band
            assert 'stroke-dasharray="6 4"' in svg and svg.count("<polygon") == 1
        else:  # target year reached: the observed value decides, nothing projected
            assert a["target_year"] <= figures["assessment_year"] and "<polygon" not in svg
        assert svg.count("<circle") >= len(a["observed"])
        assert str(a["target_year"]) in svg and a["clause"]["quote_zh"] in page
        assert f'data-status="{a["status"]}"' in page and f'>{a["status"]}</span>' in page
    for forbidden in ("<script", "<link", " src=", "url(", "@import"):
        assert forbidden not in page, forbidden
    county_table = re.search(r'<table id="county-table">.*?</table>', page, re.DOTALL).group(0)
    for name in ("城区", "海丰县", "陆河县", "陆丰市"):
        assert name in county_table
    assert "汕府〔2023〕31号" in page and "synthetic" in page.lower()
    assert 'id="quality"' in page and "Rows quarantined" in page


def test_report_escapes_names_and_values_from_the_records(tmp_path) -> None:
    records = tiny_fleet()
    records = Records(vehicles=records.vehicles, activity=records.activity,
                      quarantine=(Issue("vehicles<b>.csv", 7, "vehicle_id", EVIL, "duplicate id & more"),
                                  Issue("vehicles<b>.csv", 7, "county_code", "999999", "unknown county"),
                                  Issue("vehicles<b>.csv", 9, "powertrain", "steam", "not a powertrain")))
    shipped = SHIPPED_TARGETS
    evil_set = targets.TargetSet(path=shipped.path, plan=shipped.plan,
                                 counties={"441502": f"城区{EVIL}", "441521": "海丰县"},
                                 targets=shipped.targets, not_assessed=shipped.not_assessed)
    built = report.build_report(records, year=2024, targets=evil_set)
    assert EVIL not in built.html and "<b>" not in built.html
    assert "城区&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in built.html
    assert "vehicles&lt;b&gt;.csv" in built.html and "duplicate id &amp; more" in built.html
    quality = built.figures["data_quality"]
    assert quality["quarantined_rows"] == 2 and quality["quarantine_issues"] == 3
    assert quality["rows_read"] == len(records.vehicles) + 2  # no activity or depot rows in this fleet
    assert {(r["field"], r["reason"]) for r in quality["quarantine_by_reason"]} == {
        ("vehicle_id", "duplicate id & more"), ("county_code", "unknown county"), ("powertrain", "not a powertrain")}
    assert built.figures["counties"][0]["county_name"] == f"城区{EVIL}"  # the JSON keeps the raw text
    table = pd.read_csv(io.StringIO(built.csv), dtype={"county_code": str})
    buses = table[(table["indicator"] == "buses") & (table["scope"] == "county") & (table["year"] == 2024)]
    assert dict(zip(buses["county_code"], buses["value"], strict=True)) == {"441502": 4, "441521": 2}


def test_write_report_replaces_old_files(tmp_path) -> None:
    records = tiny_fleet()
    (tmp_path / "report.html").write_text("old", encoding="utf-8")
    paths = report.write_report(records, out_dir=tmp_path / ".", year=2024, targets=SHIPPED_TARGETS)
    assert all(p.exists() for p in paths)
    assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv", "report.html", "report.json"]


def test_report_renders_in_a_headless_browser(shipped_report, tmp_path) -> None:
    """Chromium draws the page (CI installs Debian's chromium; a missing browser fails the test)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed (.ci/run installs it)"
    out, _ = shipped_report
    png = tmp_path / "report.png"
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,2400",
         f"--screenshot={png}", (out / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 2400)
    assert len(data) > 60_000  # charts and tables drawn, not a blank page (a blank one is a few kB)


# ------------------------------------------------------------------------------- languages, clause 22, print


def test_the_chinese_and_english_pages_show_the_same_figures_for_all_five_targets(shipped_report) -> None:
    out, _ = shipped_report
    figures = json.loads((out / "report.json").read_text(encoding="utf-8"))
    zh = (out / "report.html").read_text(encoding="utf-8")
    en = (out / "report.en.html").read_text(encoding="utf-8")
    assert figures["lang"] == "zh" and '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    assert figures["generated_at"].endswith("+08:00")  # Asia/Shanghai
    assert figures["data_cutoff"] == {"date": "2025-12-31", "flow_start": "2025-01-01", "flow_end": "2025-12-31"}
    for page in (zh, en):
        rows = re.findall(r'<tr id="target-([^"]+)">', page)
        assert rows == [a["id"] for a in figures["targets"]] + ["clause-22"]  # clauses 21 (four) and 22
        for a in figures["targets"]:
            row = re.search(rf'<tr id="target-{a["id"]}">.*?</tr>', page, re.DOTALL).group(0)
            assert f'data-status="{a["status"]}"' in row
            assert report.tg.format_projection(a).replace(" to ", " 至 " if page is zh else " to ") in row
            assert report.projection_text(a, "zh" if page is zh else "en") in row  # the same numbers in both
        assert '<tr id="target-clause-22">' in page and 'data-status="not assessed"' in page
        assert "@page { size: A4" in page and "break-after: avoid" in page and "break-inside: avoid" in page
    assert "进展正常" in zh and "偏离目标" in zh and "未评估" in zh and "自然更新即可达成" in zh
    assert "met by natural turnover" in en
    hc = figures["hindcast"]
    assert (hc["fit_to"], hc["project_to"], hc["cases"]) == (2021, 2025, 25)
    assert f"{hc['inside']} of {hc['cases']}" in en and f"有 {hc['inside']} 个" in zh
    city = figures["decomposition"][0]
    assert city["area"] is None and sum(city["terms"].values()) == pytest.approx(city["total_change_t"], rel=1e-9)
    assert 'id="decomposition-city"' in zh and 'id="operators-table"' in zh


def test_clause_22_reads_the_plan_summary_when_given(shanwei_records) -> None:
    summary = {"stages": {"2025": {"service_area_sides_with_station": 6, "service_area_sides": 6,
                                   "public_chargers_by_county": {"441502": 1000}}},
               "closed_service_areas": ["鲘门服务区"]}
    built = report.build_report(shanwei_records, targets=SHIPPED_TARGETS, plan_summary=summary, lang="en")
    c22 = built.figures["clause_22"]
    assert c22["status"] == "on track" and (c22["sides_with_station"], c22["sides_total"]) == (6, 6)
    v = shanwei_records.vehicles
    evs = int((v["deregistered_on"].isna() & v["powertrain"].isin(["BEV", "PHEV", "FCEV"])
               & (v["county_code"] == "441502")).sum())
    ratio = next(r for r in c22["chargers_by_county"] if r["county_code"] == "441502")
    assert ratio["evs"] == evs and ratio["evs_per_charger"] == pytest.approx(evs / 1000)
    assert '<ul id="closed-service-areas">' in built.html and "鲘门服务区" in built.html
    assert 'id="charger-ratio"' in built.html


def _page_lines(page) -> list[tuple[float, str]]:
    """(baseline in pt from the page bottom, text) of every text run on a PDF page."""
    runs: list[tuple[float, str]] = []
    page.extract_text(visitor_text=lambda text, cm, tm, *_: runs.append((tm[5] * cm[3] + cm[5], text))
                      if text.strip() else None)
    return runs


def _visible_headings(page_html: str) -> set[str]:
    return {re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", h))).strip()
            for h in re.findall(r"<h[23][^>]*>(.*?)</h[23]>", page_html, re.DOTALL)}


@pytest.fixture(scope="module")
def fitted_prints(shipped_report):
    """Both shipped pages fitted for A4 print (headless Chromium; a missing browser fails the test).

    Fitted side by side: while one page's browser prints, the other page's PDF is measured.
    """
    from concurrent.futures import ThreadPoolExecutor

    assert shutil.which("chromium"), "chromium is not installed (scripts/test-deps installs it)"
    out, _ = shipped_report
    pages = {lang: (out / name).read_text(encoding="utf-8") for lang, name in (("zh", "report.html"),
                                                                              ("en", "report.en.html"))}
    with ThreadPoolExecutor(max_workers=len(pages)) as pool:
        fits = {lang: pool.submit(printing.fit_for_print, page) for lang, page in pages.items()}
        return {lang: fit.result() for lang, fit in fits.items()}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_pdf_is_a4_with_no_page_more_than_half_blank_and_no_stranded_heading(fitted_prints, lang) -> None:
    """Every page of the fitted print, the last one included, has text below its middle; no page ends on a heading."""
    from pypdf import PdfReader

    fit = fitted_prints[lang]
    assert report.print_zoom_of(fit.html) == fit.zoom and min(printing.PRINT_ZOOM_STEPS) <= fit.zoom <= max(printing.PRINT_ZOOM_STEPS)
    assert "break-before: page" not in fit.html and "page-break-before: always" not in fit.html  # sections flow
    headings = _visible_headings(fit.html)
    pages = PdfReader(io.BytesIO(fit.pdf)).pages
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (595, 842), number  # A4 in points
        runs = _page_lines(page)
        assert runs, f"page {number} has no text"
        low = min(y for y, _ in runs)
        assert low < height / 2, f"{lang} page {number} is more than half blank (text ends at {low:.0f} pt)"
        if number < len(pages):
            last_line = "".join(text for y, text in sorted(runs, key=lambda r: r[0]) if y - low < 1.0).strip()
            assert last_line not in headings, f"{lang} page {number} ends on the heading {last_line!r}"


def test_the_written_page_prints_as_it_was_fitted(fitted_prints, tmp_path) -> None:
    """The fitted page, printed again by Chromium as a reader would, gives the same pages, none half blank."""
    from pypdf import PdfReader

    fit = fitted_prints["zh"]
    page = tmp_path / "report.html"
    page.write_text(fit.html, encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    done = subprocess.run(
        [shutil.which("chromium"), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-pdf-header-footer", f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={pdf}", page.as_uri()],
        capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0 and pdf.exists(), done.stderr[-2000:]
    pages = PdfReader(pdf).pages
    assert len(pages) == len(fit.fills)
    for number, page_ in enumerate(pages, start=1):
        low = min(y for y, _ in _page_lines(page_))
        assert low < float(page_.mediabox.height) / 2, number
        assert (float(page_.mediabox.height) - low) / float(page_.mediabox.height) == pytest.approx(
            fit.fills[number - 1], abs=0.01)


def test_a_city_with_fewer_counties_also_prints_with_no_half_blank_page(tmp_path) -> None:
    """Another record set (two counties, four years, one target table): the fitting works on it too."""
    from pypdf import PdfReader

    shipped = SHIPPED_TARGETS
    two = targets.TargetSet(path=shipped.path, plan=shipped.plan, counties={"441502": "城区", "441521": "海丰县"},
                            targets=shipped.targets, not_assessed=shipped.not_assessed)
    paths = report.write_report(tiny_fleet(), out_dir=tmp_path, year=2024, targets=two, pdf=True)
    assert [p.name for p in paths] == ["report.html", "report.json", "report.csv", "report.pdf"]
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    pages = PdfReader(tmp_path / "report.pdf").pages
    assert len(pages) >= 2
    for number, p in enumerate(pages, start=1):
        low = min(y for y, _ in _page_lines(p))
        assert low < float(p.mediabox.height) / 2, f"page {number} is more than half blank"
    assert report.print_zoom_of(page) in printing.PRINT_ZOOM_STEPS


# ------------------------------------------------------------------------------------------ the Chinese page

#: Latin words the Chinese page may show: units, abbreviations of powertrains and methods, the tool's name.
ZH_ALLOWED = {"kW", "kWh", "kg", "t", "km", "L", "m3", "CO2", "CO₂", "BEV", "PHEV", "FCEV", "CNG", "LNG", "LMDI",
              "LMDI-I", "evplan"}
_CODE = re.compile(r"^[\w./\-]+( [\w./\-]+)*$")  # a command line or file name, not prose


class _Visible(HTMLParser):
    """The visible text of a page, with <code> and <cite class="verbatim"> pieces kept apart."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []
        self.code: list[str] = []
        self.verbatim: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        kind = ("verbatim" if tag == "cite" and ("class", "verbatim") in attrs else
                "code" if tag == "code" else "style" if tag == "style" else "")
        if tag not in ("meta", "br", "rect", "line", "circle", "polygon", "polyline", "path"):
            self.stack.append(kind)

    def handle_endtag(self, tag) -> None:
        if tag not in ("meta", "br", "rect", "line", "circle", "polygon", "polyline", "path") and self.stack:
            self.stack.pop()

    def handle_data(self, data) -> None:
        kinds = set(self.stack)
        if "style" in kinds:
            return
        (self.verbatim if "verbatim" in kinds else self.code if "code" in kinds else self.text).append(data)


def _data_words(records, target_set) -> set[str]:
    names = " ".join([*target_set.counties.values(), target_set.plan.get("city_en", ""),
                      *records.depots.get("operator", pd.Series(dtype=str)).astype(str)])
    return set(re.findall(r"[A-Za-z][A-Za-z0-9_\-]*", names))


def test_every_visible_string_of_the_chinese_page_is_chinese(shanwei_records, shipped_report) -> None:
    out, _ = shipped_report
    page = (out / "report.html").read_text(encoding="utf-8")
    seen = _Visible()
    seen.feed(page)
    allowed = ZH_ALLOWED | _data_words(shanwei_records, SHIPPED_TARGETS)
    text = " ".join(seen.text)
    latin = sorted({w for w in re.findall(r"[A-Za-z][A-Za-z0-9_\-]*", text) if w not in allowed})
    assert not latin, f"English on the Chinese page: {latin[:30]}"
    assert "进展正常" in text and "自然更新即可达成" in text and "数据质量" in text and "方法与来源" in text
    # code is commands and file names only; verbatim text is the data files' own wording (source citations)
    assert seen.code and all(_CODE.match(c.strip()) for c in seen.code if c.strip()), seen.code
    sources = {str(x) for x in shanwei_records.emission_factors["source"]} | {
        str(x) for x in shanwei_records.grid_factors["source"]}
    assert seen.verbatim and all(v in sources for v in seen.verbatim), [v for v in seen.verbatim if v not in sources]
    # every target's reason is worded in Chinese from its figures
    figures = json.loads((out / "report.json").read_text(encoding="utf-8"))
    for a in figures["targets"]:
        fig = re.search(rf'<figure id="fig-{a["id"]}">.*?</figure>', page, re.DOTALL).group(0)
        assert html.escape(i18n.reason("zh", a, assessment.format_percent, names=figures["county_names"])) in fig
    taxi = next(a for a in figures["targets"] if a["indicator"] == "ne_taxi_share")
    assert taxi["gap"]["last_non_ne_retires_on"] in page and "8 年强制报废年限" in page


def test_every_label_has_both_languages_with_the_same_fields() -> None:
    fields = lambda text: sorted(f for _, f, _, _ in string.Formatter().parse(text) if f)
    for key, label in i18n.LABELS.items():
        assert label.zh.strip() and label.en.strip(), key
        assert fields(label.zh) == fields(label.en), key
        words = set(re.findall(r"[A-Za-z][A-Za-z0-9_\-]*", re.sub(r"\{[^}]*\}|<br>", "", label.zh)))
        assert words <= ZH_ALLOWED | {"zh-CN", "zh", "CN", "Asia", "Shanghai"}, (key, words - ZH_ALLOWED)
    for family, keys in (("status", ("met", "on track", "at risk", "off track", "no data", "not assessed")),
                         ("case", assessment.REASON_CASES), ("rule", (*assessment.STATUS_ORDER, "no data"))):
        for k in keys:
            assert f"{family}.{k}" in i18n.LABELS, (family, k)
    from planner.fleet.decomposition import TERMS
    from planner.fleet.schema import VEHICLE_CLASSES
    assert all(f"term.{k}" in i18n.LABELS for k in TERMS)
    assert all(f"class.{k}" in i18n.LABELS for k in VEHICLE_CLASSES)


def test_the_operators_still_to_switch_are_listed_with_their_last_scrapping_day(shanwei_records, shipped_report):
    """Per stock target the operators' non-NE vehicles add up to those in service, counted here independently."""
    from planner.fleet.survival import SCRAPPING_AGE_YEARS

    out, _ = shipped_report
    figures = json.loads((out / "report.json").read_text(encoding="utf-8"))
    v = shanwei_records.vehicles
    cut = pd.Timestamp(figures["data_cutoff"]["date"])
    depots = dict(zip(shanwei_records.depots["depot_id"], shanwei_records.depots["operator"], strict=True))
    for a in figures["targets"]:
        assert a["data_cutoff"] == figures["data_cutoff"]  # every assessment states its cut-off
        if a["kind"] != "stock share":
            continue
        vclass = {"ne_bus_share": "bus", "ne_taxi_share": "taxi"}[a["indicator"]]
        left = v[(v["vehicle_class"] == vclass) & (v["registered_on"] <= cut) & ~(v["deregistered_on"] <= cut)
                 & ~v["powertrain"].isin(["BEV", "PHEV", "FCEV"])]
        expected: dict[tuple[str, str], list[pd.Timestamp]] = {}
        for row in left.itertuples():
            op = depots.get(row.depot_id) or assessment.OPERATOR_NOT_RECORDED
            expected.setdefault((op, str(row.county_code)), []).append(row.registered_on)
        listed = {(o["operator"], o["county_code"]): o for o in a["operators_to_switch"]}
        assert set(listed) == set(expected)
        cap = SCRAPPING_AGE_YEARS[vclass]
        for key, regs in expected.items():
            assert listed[key]["vehicles"] == len(regs)
            last = None if cap is None else (max(regs) + pd.DateOffset(years=int(cap))).date().isoformat()
            assert listed[key]["last_scrapping_on"] == last, key
    zh = (out / "report.html").read_text(encoding="utf-8")
    table = re.search(r'<table id="operators-table">.*?</table>', zh, re.DOTALL).group(0)
    listed_rows = [(a, o) for a in figures["targets"] for o in a.get("operators_to_switch", [])]
    assert table.count("<tr><td>") == len(listed_rows) and table.count("<tr><td>出租车</td>") == sum(
        1 for a, _ in listed_rows if a["indicator"] == "ne_taxi_share")
    for _, o in listed_rows:
        assert f"<span lang=\"zh-CN\">{html.escape(o['operator'])}</span>" in table and o["last_scrapping_on"] in table
