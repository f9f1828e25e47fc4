"""API fuzzing: schemathesis generates requests from the service's own OpenAPI schema.

Every documented operation is called with generated valid and invalid data, with a valid API key so
that writes are exercised too. No answer may be a 5xx, and every answer must be what the schema
documents: its status code, content type, headers and body schema; invalid data must be refused,
writes must refuse a request without the key, and a 405 must name the methods the path serves.

One check is left out: ``positive_data_acceptance`` (every schema-valid request must succeed). The
API has rules JSON Schema cannot state — west < east in a bbox, stage years that increase, shares that
sum to 1, an upload whose *content* is a vehicle file — and answers them with documented 4xx problems,
which the status-code and response-schema checks verify (``make fuzz`` runs that check too, excusing only
those rules: ``bench/fuzz.py``).

Siting runs and sweeps submitted by the fuzzer are cancelled at once (and a worker is stopped after 2 s in any
case), so fuzzing never computes dozens of plans. Per-operation status counts are written to
``api_fuzz.json`` in the test artifacts directory (tests/support/paths.py).
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.core.config import Settings
from app.main import create_app
from tests.support.paths import ARTIFACTS

ROOT = Path(__file__).resolve().parents[1]
ARTIFACT = ARTIFACTS / "api_fuzz.json"
KEY = "fuzz-write-key"
WRITE = {"X-API-Key": KEY}
EXAMPLES = 20           # per operation, per generation phase
EXAMPLES_COSTLY = 4     # operations that take ~0.3-1 s each (report building, target projections)
COSTLY = {("POST", "/api/v1/reports"), ("GET", "/api/v1/fleet/targets")}

# The schema is read from the app object itself (no lifespan starts at import); the data directory
# is chosen by the fixture below, before the lifespan that reads it starts.
SETTINGS = Settings(data_dir=Path("chosen-by-the-service-fixture"), api_keys=KEY, max_concurrent_runs=1,
                    run_time_limit_s=2.0, max_upload_mb=1, report_cron="")
APP = create_app(SETTINGS)
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP  # requests go to the app in-process (ASGI), as with schemathesis.openapi.from_asgi

STATUSES: dict[str, Counter] = defaultdict(Counter)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app with its lifespan running (store, run manager, network and records loaded)."""
    SETTINGS.data_dir = tmp_path_factory.mktemp("evplan-fuzz")
    with schemathesis_asgi.get_client(APP) as client:
        deadline = time.monotonic() + 120
        while client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, client.get("/ready").text
            time.sleep(0.1)
        assert client.get("/openapi.json").json() == schema.raw_schema  # the schema fuzzed is the one served
        yield client
        runs = client.get("/api/v1/siting/runs", params={"limit": 1000}).json()
    schemathesis_asgi.shutdown_lifespans()
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    summary = {op: dict(sorted(c.items())) for op, c in sorted(STATUSES.items())}
    ARTIFACT.write_text(json.dumps({"requests": sum(sum(c.values()) for c in STATUSES.values()),
                                    "by_operation": summary}, indent=1) + "\n", encoding="utf-8")
    print(f"api fuzz: {sum(sum(c.values()) for c in STATUSES.values())} requests, "
          f"{len(runs)} runs submitted and stopped; statuses in {ARTIFACT}")


def _call(case: Any, client: Any) -> None:
    # The service's own request timeout (60 s), not the client's 10 s: a first target assessment of the
    # shipped records (hindcast included) takes seconds on a busy machine; later ones come from the cache.
    response = case.call_and_validate(headers=WRITE, excluded_checks=[positive_data_acceptance], timeout=60)
    STATUSES[f"{case.method} {case.operation.path}"][response.status_code] += 1
    if (case.method, case.operation.path) == ("POST", "/api/v1/siting/runs") and response.status_code == 202:
        run_id = response.json()["id"]
        stopped = client.delete(f"/api/v1/siting/runs/{run_id}", headers=WRITE).json()
        assert stopped["status"] in ("cancelled", "failed"), stopped
    if (case.method, case.operation.path) == ("POST", "/api/v1/siting/sweeps") and response.status_code == 202:
        stopped = client.delete(f"/api/v1/siting/sweeps/{response.json()['id']}", headers=WRITE).json()
        assert stopped["status"] in ("cancelled", "failed"), stopped


# Costly operations first: the report made here is what the report reads below then find.
@schema.include(name=[f"{m} {p}" for m, p in sorted(COSTLY)]).parametrize()
@settings(max_examples=EXAMPLES_COSTLY, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_costly_operations_conform_to_the_schema(case: Any, service: Any) -> None:
    _call(case, service)


@schema.exclude(name=[f"{m} {p}" for m, p in sorted(COSTLY)]).parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_schema(case: Any, service: Any) -> None:
    _call(case, service)
