"""Targets and indicators are computed once per version of the fleet records, and anew after an upload."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.derived import DerivedFigures
from app.main import create_app

KEY = "derived-test-key"


def test_concurrent_askers_share_one_computation_and_new_records_recompute() -> None:
    cache, calls = DerivedFigures(), []

    def slow(records: object) -> int:
        calls.append(records)
        time.sleep(0.2)
        return len(calls)

    records_v1, records_v2 = object(), object()
    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.append(cache.get(records_v1, "k", slow))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [1] * 8 and len(calls) == 1
    assert cache.get(records_v1, "other", slow) == 2  # another key is its own computation
    assert cache.get(records_v2, "k", slow) == 3  # new records: the old value is stale
    assert cache.get(records_v2, "k", slow) == 3 and len(calls) == 3
    assert calls == [records_v1, records_v1, records_v2]  # each computed from the version asked for


def test_a_prepared_version_is_computed_before_use_while_readers_get_the_one_in_use() -> None:
    cache = DerivedFigures()
    release = threading.Event()
    computed: list[tuple[object, str]] = []

    def figure(name: str):
        def compute(records: object) -> str:
            computed.append((records, name))
            if records is new:
                release.wait(10)  # the new version's figures take a while
            return f"{name} of {'new' if records is new else 'old'}"
        return compute

    old, new = object(), object()
    assert cache.get(old, "targets", figure("targets")) == "targets of old"
    assert cache.get(old, "indicators", figure("indicators")) == "indicators of old"
    preparing = threading.Thread(target=cache.prepare, args=(new,))
    preparing.start()
    # While the new version is being prepared, readers of the version in use are answered from its values.
    assert cache.get(old, "targets", figure("targets")) == "targets of old"
    release.set()
    preparing.join()
    before = len(computed)
    # Switched: both figures were prepared (most recent first) and none is computed again on demand.
    assert cache.get(new, "targets", figure("targets")) == "targets of new"
    assert cache.get(new, "indicators", figure("indicators")) == "indicators of new"
    assert len(computed) == before == 4
    assert computed[2:] == [(new, "indicators"), (new, "targets")]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("derived"), api_keys=KEY, report_cron="")
    with TestClient(create_app(settings)) as c:
        deadline = time.monotonic() + 180
        while c.get("/ready").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        yield c


def test_targets_are_served_from_the_cache_until_the_records_change(client: TestClient) -> None:
    state = client.app.state.evplan
    first = client.get("/api/v1/fleet/targets")
    assert first.status_code == 200
    cached = [k for k in state.derived._values if k[0] == "targets"]
    assert len(cached) == 1
    assert client.get("/api/v1/fleet/targets").json() == first.json()
    assert [k for k in state.derived._values if k[0] == "targets"] == cached

    csv = ("vehicle_id,vehicle_class,powertrain,registered_on,deregistered_on,county_code,is_operating,depot_id\n"
           + "".join(f"U{i},bus,BEV,2024-0{1 + i % 9}-01,,441502,true,\n" for i in range(30)))
    up = client.post("/api/v1/fleet/records", headers={"X-API-Key": KEY},
                     files={"file": ("buses.csv", csv.encode(), "text/csv")})
    assert up.status_code == 200, up.text
    after = client.get("/api/v1/fleet/targets")
    assert after.status_code == 200
    assert after.json() != first.json()  # assessed on the uploaded records, not the cached shipped ones


def test_a_figure_the_records_cannot_give_is_kept_as_its_error() -> None:
    """A bad request repeated (a county the records do not hold) costs one computation per version, not one each."""
    from planner.errors import RecordError

    cache, calls = DerivedFigures(), []

    def refuse(records: object) -> int:
        calls.append(records)
        raise RecordError("county '999999' has no vehicles in the records")

    records = object()
    for _ in range(3):
        with pytest.raises(RecordError, match="999999"):
            cache.get(records, "k", refuse)
    assert len(calls) == 1


def test_recipes_can_be_computed_in_a_child_process(tmp_path) -> None:
    """A new version's figures are computed beside its records in a child process: the recipes must travel there."""
    import pickle

    from app import derived
    from app.fleet_records import records_and_figures, records_in_use
    from app.uploads import run_within
    from planner import config

    recipes = [derived.targets_figure(config.FLEET_DIR, None), derived.indicators_figure(2024, "441521"),
               derived.record_years_figure()]
    assert all(pickle.loads(pickle.dumps(compute)) for _, compute in recipes)
    records, source, figures = run_within(300, records_and_figures, config.FLEET_DIR, tmp_path / "none.sqlite",
                                          recipes)
    assert source == "shipped" and len(records.vehicles) == len(records_in_use(config.FLEET_DIR,
                                                                               tmp_path / "none.sqlite")[0].vehicles)
    here = derived.compute_each(records, recipes)
    assert set(figures) == {key for key, _ in recipes} and figures == here
    assert isinstance(figures[recipes[0][0]], bytes) and figures[("record_years",)] == (2015, 2025)


def test_a_year_outside_the_records_is_404_without_an_assessment(client: TestClient) -> None:
    """A schema-valid year the records do not span has no assessment (404, naming the span); nothing is computed."""
    state = client.app.state.evplan
    for year in (1990, 2100):
        r = client.get("/api/v1/fleet/targets", params={"year": year})
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert f"no target assessment for {year}" in r.json()["detail"] and "records span" in r.json()["detail"]
        assert not [k for k in state.derived._values if k[0] == "targets" and k[1] == year]
    spec = client.get("/openapi.json").json()["paths"]["/api/v1/fleet/targets"]["get"]
    assert "404" in spec["responses"] and spec["responses"]["200"]["content"]["application/json"]["schema"]["type"] \
        == "array"
