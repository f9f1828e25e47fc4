"""The HTTP service through the ASGI client: every endpoint, its errors and its settings."""

from __future__ import annotations

import asyncio
import gzip
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import TimeoutMiddleware, create_app
from app.runs import RunManager, prune_run_dirs, run_output_dir
from app.schemas import ScenarioIn
from app.store import Store
from planner import config, fleet
from planner.fleet import store as fleet_store

KEY = "test-write-key"
WRITE = {"X-API-Key": KEY}
RUN_DEADLINE_S = 240


def _wait_ready(client: TestClient, deadline_s: float = 180) -> None:
    deadline = time.monotonic() + deadline_s
    while client.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, client.get("/ready").json()
        time.sleep(0.1)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("evplan-data"), api_keys=f"another-key,{KEY}")
    with TestClient(create_app(settings)) as c:
        _wait_ready(c)
        yield c


@pytest.fixture(scope="module")
def upload_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A service of its own (uploads switch it to the stored records), with a 0.2 MB upload limit."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("evplan-upload"), api_keys=KEY, max_upload_mb=0.2)
    with TestClient(create_app(settings)) as c:
        _wait_ready(c)
        yield c


def _is_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


# ------------------------------------------------------------------------------------------- health


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "network": True, "fleet": True}


def test_ready_is_503_with_the_reason_when_the_network_cannot_load(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, osm_path=tmp_path / "missing.osm", boundaries_path=tmp_path / "none.json")
    with TestClient(create_app(settings)) as c:
        deadline = time.monotonic() + 60
        while not (body := c.get("/ready").json())["errors"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        r = c.get("/ready")
        assert r.status_code == 503 and body["status"] == "failed" and body["checks"]["network"] is False
        assert "missing.osm" in body["errors"]["network"]
        assert c.get("/health").status_code == 200
        problem = _is_problem(c.get("/api/v1/network/service-areas"), 503)
        assert "could not be loaded" in problem["detail"]
        _is_problem(c.get("/api/v1/network/boundaries"), 404)


# ------------------------------------------------------------------------------------------ network


def test_service_areas_geojson_matches_the_network(client: TestClient, shanwei_network) -> None:
    r = client.get("/api/v1/network/service-areas")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    ids = {(f["properties"]["id"], f["properties"]["side"]) for f in fc["features"] if f["properties"]["snapped"]}
    assert ids == {(s.id, s.side) for s in shanwei_network.service_areas}
    assert sum(s.status == "active" for s in shanwei_network.service_areas) >= 4
    for f in fc["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert 114.5 < lon < 116.5 and 22.3 < lat < 23.7  # WGS84 lon/lat order, inside Shanwei


def test_roads_filtered_by_class_and_bbox(client: TestClient, shanwei_network) -> None:
    everything = client.get("/api/v1/network/roads").json()["features"]
    assert len(everything) == shanwei_network.graph.number_of_edges()
    motorways = client.get("/api/v1/network/roads", params={"class": "motorway"}).json()["features"]
    expected = sum(1 for *_, d in shanwei_network.graph.edges(data=True) if d["highway"] == "motorway")
    assert len(motorways) == expected > 0
    assert {f["properties"]["highway"] for f in motorways} == {"motorway"}

    w, s, e, n = 115.2, 22.8, 115.5, 23.0
    boxed = client.get("/api/v1/network/roads", params={"class": "motorway,trunk", "bbox": f"{w},{s},{e},{n}"})
    feats = boxed.json()["features"]
    assert 0 < len(feats) < len(everything)
    assert {f["properties"]["highway"] for f in feats} <= {"motorway", "trunk"}
    for f in feats:  # every kept edge reaches into the box (its bounding box overlaps it)
        xs = [c[0] for c in f["geometry"]["coordinates"]]
        ys = [c[1] for c in f["geometry"]["coordinates"]]
        assert max(xs) >= w and min(xs) <= e and max(ys) >= s and min(ys) <= n


def test_boundaries_of_the_city_and_counties(client: TestClient) -> None:
    r = client.get("/api/v1/network/boundaries")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    codes = {f["properties"]["adcode"]: f["properties"]["level"] for f in r.json()["features"]}
    assert codes == {"441500": "city", "441502": "county", "441521": "county", "441523": "county", "441581": "county"}


@pytest.mark.parametrize("bbox", ["115.5,22.8,115.2,23.0", "a,b,c,d", "1,2,3", "-200,0,10,10"])
def test_bad_bbox_is_a_problem_naming_the_field(client: TestClient, bbox: str) -> None:
    body = _is_problem(client.get("/api/v1/network/roads", params={"bbox": bbox}), 422)
    assert [e["field"] for e in body["errors"]] == ["query.bbox"]
    assert bbox in body["errors"][0]["message"]


def test_bad_road_class_is_rejected(client: TestClient) -> None:
    body = _is_problem(client.get("/api/v1/network/roads", params={"class": "Motorway;DROP"}), 422)
    assert body["errors"][0]["field"] == "query.class"


# -------------------------------------------------------------------------------------------- fleet


def test_fleet_indicators_agree_with_the_library(client: TestClient, shanwei_records) -> None:
    body = client.get("/api/v1/fleet/indicators", params={"year": 2021}).json()
    expected = fleet.indicators(shanwei_records.vehicles, shanwei_records.activity, year=2021).to_dict()
    assert body["records_source"] == "shipped"
    assert body["ne_bus_share"] == pytest.approx(expected["ne_bus_share"])
    assert body["buses"] == expected["buses"] and body["ne_buses"] == expected["ne_buses"]
    assert 0.0 <= body["ne_bus_share"] <= 1.0


def test_fleet_indicators_for_one_county(client: TestClient, shanwei_records) -> None:
    body = client.get("/api/v1/fleet/indicators", params={"year": 2024, "county": "441521"}).json()
    expected = fleet.indicators(shanwei_records.vehicles, shanwei_records.activity, year=2024, county="441521").to_dict()
    city = client.get("/api/v1/fleet/indicators", params={"year": 2024}).json()
    assert body["county"] == "441521"
    assert body["buses"] == expected["buses"] < city["buses"]


def test_bad_query_is_a_problem_detail_naming_the_field(client: TestClient) -> None:
    body = _is_problem(client.get("/api/v1/fleet/indicators", params={"year": "soon", "county": "44"}), 422)
    assert {e["field"] for e in body["errors"]} == {"query.year", "query.county"}
    assert body["instance"] == "/api/v1/fleet/indicators"


def test_fleet_targets_agree_with_the_library(client: TestClient, shanwei_records) -> None:
    body = client.get("/api/v1/fleet/targets").json()
    expected = [a.to_dict() for a in fleet.assess_targets(shanwei_records, targets=fleet.load_target_set(config.TARGETS_FILE))]
    assert [t["id"] for t in body] == [t["id"] for t in expected]
    assert [t["status"] for t in body] == [t["status"] for t in expected]
    assert {t["status"] for t in body} <= {"met", "on track", "at risk", "off track", "no data"}


# ---------------------------------------------------------------------------------- fleet uploads


def _vehicles_csv(rows: int = 40) -> bytes:
    """The first rows of the shipped vehicle file, as CSV bytes."""
    vehicles = fleet.read_vehicle_file(_shipped_vehicle_file())
    return vehicles.head(rows).to_csv(index=False).encode()


def _shipped_vehicle_file() -> Path:
    files = sorted(p for p in config.FLEET_DIR.iterdir() if p.name.startswith("vehicles"))
    assert files, f"no vehicle file in {config.FLEET_DIR}"
    return files[0]


def test_upload_needs_a_key(upload_client: TestClient) -> None:
    files = {"file": ("v.csv", _vehicles_csv(5), "text/csv")}
    _is_problem(upload_client.post("/api/v1/fleet/records", files=files), 401)
    _is_problem(upload_client.post("/api/v1/fleet/records", files=files, headers={"X-API-Key": "wrong"}), 403)


def test_upload_good_csv_is_stored_and_then_used(upload_client: TestClient) -> None:
    settings = upload_client.app.state.evplan.settings
    shipped = upload_client.get("/api/v1/fleet/indicators", params={"year": 2024}).json()
    assert shipped["records_source"] == "shipped"
    r = upload_client.post("/api/v1/fleet/records", headers=WRITE,
                           files={"file": ("../../etc/vehicles good.csv", _vehicles_csv(40), "text/csv")})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["file"] == "vehicles good.csv" and report["format"] == "csv"
    assert report["rows"] == 40 and report["added"] + report["quarantined"] == 40 and report["added"] > 0
    assert report["records_source"] == "store"
    assert str(settings.data_dir) not in r.text and "upload-" not in r.text  # no server path in the answer
    assert not list(settings.upload_dir.iterdir()), "the uploaded file was not removed after ingesting"

    # From now on the indicators are those of the stored vehicles.
    stored = fleet_store.load_records(settings.database_path, fleet_dir=settings.fleet_dir)
    assert len(stored.vehicles) == report["added"]
    ind = upload_client.get("/api/v1/fleet/indicators", params={"year": 2024}).json()
    expected = fleet.indicators(stored.vehicles, stored.activity, year=2024).to_dict()
    assert ind["records_source"] == "store"
    assert ind["new_vehicles"] == expected["new_vehicles"] != shipped["new_vehicles"]

    # The same file again stores nothing new.
    again = upload_client.post("/api/v1/fleet/records", headers=WRITE,
                               files={"file": ("v.csv", _vehicles_csv(40), "text/csv")}).json()
    assert again["already_ingested"] is True and again["added"] == 0
    assert len(fleet_store.load_records(settings.database_path, fleet_dir=settings.fleet_dir).vehicles) == report["added"]


def test_upload_gzip_and_parquet(upload_client: TestClient) -> None:
    vehicles = fleet.read_vehicle_file(_shipped_vehicle_file()).iloc[40:60]
    buf = io.BytesIO()
    vehicles.to_parquet(buf, index=False)
    r = upload_client.post("/api/v1/fleet/records", headers=WRITE,
                           files={"file": ("v.bin", buf.getvalue(), "application/octet-stream")})
    assert r.status_code == 200 and r.json()["format"] == "parquet", r.text
    gz = gzip.compress(vehicles.to_csv(index=False).encode())
    r = upload_client.post("/api/v1/fleet/records", headers=WRITE, files={"file": ("v.csv.gz", gz, "application/gzip")})
    assert r.status_code == 200 and r.json()["format"] == "csv.gz", r.text


def test_upload_bad_rows_are_listed_per_row(upload_client: TestClient) -> None:
    frame = pd.read_csv(io.BytesIO(_vehicles_csv(10)), dtype=str, keep_default_na=False)
    column = "powertrain" if "powertrain" in frame.columns else frame.columns[1]
    frame.loc[3, column] = "STEAM"
    r = upload_client.post("/api/v1/fleet/records", headers=WRITE,
                           files={"file": ("bad.csv", frame.to_csv(index=False).encode(), "text/csv")})
    assert r.status_code == 200, r.text
    issues = r.json()["issues"]
    assert any(i["field"] == column and i["value"] == "STEAM" for i in issues), issues
    assert all(i["file"] == "bad.csv" for i in issues)


def test_upload_unreadable_file_is_a_problem(upload_client: TestClient) -> None:
    r = upload_client.post("/api/v1/fleet/records", headers=WRITE,
                           files={"file": ("x.csv", b"not,a,vehicle,file\n1,2,3,4\n", "text/csv")})
    body = _is_problem(r, r.status_code)
    assert 400 <= r.status_code < 500 and "x.csv" in body["detail"]
    assert "upload-" not in body["detail"]


def test_upload_over_the_limit_is_413(upload_client: TestClient) -> None:
    upload_dir = upload_client.app.state.evplan.settings.upload_dir
    big = b"vehicle_id\n" + b"x" * 300_000
    # Declared by Content-Length: refused before the body is read.
    r = upload_client.post("/api/v1/fleet/records", headers=WRITE, files={"file": ("big.csv", big, "text/csv")})
    assert "0.2 MB" in _is_problem(r, 413)["detail"]
    # No Content-Length (chunked): refused while the bytes are counted.
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n".encode()
            + big + f"\r\n--{boundary}--\r\n".encode())

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 16384):
            yield body[i:i + 16384]

    r = upload_client.post("/api/v1/fleet/records", content=chunks(),
                           headers={**WRITE, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    _is_problem(r, 413)
    assert not list(upload_dir.iterdir())


def test_upload_that_is_not_a_form_or_has_no_file(upload_client: TestClient) -> None:
    _is_problem(upload_client.post("/api/v1/fleet/records", headers=WRITE, content=b"a,b\n1,2\n"), 415)
    body = _is_problem(upload_client.post("/api/v1/fleet/records", headers=WRITE, data={"note": "x"},
                                          files={"other": ("v.csv", b"a\n1\n", "text/csv")}), 400)
    assert "'file'" in body["detail"]
    _is_problem(upload_client.post("/api/v1/fleet/records", headers=WRITE,
                                   files={"file": ("empty.csv", b"", "text/csv")}), 400)


# ------------------------------------------------------------------------------------------ reports


def test_report_on_demand_list_and_latest(client: TestClient) -> None:
    _is_problem(client.post("/api/v1/reports"), 401)
    made = client.post("/api/v1/reports", headers=WRITE)
    assert made.status_code == 201, made.text
    entry = made.json()
    assert entry["trigger"] == "on demand" and made.headers["location"] == f"/api/v1/reports/{entry['id']}"

    listing = client.get("/api/v1/reports").json()
    assert listing["reports"][0]["id"] == entry["id"]
    assert listing["schedule"] == "0 7 1 * *" and listing["next_scheduled_at"].endswith("+08:00")

    html = client.get("/api/v1/reports/latest")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<html" in html.text.lower() and html.headers["vary"] == "Accept"
    as_json = client.get("/api/v1/reports/latest", params={"format": "json"}).json()
    negotiated = client.get("/api/v1/reports/latest", headers={"Accept": "application/json"}).json()
    assert as_json["id"] == negotiated["id"] == entry["id"]
    assert as_json["figures"] == negotiated["figures"] and as_json["figures"]
    browser = client.get("/api/v1/reports/latest", headers={"Accept": "text/html,application/json;q=0.9"})
    assert browser.headers["content-type"].startswith("text/html")

    one = client.get(f"/api/v1/reports/{entry['id']}")
    assert one.status_code == 200 and one.text == html.text
    _is_problem(client.get(f"/api/v1/reports/{'0' * 32}"), 404)
    _is_problem(client.get("/api/v1/reports/latest", params={"format": "pdf"}), 422)


def test_scheduled_report_is_made_by_the_scheduler(client: TestClient) -> None:
    reports = client.app.state.evplan.reports
    before = {r["id"] for r in client.get("/api/v1/reports").json()["reports"]}
    from datetime import UTC, datetime

    reports.scheduler.get_job("fleet-share-report").modify(next_run_time=datetime.now(UTC))
    deadline = time.monotonic() + 60
    while True:
        new = [r for r in client.get("/api/v1/reports").json()["reports"] if r["id"] not in before]
        if new:
            break
        assert time.monotonic() < deadline, "the scheduler did not make the report"
        time.sleep(0.1)
    assert new[0]["trigger"] == "schedule"
    # Rescheduled by the cron expression afterwards: the first of a month, 07:00 Shanghai time.
    nxt = reports.next_run_time()
    assert (nxt.day, nxt.hour, nxt.minute, nxt.utcoffset().total_seconds()) == (1, 7, 0, 8 * 3600)


def test_no_report_yet_is_404(upload_client: TestClient) -> None:
    body = _is_problem(upload_client.get("/api/v1/reports/latest"), 404)
    assert "POST /api/v1/reports" in body["detail"]


# ------------------------------------------------------------------------------------------- siting


def _wait_run(client: TestClient, run_id: str, until: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_DEADLINE_S
    while (run := client.get(f"/api/v1/siting/runs/{run_id}").json())["status"] not in until:
        assert time.monotonic() < deadline, run
        time.sleep(0.2)
    return run


def test_siting_run_lifecycle(client: TestClient, shanwei_network) -> None:
    scenario = {"stage_years": [2025, 2030], "drive_time_min": 30, "town_coverage_from": None}  # a quick solve
    _is_problem(client.post("/api/v1/siting/runs", json=scenario), 401)
    _is_problem(client.post("/api/v1/siting/runs", json=scenario, headers={"X-API-Key": "nope"}), 403)

    r = client.post("/api/v1/siting/runs", json=scenario, headers=WRITE)
    assert r.status_code == 202, r.text
    run = r.json()
    assert r.headers["location"] == f"/api/v1/siting/runs/{run['id']}"
    assert run["reused"] is False and run["scenario"]["range_margin_km"] == 50.0  # defaults filled in

    # A second scenario waits in the queue (one run at a time); its results are not there yet.
    other = client.post("/api/v1/siting/runs", json={**scenario, "drive_time_min": 25}, headers=WRITE).json()
    assert other["id"] != run["id"]
    status = client.get(f"/api/v1/siting/runs/{other['id']}").json()["status"]
    assert status in ("queued", "running")
    pending = _is_problem(client.get(f"/api/v1/siting/runs/{other['id']}/sites"), 409)
    assert pending["run_status"] == status
    _is_problem(client.delete(f"/api/v1/siting/runs/{other['id']}"), 401)
    cancelled = client.delete(f"/api/v1/siting/runs/{other['id']}", headers=WRITE).json()
    assert cancelled["status"] == "cancelled" and cancelled["error"] == "cancelled on request"
    assert _is_problem(client.get(f"/api/v1/siting/runs/{other['id']}/summary"), 409)["run_status"] == "cancelled"

    done = _wait_run(client, run["id"], {"succeeded", "failed", "cancelled"})
    assert done["status"] == "succeeded", done
    assert done["progress"] == 1.0 and done["finished_at"]

    sites = client.get(f"/api/v1/siting/runs/{run['id']}/sites")
    assert sites.headers["content-type"].startswith("application/geo+json")
    features = sites.json()["features"]
    summary = client.get(f"/api/v1/siting/runs/{run['id']}/summary").json()
    coverage = client.get(f"/api/v1/siting/runs/{run['id']}/coverage").json()["features"]
    final = summary["stages"]["2030"]
    assert len(features) == final["sites"]
    assert sum(f["properties"]["chargers"] for f in features) == final["chargers"]
    assert sum(f["properties"]["covered"] for f in coverage) == final["towns_covered"]
    # Every active service-area side of the network has a station.
    active = {(s.id, s.side) for s in shanwei_network.service_areas if s.status == "active"}
    stations = {(f["properties"]["service_area_id"], f["properties"]["side"]) for f in features}
    assert active <= stations
    # A finished run cannot be cancelled any more: it is returned unchanged.
    assert client.delete(f"/api/v1/siting/runs/{run['id']}", headers=WRITE).json()["status"] == "succeeded"

    # The same scenario (defaults spelt out, kinds in another order) returns the stored run.
    same = {**done["scenario"], "candidate_kinds": list(reversed(done["scenario"]["candidate_kinds"]))}
    again = client.post("/api/v1/siting/runs", json=same, headers=WRITE)
    assert again.status_code == 200 and again.json()["id"] == run["id"] and again.json()["reused"] is True

    listed = client.get("/api/v1/siting/runs").json()
    assert [r["id"] for r in listed[:2]] == [other["id"], run["id"]]
    assert client.get("/api/v1/siting/runs", params={"limit": 1}).json()[0]["id"] == other["id"]


def test_runs_plan_with_the_uploaded_records_once_there_are_any(tmp_path: Path) -> None:
    """An upload changes a run's inputs: the same scenario is planned again, on the stored vehicles."""
    settings = Settings(data_dir=tmp_path / "data", api_keys=KEY)
    scenario = {"stage_years": [2025, 2030], "town_coverage_from": None}  # a quick solve
    with TestClient(create_app(settings)) as c:
        _wait_ready(c)
        before = c.post("/api/v1/siting/runs", json=scenario, headers=WRITE).json()
        assert _wait_run(c, before["id"], {"succeeded", "failed"})["status"] == "succeeded"
        shipped = c.get(f"/api/v1/siting/runs/{before['id']}/summary").json()
        assert shipped["fleet_records"] == "shipped" and shipped["stages"]["2025"]["sites_by_kind"]["depot"] > 0

        # Passenger cars only: no e-bus or e-taxi is based at any depot in the uploaded register.
        upload = c.post("/api/v1/fleet/records", headers=WRITE,
                        files={"file": ("register.csv", _vehicles_csv(40), "text/csv")})
        assert upload.status_code == 200, upload.text
        after = c.post("/api/v1/siting/runs", json=scenario, headers=WRITE)
        assert after.status_code == 202 and after.json()["id"] != before["id"]
        done = _wait_run(c, after.json()["id"], {"succeeded", "failed"})
        assert done["status"] == "succeeded", (done.get("error"), done.get("message"), done.get("detail"))
        stored = c.get(f"/api/v1/siting/runs/{after.json()['id']}/summary").json()
        assert stored["fleet_records"] == "store" and "depot" not in stored["stages"]["2025"]["sites_by_kind"]


def test_run_over_the_time_limit_is_stopped_and_failed(tmp_path: Path) -> None:
    store = Store(tmp_path / "runs.sqlite")
    manager = RunManager(store, osm_path=config.SHANWEI_OSM, fleet_dir=config.FLEET_DIR, max_concurrent=1,
                         time_limit_s=0.3)  # far less than a worker needs just to start
    manager.start()
    try:
        run, created = manager.submit(ScenarioIn().model_dump(mode="json"))
        deadline = time.monotonic() + 60
        while (got := store.get_run(run.id)).status in ("queued", "running"):
            assert time.monotonic() < deadline, got
            time.sleep(0.05)
        assert created and got.status == "failed" and got.error.startswith("time limit of 0.3 s exceeded")
        assert manager.active_run_ids() == []
    finally:
        manager.stop()


def test_run_output_directories_follow_the_retention_rule_and_delete_removes_them(tmp_path: Path) -> None:
    """Kept: queued/running runs' directories and the ``keep`` newest succeeded ones; removed: the rest."""
    store = Store(tmp_path / "evplan.sqlite")
    runs = [store.create_run(f"key-{i}", {"i": i})[0].id for i in range(7)]
    # runs[0..3] succeed (oldest first), runs[4] fails, runs[5] is running, runs[6] stays queued.
    for run_id in runs[:4]:
        assert store.mark_running(run_id) and store.finish_run(run_id, {}, {}, {})
    assert store.mark_running(runs[4]) and store.fail_run(runs[4], "boom")
    assert store.mark_running(runs[5])
    stranger = "e" * 32  # a directory the database does not know
    for run_id in [*runs, stranger]:
        run_output_dir(store.path, run_id).mkdir(parents=True)
        (run_output_dir(store.path, run_id) / "summary.json").write_text("{}")

    removed = prune_run_dirs(store, keep=2)
    # By hand: the 2 newest succeeded are runs[3], runs[2]; runs[5] and runs[6] are unfinished.
    assert removed == sorted([runs[0], runs[1], runs[4], stranger])
    left = sorted(d.name for d in run_output_dir(store.path, "x").parent.iterdir())
    assert left == sorted([runs[2], runs[3], runs[5], runs[6]])

    # DELETE (cancel) removes a run's directory whatever its status; the stored results stay.
    manager = RunManager(store, osm_path=config.SHANWEI_OSM, fleet_dir=config.FLEET_DIR, max_concurrent=1,
                         time_limit_s=60)
    assert manager.cancel(runs[6]).status == "cancelled"
    assert manager.cancel(runs[3]).status == "succeeded"
    assert not run_output_dir(store.path, runs[6]).exists() and not run_output_dir(store.path, runs[3]).exists()
    assert store.result(runs[3], "summary") == {}
    assert run_output_dir(store.path, runs[2]).is_dir() and run_output_dir(store.path, runs[5]).is_dir()


def test_unknown_run_is_404_and_bad_id_is_422(client: TestClient) -> None:
    unknown = "f" * 32
    for path in ("", "/sites", "/coverage", "/summary"):
        body = _is_problem(client.get(f"/api/v1/siting/runs/{unknown}{path}"), 404)
        assert unknown in body["detail"]
    _is_problem(client.delete(f"/api/v1/siting/runs/{unknown}", headers=WRITE), 404)
    body = _is_problem(client.get("/api/v1/siting/runs/not-a-run"), 422)
    assert body["errors"][0]["field"] == "path.run_id"


def test_invalid_scenario_names_each_field(client: TestClient) -> None:
    bad = {"stage_years": [2030, 2025], "range_margin_km": -5, "candidate_kinds": ["moon"], "colour": "red"}
    body = _is_problem(client.post("/api/v1/siting/runs", json=bad, headers=WRITE), 422)
    fields = {e["field"] for e in body["errors"]}
    assert {"body.stage_years", "body.range_margin_km", "body.candidate_kinds.0", "body.colour"} <= fields
    assert any(e["pointer"] == "#/range_margin_km" for e in body["errors"])


# ------------------------------------------------------------------------------ page and OpenAPI


def test_map_page_and_offline_leaflet(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for asset in ("static/leaflet/leaflet.js", "static/leaflet/leaflet.css", "static/map.js", "static/map.css"):
        assert asset in page.text
        r = client.get(f"/{asset}")
        assert r.status_code == 200 and len(r.content) > 500, asset
    assert "L.map" in client.get("/static/map.js").text
    assert client.get("/static/leaflet/images/marker-icon.png").content[:4] == b"\x89PNG"
    assert "http://" not in page.text and "https://" not in page.text  # nothing from the internet


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    expected = {
        ("get", "/health"), ("get", "/ready"),
        ("get", "/api/v1/network/service-areas"), ("get", "/api/v1/network/roads"),
        ("get", "/api/v1/network/boundaries"),
        ("post", "/api/v1/fleet/records"), ("get", "/api/v1/fleet/indicators"), ("get", "/api/v1/fleet/targets"),
        ("post", "/api/v1/reports"), ("get", "/api/v1/reports"), ("get", "/api/v1/reports/latest"),
        ("get", "/api/v1/reports/{report_id}"),
        ("post", "/api/v1/siting/runs"), ("get", "/api/v1/siting/runs"), ("get", "/api/v1/siting/runs/{run_id}"),
        ("delete", "/api/v1/siting/runs/{run_id}"), ("get", "/api/v1/siting/runs/{run_id}/sites"),
        ("get", "/api/v1/siting/runs/{run_id}/coverage"), ("get", "/api/v1/siting/runs/{run_id}/summary"),
        ("post", "/api/v1/siting/sweeps"), ("get", "/api/v1/siting/sweeps"), ("get", "/api/v1/siting/sweeps/{sweep_id}"),
        ("delete", "/api/v1/siting/sweeps/{sweep_id}"), ("get", "/api/v1/siting/sweeps/{sweep_id}/table"),
        ("get", "/api/v1/siting/sweeps/{sweep_id}/page"),
    }
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert expected == documented
    for method, path in expected:
        assert spec["paths"][path][method]["summary"], (method, path)
    upload = spec["paths"]["/api/v1/fleet/records"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert spec["components"]["schemas"]["ScenarioIn"]["examples"]
    assert "application/geo+json" in spec["paths"]["/api/v1/siting/runs/{run_id}/sites"]["get"]["responses"]["200"]["content"]
    assert spec["paths"]["/api/v1/siting/runs"]["post"]["security"] == [{"APIKeyHeader": []}]


# ------------------------------------------------------------------------------------------ settings


def test_keys_are_kept_only_as_hashes(client: TestClient) -> None:
    state = client.app.state.evplan
    assert KEY not in repr(state.settings) and KEY not in repr(state)
    assert len(state.key_hashes) == 2 and all(len(h) == 64 for h in state.key_hashes)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EVPLAN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EVPLAN_API_KEYS", "k1, k2,")
    monkeypatch.setenv("EVPLAN_MAX_UPLOAD_MB", "2.5")
    monkeypatch.setenv("EVPLAN_REPORT_CRON", "30 6 * * 1")
    s = Settings()
    assert s.data_dir == tmp_path and s.database_path == tmp_path / "evplan.sqlite"
    assert len(s.api_key_hashes()) == 2 and s.max_upload_bytes == 2_500_000
    monkeypatch.setenv("EVPLAN_REPORT_CRON", "every monday")
    with pytest.raises(ValueError, match="crontab"):
        Settings()


def test_reads_can_require_a_key(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, api_keys=KEY, read_requires_key=True))
    c = TestClient(app)  # no lifespan: the key check comes first
    _is_problem(c.get("/api/v1/siting/runs"), 401)
    assert c.get("/health").status_code == 200


def test_cors_from_settings(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, cors_origins="https://gis.example.gov.cn"))
    c = TestClient(app)
    pre = c.options("/api/v1/siting/runs", headers={"Origin": "https://gis.example.gov.cn",
                                                    "Access-Control-Request-Method": "POST",
                                                    "Access-Control-Request-Headers": "X-API-Key"})
    assert pre.headers["access-control-allow-origin"] == "https://gis.example.gov.cn"
    other = c.options("/api/v1/siting/runs", headers={"Origin": "https://evil.example",
                                                      "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in other.headers
    closed = TestClient(create_app(Settings(data_dir=tmp_path)))
    assert "access-control-allow-origin" not in closed.get("/health", headers={"Origin": "https://x.example"}).headers


def test_slow_request_times_out_as_a_problem() -> None:
    async def slow_app(scope, receive, send):  # an endpoint that takes too long
        await asyncio.sleep(5)

    c = TestClient(TimeoutMiddleware(slow_app, timeout_s=0.05))
    body = _is_problem(c.get("/slow"), 504)
    assert "0.05 s" in body["detail"]


def test_a_second_service_on_the_same_data_directory_is_refused(tmp_path: Path) -> None:
    """A second server would mark the first one's runs as interrupted: it is refused, with the reason."""
    import os
    import subprocess
    import sys

    from app.store import data_dir_lock
    from planner.errors import StorageError

    with data_dir_lock(tmp_path):
        with pytest.raises(StorageError, match="another evplan service"), data_dir_lock(tmp_path):
            pass
        done = subprocess.run([sys.executable, "-m", "cli", "serve", "--port", "1"], capture_output=True,
                              text=True, env={**os.environ, "EVPLAN_DATA_DIR": str(tmp_path)}, timeout=120)
        assert done.returncode == 2 and "another evplan service is using this data directory" in done.stderr
        assert "Traceback" not in done.stderr
    with data_dir_lock(tmp_path):  # released with its holder
        pass


def test_uploads_are_not_cut_by_the_request_timeout() -> None:
    """An upload is bounded by its size limit: a slow link must not turn it into a 504 mid-ingest."""
    from starlette.responses import PlainTextResponse

    async def slowish_app(scope, receive, send):
        await asyncio.sleep(0.3)
        await PlainTextResponse("stored")(scope, receive, send)

    c = TestClient(TimeoutMiddleware(slowish_app, timeout_s=0.05, exempt_paths=frozenset({"/api/v1/fleet/records"})))
    assert c.post("/api/v1/fleet/records").text == "stored"
    _is_problem(c.get("/api/v1/fleet/indicators"), 504)


def test_start_up_removes_uploads_a_dead_process_left_behind(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", api_keys=KEY)
    settings.upload_dir.mkdir(parents=True)
    stale = settings.upload_dir / "upload-0123abcd.csv"
    stale.write_text("vehicle_id\n")
    with TestClient(create_app(settings)):
        assert not stale.exists()


def test_run_errors_do_not_show_the_services_file_paths(tmp_path: Path) -> None:
    from app.runs import _public

    db, osm, fleet_dir = tmp_path / "d" / "evplan.sqlite", tmp_path / "net.osm", tmp_path / "fleet"
    message = f"InputFileError: {osm}: expected OSM XML; records in {fleet_dir}/vehicles.csv; db {db}"
    public = _public(message, str(db), str(osm), str(fleet_dir))
    assert str(tmp_path) not in public
    assert "the road network file: expected OSM XML" in public and "the fleet records/vehicles.csv" in public
