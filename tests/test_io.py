"""The shared CSV reader of user files (``planner._io.read_csv_rows``): encodings, line numbers, bad rows."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from planner._io import QuarantinedRecord, read_csv_rows
from planner.demand.counts import read_counts_csv
from planner.demand.population import read_census
from planner.errors import InputFileError
from planner.siting.existing import read_existing_csv

COLUMNS = ("name", "lon", "lat")


def test_gbk_file_with_a_ragged_row_quarantined_at_its_line(tmp_path: Path) -> None:
    text = ('Name , LON,lat\r\n'
            '汕尾服务区,115.1,22.8\r\n'
            '\r\n'                                    # line 3: blank, skipped
            '"鲘门\r\n服务区",115.2,22.9\r\n'          # lines 4-5: one record, a line break in its name
            '海丰,115.3\r\n'                           # line 6: two fields of three
            '陆丰,115.4,22.9,多余\r\n')                # line 7: four fields
    path = tmp_path / "站点.csv"
    path.write_bytes(text.encode("gbk"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the file really is GBK, not UTF-8
    read = read_csv_rows(path, COLUMNS, "a test CSV file")
    assert read.columns == ("name", "lon", "lat")  # header names trimmed and lower-cased
    assert [(r.line, r.values) for r in read.rows] == [
        (2, {"name": "汕尾服务区", "lon": "115.1", "lat": "22.8"}),
        (4, {"name": "鲘门\r\n服务区", "lon": "115.2", "lat": "22.9"}),
    ]
    assert read.quarantined == (
        QuarantinedRecord("站点.csv", 6, "(row)", "海丰,115.3", "3 comma-separated fields, as in the header"),
        QuarantinedRecord("站点.csv", 7, "(row)", "陆丰,115.4,22.9,多余", "3 comma-separated fields, as in the header"),
    )
    assert read.quarantined[0].describe() == ("站点.csv row 6, (row): expected 3 comma-separated fields, as in the "
                                              "header, got '海丰,115.3'")


def test_utf8_with_bom_reads_the_first_column_by_its_name(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("name,lon,lat\n东涌,115.0,22.7\n".encode("utf-8-sig"))
    read = read_csv_rows(path, COLUMNS, "a test CSV file")
    assert read.columns[0] == "name" and read.rows[0].values["name"] == "东涌" and not read.quarantined


def test_missing_column_is_named_with_the_file_and_the_columns_found(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("name,lon,note\na,1,x\n", encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        read_csv_rows(path, COLUMNS, "a test CSV file")
    assert str(info.value) == (f"{path}: expected a test CSV file with the columns name, lon, lat "
                               "(missing column(s) lat; found name, lon, note)")
    with pytest.raises(InputFileError, match=r"expected a CSV file with the columns name, lon, lat \(missing"):
        read_csv_rows(path, COLUMNS, "a test CSV file", table="a CSV file")


def test_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"none\.csv: expected a test CSV file \(file not found\)"):
        read_csv_rows(tmp_path / "none.csv", COLUMNS, "a test CSV file")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputFileError, match=r"empty\.csv: expected a test CSV file with the columns .*the file is empty"):
        read_csv_rows(empty, COLUMNS, "a test CSV file")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"name,lon,lat\n\xff\xfe\xff,1,2\n")
    with pytest.raises(InputFileError, match=r"binary\.csv: expected a CSV file in UTF-8 or GBK"):
        read_csv_rows(binary, COLUMNS, "a test CSV file")
    twice = tmp_path / "twice.csv"
    twice.write_text("name,lon,lat,LON\na,1,2,3\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"twice\.csv: expected a CSV file with each column once.*repeated column\(s\) lon"):
        read_csv_rows(twice, COLUMNS, "a test CSV file")
    huge = tmp_path / "huge.csv"
    huge.write_text("name,lon,lat\n" + "x" * (csv.field_size_limit() + 10) + ",1,2\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"huge\.csv: expected CSV text \(line 2: field larger than field limit"):
        read_csv_rows(huge, COLUMNS, "a test CSV file")


def test_existing_chargers_and_counts_quarantine_a_ragged_row_alike(tmp_path: Path) -> None:
    existing = tmp_path / "chargers.csv"
    existing.write_bytes(("name,lon,lat,chargers,power_kw,commissioned,operator\n"
                          "甲站,115.0,22.8,2,120,2024,x\n"
                          "乙站,115.0,22.8\n").encode("gbk"))
    counts = tmp_path / "counts.csv"
    counts.write_bytes("road_ref,lon,lat,direction,aadt\nG15,115.0,22.8,both,30000\nG15,115.0\n".encode("gbk"))
    chargers = read_existing_csv(existing)
    assert [c.name for c in chargers.chargers] == ["甲站"]
    measured = read_counts_csv(counts)
    assert [c.aadt for c in measured.counts] == [30000.0]
    assert [(q.file, q.row, q.field, q.expected) for q in chargers.quarantined] == [
        ("chargers.csv", 3, "(row)", "7 comma-separated fields, as in the header")]
    assert [(q.file, q.row, q.field, q.expected) for q in measured.quarantined] == [
        ("counts.csv", 3, "(row)", "5 comma-separated fields, as in the header")]


def test_a_census_row_with_a_wrong_field_count_is_refused_not_shifted(tmp_path: Path) -> None:
    path = tmp_path / "townships.csv"
    path.write_bytes(("county_code,county_name,township,population_2020,source_id\n"
                      "441502,城区,香洲街道,52000,s1\n"
                      "441502,城区,东涌镇,31000\n").encode("gbk"))
    with pytest.raises(InputFileError, match=r"townships\.csv: .*\(row 3: 4 fields; expected 5 comma-separated"):
        read_census(path)
