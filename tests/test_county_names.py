"""County names in the reader's language: the targets file names each county in Chinese and English."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from support.fleet import tiny_fleet

from planner import config
from planner.errors import InputFileError
from planner.fleet import assessment, report, targets

SHIPPED_TEXT = config.TARGETS_FILE.read_text(encoding="utf-8")
_COUNTIES_TABLE = re.compile(r"^\[counties\]\n(?:[^\[\n].*\n)*", re.MULTILINE)


def _targets_file(tmp_path, counties_table: str):
    """The shipped targets file with its [counties] table replaced by ``counties_table``."""
    text, n = _COUNTIES_TABLE.subn(counties_table.rstrip("\n") + "\n\n", SHIPPED_TEXT, count=1)
    assert n == 1, "the shipped targets file has no [counties] table"
    path = tmp_path / "targets.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _table(page: str, table_id: str) -> str:
    return re.search(rf'<table[^>]* id="{table_id}">.*?</table>', page, re.DOTALL).group(0)


@pytest.fixture(scope="module")
def shipped_tiny_report() -> report.Report:
    """The shipped targets file assessed on a tiny fleet in 441502 (城区) and 441521 (海丰县), Chinese page."""
    return report.build_report(tiny_fleet(), year=2024, targets=targets.load_target_set(config.TARGETS_FILE))


def test_the_shipped_file_names_each_county_once_per_language() -> None:
    shipped = targets.load_target_set(config.TARGETS_FILE)
    assert shipped.counties == {"441502": "城区", "441521": "海丰县", "441523": "陆河县", "441581": "陆丰市"}
    assert shipped.counties_en == {"441502": "Chengqu", "441521": "Haifeng", "441523": "Luhe", "441581": "Lufeng"}


def test_the_chinese_page_names_counties_in_chinese_only(shipped_tiny_report) -> None:
    page = shipped_tiny_report.html
    assert shipped_tiny_report.figures["lang"] == "zh"
    assert "<td><span lang=\"zh-CN\">城区</span><br>" in _table(page, "county-table")
    assert "<td><span lang=\"zh-CN\">陆河县</span></td>" in _table(page, "matrix-ne_bus_share")
    assert "<td><span lang=\"zh-CN\">城区</span></td>" in _table(page, "operators-table")
    for english in ("Chengqu", "Haifeng", "Luhe", "Lufeng"):
        assert english not in page, english
    # the bus target's reason names the counties without data, in Chinese
    bus = re.search(r'<figure id="fig-ne_bus_share_2025">.*?</figure>', page, re.DOTALL).group(0)
    assert "无数据：陆河县、陆丰市" in bus


def test_the_english_page_names_counties_in_english(shipped_tiny_report) -> None:
    page = shipped_tiny_report.html_in("en")
    county_table = _table(page, "county-table")
    # the plan's own name stays beside the code in the county table, as the page quotes the plan beside its gloss
    assert '<td>Chengqu<br><span class="small"><span lang="zh-CN">城区</span> · 441502</span></td>' in county_table
    assert "<td>Haifeng</td>" in _table(page, "matrix-ne_bus_share")
    assert "<td>Chengqu</td>" in _table(page, "operators-table")
    assert "<td>Chengqu</td>" in _table(page, "charger-ratio")
    bus = re.search(r'<figure id="fig-ne_bus_share_2025">.*?</figure>', page, re.DOTALL).group(0)
    assert "no data: Luhe, Lufeng" in bus and "陆河县" not in bus
    outside_county_table = page.replace(county_table, "")
    for chinese in ("海丰县", "陆河县", "陆丰市"):
        assert chinese not in outside_county_table, chinese
    assert "城区 (Chengqu)" not in page and "(Chengqu)" not in page


def test_the_figures_and_the_csv_carry_both_names(shipped_tiny_report) -> None:
    figures = shipped_tiny_report.figures
    assert figures["county_names"]["441502"] == "城区" and figures["county_names_en"]["441502"] == "Chengqu"
    row = next(r for r in figures["counties"] if r["county_code"] == "441521")
    assert (row["county_name"], row["county_name_en"]) == ("海丰县", "Haifeng")
    bus = next(a for a in figures["targets"] if a["id"] == "ne_bus_share_2025")
    assert {(c["county_code"], c["county_name"], c["county_name_en"]) for c in bus["counties"]} == {
        ("441502", "城区", "Chengqu"), ("441521", "海丰县", "Haifeng"), ("441523", "陆河县", "Luhe"),
        ("441581", "陆丰市", "Lufeng")}
    table = pd.read_csv(io.StringIO(shipped_tiny_report.csv), dtype={"county_code": str}, keep_default_na=False)
    counties = table[table["scope"] == "county"]
    assert set(zip(counties["county_code"], counties["county_name"], counties["county_name_en"])) == {
        ("441502", "城区", "Chengqu"), ("441521", "海丰县", "Haifeng")}
    city = table[table["scope"] == "city"]
    assert set(city["county_name"]) == {""} and set(city["county_name_en"]) == {""}


def test_the_terminal_table_names_counties_in_english() -> None:
    assessed = assessment.assess_targets(tiny_fleet(), year=2024, targets=targets.load_target_set(config.TARGETS_FILE))
    text = assessment.describe(assessed)
    assert "441502 Chengqu" in text and "城区" not in text


def test_a_file_with_one_name_per_county_shows_it_in_both_languages(tmp_path) -> None:
    path = _targets_file(tmp_path, '[counties]\n441502 = "Downtown"\n441521 = "海丰县"\n')
    loaded = targets.load_target_set(path)
    assert loaded.counties == loaded.counties_en == {"441502": "Downtown", "441521": "海丰县"}
    built = report.build_report(tiny_fleet(), year=2024, targets=loaded)
    for page in (built.html, built.html_in("en")):
        table = _table(page, "county-table")
        assert re.search(r"<td>(<span lang=\"zh-CN\">)?Downtown(</span>)?<br>", table), table
        assert '<span lang="zh-CN">海丰县</span><br>' in table
    assert built.figures["county_names_en"] == {"441502": "Downtown", "441521": "海丰县"}


@pytest.mark.parametrize("entry", [
    "7",
    '""',
    '{ zh = "城区" }',
    '{ zh = "城区", en = 3 }',
    '{ zh = "城区", en = "" }',
    '{ zh = "城区", en = "Chengqu", fr = "Chengqu" }',
    '["城区", "Chengqu"]',
])
def test_a_malformed_county_entry_names_the_file_the_code_and_the_forms(tmp_path, entry: str) -> None:
    path = _targets_file(tmp_path, f'[counties]\n441521 = "海丰县"\n441502 = {entry}\n')
    with pytest.raises(InputFileError) as caught:
        targets.load_target_set(path)
    message = str(caught.value)
    assert str(path) in message and "'441502'" in message and "441521" not in message
    assert "zh and en" in message and 'code = "name"' in message
