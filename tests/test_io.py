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
        QuarantinedRecord("站点.csv", 6, "(row)", "海丰,115.3", "3 comma-separated fields, as in the header",
                          "2 fields"),
        QuarantinedRecord("站点.csv", 7, "(row)", "陆丰,115.4,22.9,多余", "3 comma-separated fields, as in the header",
                          "4 fields"),
    )
    # Worded as the census reader words a wrong-width row.
    assert read.quarantined[0].describe() == ("站点.csv row 6: 2 fields; expected 3 comma-separated fields, as in the "
                                              "header, got '海丰,115.3'")


def test_a_ragged_row_is_shown_with_its_quoting(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text('name,lon,lat\n"服务区, 北",115.0\n', encoding="utf-8")
    (bad,) = read_csv_rows(path, COLUMNS, "a test CSV file").quarantined
    assert (bad.row, bad.found, bad.value) == (2, "2 fields", '"服务区, 北",115.0')


def test_blank_header_cells_are_no_columns_and_no_repeats(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"  # a spreadsheet's export: formatted empty cells right of the data
    path.write_text("name,,lon,lat,,\n甲,,115.0,22.8,,\n乙,x,115.1,22.9,,\n丙,115.2,22.9\n", encoding="utf-8")
    read = read_csv_rows(path, COLUMNS, "a test CSV file")
    assert read.columns == ("name", "lon", "lat")
    assert [(r.line, r.values) for r in read.rows] == [(2, {"name": "甲", "lon": "115.0", "lat": "22.8"}),
                                                       (3, {"name": "乙", "lon": "115.1", "lat": "22.9"})]
    assert [(q.row, q.found, q.expected) for q in read.quarantined] == [
        (4, "3 fields", "6 comma-separated fields, as in the header")]
    counts = tmp_path / "counts.csv"
    counts.write_text("road_ref,lon,lat,direction,aadt,,\nG15,115.0404,22.8403,eastbound,21000,,\n", encoding="utf-8")
    assert [(c.road_ref, c.aadt, c.bearing_deg) for c in read_counts_csv(counts).counts] == [("G15", 21000.0, 90.0)]
    chargers = tmp_path / "chargers.csv"
    chargers.write_text("name,lon,lat,chargers,power_kw,commissioned,operator,,\n甲站,115.0,22.8,2,120,2024,x,,\n",
                        encoding="utf-8")
    got = read_existing_csv(chargers)
    assert [c.name for c in got.chargers] == ["甲站"] and not got.quarantined and not got.notes
    blank_only = tmp_path / "blank_only.csv"
    blank_only.write_text(",,\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"missing column\(s\) name, lon, lat; found none\)"):
        read_csv_rows(blank_only, COLUMNS, "a test CSV file")


def test_utf16_with_a_byte_order_mark_is_read_and_without_one_refused(tmp_path: Path) -> None:
    text = "name,lon,lat,chargers,power_kw,commissioned,operator\r\n鲘门站,115.2,22.9,4,60,2023,x\r\n"
    for encoding in ("utf-16-le", "utf-16-be"):
        path = tmp_path / f"{encoding}.csv"
        bom = "\ufeff".encode(encoding)  # Excel's "Unicode" export starts with the byte-order mark
        path.write_bytes(bom + text.encode(encoding))
        got = read_existing_csv(path)
        assert [(c.name, c.chargers, c.power_kw) for c in got.chargers] == [("鲘门站", 4, 60.0)], encoding
    tabs = tmp_path / "unicode_text.csv"  # Excel's "Unicode Text": UTF-16 with tabs between the fields
    tabs.write_bytes("\ufeff".encode("utf-16-le") + text.replace(",", "\t").encode("utf-16-le"))
    with pytest.raises(InputFileError, match=r"unicode_text\.csv: .*missing column.*the header is tab-separated: save "
                                             r"the file as CSV \(comma-delimited\)"):
        read_existing_csv(tabs)
    bare = tmp_path / "bare.csv"
    bare.write_bytes(text.encode("utf-16-le"))
    with pytest.raises(InputFileError, match=r"bare\.csv: .*NUL bytes: UTF-16 without a byte-order mark.*CSV UTF-8"):
        read_csv_rows(bare, COLUMNS, "a test CSV file")


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
    with pytest.raises(InputFileError, match=r"binary\.csv: expected a CSV file in UTF-8, GBK or UTF-16 .*\(byte 13 "
                                             r"\(line 2\) is valid neither as UTF-8 nor as GBK; save it .* CSV UTF-8"):
        read_csv_rows(binary, COLUMNS, "a test CSV file")
    later = tmp_path / "later.csv"  # GBK to line 3, then a byte GBK lacks
    later.write_bytes("name,lon,lat\n汕尾,1,2\n".encode("gbk") + b"x\xff,1,2\n")
    with pytest.raises(InputFileError, match=r"byte 13 \(line 2\) is not valid UTF-8 and byte 23 \(line 3\) is not "
                                             r"valid GBK"):
        read_csv_rows(later, COLUMNS, "a test CSV file")
    twice = tmp_path / "twice.csv"
    twice.write_text("name,lon,lat,LON\na,1,2,3\n", encoding="utf-8")
    with pytest.raises(InputFileError,
                       match=r"twice\.csv: expected a test CSV file with each column once.*repeated column\(s\) lon"):
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


def test_counts_quarantine_is_in_file_order(tmp_path: Path) -> None:
    counts = tmp_path / "counts.csv"
    counts.write_text("road_ref,lon,lat,direction,aadt\n"
                      "G15,115.0,22.8,up,30000\n"       # line 2: a bad direction
                      "G15,115.0,22.8,both,30000\n"
                      "G15,115.0\n"                     # line 4: a wrong field count
                      ",115.0,95,both,-1\n", encoding="utf-8")  # line 5: three bad values
    assert [(q.row, q.field) for q in read_counts_csv(counts).quarantined] == [
        (2, "direction"), (4, "(row)"), (5, "road_ref"), (5, "lat"), (5, "aadt")]


def test_a_census_row_with_a_wrong_field_count_is_refused_not_shifted(tmp_path: Path) -> None:
    path = tmp_path / "townships.csv"
    path.write_bytes(("county_code,county_name,township,population_2020,source_id\n"
                      "441502,城区,香洲街道,52000,s1\n"
                      "441502,城区,东涌镇,31000\n").encode("gbk"))
    with pytest.raises(InputFileError, match=r"townships\.csv: .*\(row 3: 4 fields; expected 5 comma-separated"):
        read_census(path)
