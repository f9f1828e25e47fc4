"""The fleet store: transactional, idempotent ingest into SQLite, quarantine, and reading the records back."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from cli.main import main
from planner import config, fleet
from planner.errors import InputFileError, RecordError
from planner.fleet import store as fleet_store

ROOT = Path(__file__).resolve().parents[1]

COLUMNS = ["vehicle_id", "vehicle_class", "powertrain", "registered_on", "deregistered_on", "county_code",
           "is_operating", "depot_id"]
TODAY = date(2026, 1, 1)
SHIPPED = config.FLEET_DIR


def write_csv(path: Path, rows, header=COLUMNS) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def dump(db: Path) -> dict[str, list[tuple]]:
    """Every row of the store's tables, in a stable order."""
    con = sqlite3.connect(db)
    try:
        tables = ("ingests", "vehicles", "quarantine")
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
    finally:
        con.close()


FIRST = [
    ("V1", "bus", "BEV", "2020-01-02", "", "441502", "true", "BUS-CQ-1"),
    ("V2", "bus", "diesel", "2015-03-04", "", "441521", "true", "BUS-HF-1"),
    ("V3", "passenger_car", "petrol", "2019-05-06", "", "441581", "false", ""),
    ("V4", "taxi", "LPG", "2019-05-06", "", "441581", "true", ""),          # bad powertrain
    ("V5", "taxi", "BEV", "2021-05-06", "2020-01-01", "441523", "true", ""),  # dates out of order
]


def test_ingest_stores_good_rows_and_quarantines_bad_ones(tmp_path) -> None:
    db = tmp_path / "evplan.sqlite"
    report = fleet_store.ingest_file(db, fleet_dir=SHIPPED, file_path=write_csv(tmp_path / "first.csv", FIRST), today=TODAY)
    assert (report.rows, report.added, report.updated, report.unchanged, report.quarantined) == (5, 3, 0, 0, 2)
    assert [(i.row, i.field) for i in report.issues] == [(5, "powertrain"), (6, "deregistered_on")]
    stored = dump(db)
    assert [v[0] for v in stored["vehicles"]] == ["V1", "V2", "V3"]
    assert [(q[1], q[3], q[4], q[5]) for q in stored["quarantine"]] == [
        (report.ingest_id, 5, "powertrain", "LPG"), (report.ingest_id, 6, "deregistered_on", "2020-01-01")]
    as_dict = json.loads(json.dumps(report.to_dict()))
    assert as_dict["added"] == 3 and as_dict["issues"][0]["row"] == 5 and as_dict["encoding"] == "utf-8"
    text = report.describe()
    assert "3 added" in text and "2 quarantined" in text and "row 6, deregistered_on" in text
    assert report.to_dict(max_issues=1)["issues_not_listed"] == 1


def test_the_same_file_twice_adds_nothing(tmp_path) -> None:
    db = tmp_path / "evplan.sqlite"
    path = write_csv(tmp_path / "first.csv", FIRST)
    first = fleet_store.ingest_file(db, fleet_dir=SHIPPED, file_path=path, today=TODAY)
    before = dump(db)
    again = fleet_store.ingest_file(db, fleet_dir=SHIPPED, file_path=path, today=TODAY)
    assert again.already_ingested and again.ingest_id == first.ingest_id
    assert (again.added, again.updated) == (0, 0) and again.quarantined == 2 and len(again.issues) == 2
    assert "already ingested as ingest #1" in again.describe()
    assert dump(db) == before
    copy = tmp_path / "renamed.csv"
    copy.write_bytes(path.read_bytes())  # same bytes under another name: still the same file
    assert fleet_store.ingest_file(db, fleet_dir=SHIPPED, file_path=copy, today=TODAY).already_ingested
    assert dump(db) == before


def test_a_later_file_adds_and_updates_by_vehicle_id(tmp_path) -> None:
    db = tmp_path / "evplan.sqlite"
    fleet_store.ingest_file(db, fleet_dir=SHIPPED, file_path=write_csv(tmp_path / "first.csv", FIRST), today=TODAY)
    later = [
        ("V1", "bus", "BEV", "2020-01-02", "", "441502", "true", "BUS-CQ-1"),            # unchanged
        ("V2", "bus", "diesel", "2015-03-04", "2025-06-30", "441521", "true", "BUS-HF-1"),  # retired: updated
        ("V6", "bus", "BEV", "2025-07-01", "", "441521", "true", "BUS-HF-1"),            # new
    ]
    report = fleet_store.ingest_file(db, fleet_dir=SHIPPED, file_path=write_csv(tmp_path / "later.csv", later), today=TODAY)
    assert (report.added, report.updated, report.unchanged, report.quarantined) == (1, 1, 1, 0)
    vehicles = {v[0]: v for v in dump(db)["vehicles"]}
    assert sorted(vehicles) == ["V1", "V2", "V3", "V6"]  # V3 is not in the later file and stays
    assert vehicles["V2"][4] == "2025-06-30" and vehicles["V2"][10] == report.ingest_id  # last_ingest_id
    assert vehicles["V1"][10] == 1  # unchanged rows keep the ingest that last changed them
    records = fleet_store.load_records(db, fleet_dir=SHIPPED)
    r = fleet.indicators(records.vehicles, records.activity, year=2025).to_dict()
    assert (r["buses"], r["ne_buses"]) == (2, 2)  # V1, V6; V2 retired


def test_a_file_without_depot_column_keeps_stored_depots(tmp_path) -> None:
    db = tmp_path / "evplan.sqlite"
    fleet_store.ingest_file(db, fleet_dir=SHIPPED, file_path=write_csv(tmp_path / "first.csv", FIRST), today=TODAY)
    rows = [("V1", "bus", "BEV", "2020-01-02", "2025-01-01", "441502", "true")]
    report = fleet_store.ingest_file(db, fleet_dir=SHIPPED, file_path=write_csv(tmp_path / "dmv.csv", rows, header=COLUMNS[:7]), today=TODAY)
    assert report.updated == 1 and "depot assignments are kept" in report.describe()
    assert {v[0]: v[7] for v in dump(db)["vehicles"]}["V1"] == "BUS-CQ-1"


def test_extra_columns_are_stored_and_reported(tmp_path) -> None:
    db = tmp_path / "evplan.sqlite"
    rows = [(*FIRST[0], "蓝"), (*FIRST[2], "绿")]
    report = fleet_store.ingest_file(db, fleet_dir=SHIPPED, file_path=write_csv(tmp_path / "x.csv", rows, header=[*COLUMNS, "plate_colour"]),
                                     today=TODAY)
    assert report.extra_columns == ("plate_colour",) and report.added == 2
    extra = {v[0]: json.loads(v[8]) for v in dump(db)["vehicles"]}
    assert extra == {"V1": {"plate_colour": "蓝"}, "V3": {"plate_colour": "绿"}}


def test_unreadable_or_incomplete_files_write_nothing(tmp_path) -> None:
    db = tmp_path / "evplan.sqlite"
    fleet_store.ingest_file(db, fleet_dir=SHIPPED, file_path=write_csv(tmp_path / "first.csv", FIRST), today=TODAY)
    before = dump(db)
    with pytest.raises(RecordError, match="missing required column.*is_operating"):
        fleet_store.ingest_file(db, fleet_dir=SHIPPED, file_path=write_csv(tmp_path / "cols.csv", [r[:6] for r in FIRST], header=COLUMNS[:6]))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"vehicle_id\n\xff\xfe\xfa\n")
    with pytest.raises(InputFileError, match="bad.csv"):
        fleet_store.ingest_file(db, fleet_dir=SHIPPED, file_path=bad)
    assert dump(db) == before


def test_load_records_needs_an_existing_non_empty_store(tmp_path) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        fleet_store.load_records(tmp_path / "none.sqlite", fleet_dir=SHIPPED)
    service_db = tmp_path / "service.sqlite"  # the service's database before any fleet ingest
    sqlite3.connect(service_db).execute("CREATE TABLE siting_runs (id TEXT)").connection.close()
    with pytest.raises(RecordError, match="no fleet records in this database"):
        fleet_store.load_records(service_db, fleet_dir=SHIPPED)
    assert fleet_store.list_ingests(service_db) == []
    fleet_store.ensure_schema(tmp_path / "empty.sqlite")
    with pytest.raises(RecordError, match="holds no vehicles"):
        fleet_store.load_records(tmp_path / "empty.sqlite", fleet_dir=SHIPPED)


def test_cli_ingest_prints_the_report_and_indicators_read_the_store(tmp_path, capsys) -> None:
    db = tmp_path / "evplan.sqlite"
    path = write_csv(tmp_path / "first.csv", FIRST)
    assert main(["fleet", "ingest", str(path), "--db", str(db), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["added"], out["quarantined"]) == (3, 2) and out["issues"][1]["field"] == "deregistered_on"
    assert main(["fleet", "indicators", "--year", "2021", "--db", str(db), "--json"]) == 0
    ind = json.loads(capsys.readouterr().out)
    assert (ind["buses"], ind["ne_buses"], ind["ne_bus_share"]) == (2, 1, 0.5)


def test_the_shipped_records_through_the_store_give_the_same_indicators(tmp_path, shanwei_records) -> None:
    db = tmp_path / "evplan.sqlite"
    report = fleet_store.ingest_file(db, fleet_dir=SHIPPED, file_path=config.FLEET_DIR / "vehicles.csv.gz")
    assert report.added == len(shanwei_records.vehicles) and report.quarantined == 0
    stored = fleet_store.load_records(db, fleet_dir=SHIPPED)
    for year in (2020, 2025):
        a = fleet.indicators(stored.vehicles, stored.activity, year=year).to_dict()
        b = fleet.indicators(shanwei_records.vehicles, shanwei_records.activity, year=year).to_dict()
        assert a == b
    assert fleet.depot_energy_demand(stored, year=2025) == fleet.depot_energy_demand(shanwei_records, year=2025)


# ------------------------------------------------------------------------------------ kill midway

KILLED_INGEST = """
import sys, time
from planner import config
from planner.fleet.store import ingest_file

def progress(fraction, message):
    print(message, file=sys.stderr, flush=True)
    if message.startswith("writing vehicles"):
        time.sleep(0.4)  # hold the open transaction a moment so the parent can kill it mid-write

ingest_file(sys.argv[1], sys.argv[2], fleet_dir=config.FLEET_DIR, progress=progress)
print("committed", file=sys.stderr, flush=True)
"""


def _large_file(path: Path, n: int) -> Path:
    classes = ("passenger_car", "truck", "van", "bus", "taxi")
    powertrains = ("petrol", "diesel", "BEV", "PHEV", "LNG")
    counties = ("441502", "441521", "441523", "441581")
    lines = [",".join(COLUMNS)]
    for i in range(n):
        year = 2010 + i % 15
        lines.append(f"K{i:07d},{classes[i % 5]},{powertrains[(i // 5) % 5]},{year}-{1 + i % 12:02d}-{1 + i % 28:02d},"
                     f",{counties[i % 4]},{'true' if i % 3 else 'false'},")
    lines.append("BROKEN,bus,steam,2020-01-01,,441502,true,")  # one quarantined row as well
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_ingest_killed_midway_leaves_the_store_as_it_was(tmp_path) -> None:
    db = tmp_path / "evplan.sqlite"
    fleet_store.ingest_file(db, fleet_dir=SHIPPED, file_path=write_csv(tmp_path / "first.csv", FIRST), today=TODAY)
    before = dump(db)
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # every connection closed: nothing pending
    big = _large_file(tmp_path / "big.csv", 200_000)

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_INGEST, str(db), str(big)], cwd=ROOT, env=env,
                            stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        for line in proc.stderr:  # wait until the ingest has written vehicles inside its transaction
            seen.append(line.strip())
            if line.startswith("writing vehicles 60000/"):
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL and "committed" not in seen, seen[-3:]
    assert wal.exists() and wal.stat().st_size > 0  # the killed transaction had reached the disk

    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    assert dump(db) == before  # nothing of the killed ingest: no vehicle, no quarantine row, no ingest record

    done = fleet_store.ingest_file(db, fleet_dir=SHIPPED, file_path=big)  # and the same file goes in whole afterwards
    assert not done.already_ingested and (done.added, done.quarantined) == (200_000, 1)
    assert len(dump(db)["vehicles"]) == len(before["vehicles"]) + 200_000


def test_cli_ingest_fails_when_every_row_is_quarantined(tmp_path, capsys) -> None:
    db = tmp_path / "evplan.sqlite"
    path = write_csv(tmp_path / "bad.csv", [FIRST[3], FIRST[4]])  # a bad powertrain, dates out of order
    assert main(["fleet", "ingest", str(path), "--db", str(db), "--quiet"]) == 1
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert "every one of the 2 rows" in line and "bad.csv" in line and "nothing was added" in line
    assert "2 quarantined" in captured.out  # the report with every row issue is still printed
    good = write_csv(tmp_path / "good.csv", FIRST)  # some good rows: success
    assert main(["fleet", "ingest", str(good), "--db", str(db), "--quiet"]) == 0
