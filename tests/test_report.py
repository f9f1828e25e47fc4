"""The fleet-share report: files, figures equal to the assessment, charts, county table, escaping, rendering."""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass

import pandas as pd
import pytest
from support.fleet import Records, tiny_fleet

from planner import config
from planner.fleet import assessment, report, targets

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
    assert list(table.columns) == ["year", "scope", "county_code", "county_name", "indicator", "value", "unit"]
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
        chart = re.search(rf'<svg class="chart" id="chart-{a["id"]}".*?</svg>', page, re.S)
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
    county_table = re.search(r'<table id="county-table">.*?</table>', page, re.S).group(0)
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
        capture_output=True, text=True, timeout=120)
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
            row = re.search(rf'<tr id="target-{a["id"]}">.*?</tr>', page, re.S).group(0)
            assert f'data-status="{a["status"]}"' in row
            assert report.tg.format_projection(a) in row  # the same numbers in both languages
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


def test_the_pdf_is_a4_with_no_page_more_than_half_blank(shipped_report, tmp_path) -> None:
    """Headless Chromium prints the Chinese page; every page but the last is filled below its middle."""
    from pypdf import PdfReader

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed (scripts/test-deps installs it)"
    out, _ = shipped_report
    pdf = tmp_path / "report.pdf"
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-pdf-header-footer",
         f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={pdf}", (out / "report.html").as_uri()],
        capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and pdf.exists(), done.stderr[-2000:]
    pages = PdfReader(pdf).pages
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (595, 842), number  # A4 in points
        lows: list[float] = []
        page.extract_text(visitor_text=lambda text, cm, tm, *_: lows.append(tm[5] * cm[3] + cm[5])
                          if text.strip() else None)
        assert lows, f"page {number} has no text"
        if number < len(pages):  # the last page ends the document wherever it ends
            assert min(lows) < height / 2, f"page {number} is more than half blank (text ends at {min(lows):.0f} pt)"
