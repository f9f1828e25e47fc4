"""Shared dependencies of the routers: the state loaded at start-up and the API-key checks."""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from app.core.config import Settings, hash_api_key
from app.derived import DerivedFigures
from app.reports import ReportService
from app.runs import RunManager
from app.store import Store
from planner.fleet import FleetRecords
from planner.network import RoadNetwork

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="A key from EVPLAN_API_KEYS.")


@dataclass
class ServiceState:
    """What the service loads once at start-up and shares between requests."""

    settings: Settings
    key_hashes: frozenset[str] = frozenset()
    network: RoadNetwork | None = None
    #: Admin boundaries as a GeoJSON FeatureCollection, when the file exists.
    boundaries: dict[str, Any] | None = None
    fleet: FleetRecords | None = None
    #: Where ``fleet`` came from: ``"shipped"`` (settings.fleet_dir) or ``"store"`` (uploaded records).
    fleet_source: Literal["shipped", "store"] | None = None
    store: Store | None = None
    runs: RunManager | None = None
    reports: ReportService | None = None
    #: The siting sweeps' manager (``app.sweeps.SweepManager``).
    sweeps: Any = None
    #: Why start-up loading failed, per part (``network``, ``fleet``); empty while loading or when fine.
    load_errors: dict[str, str] = field(default_factory=dict)
    #: Targets and indicators of the records in use, computed once per records version.
    derived: DerivedFigures = field(default_factory=DerivedFigures)
    #: Held while the fleet records are re-read (and their figures prepared), so the newest store state wins.
    records_lock: threading.Lock = field(default_factory=threading.Lock)
    #: Ingests committed to the store so far, and how many of them the records in use include: an upload
    #: whose ingest a later re-read already includes does not read the store again.
    ingests_committed: int = 0
    ingests_in_use: int = 0
    ingest_count_lock: threading.Lock = field(default_factory=threading.Lock)


def get_state(request: Request) -> ServiceState:
    """The state built by the app's lifespan."""
    return request.app.state.evplan


StateDep = Annotated[ServiceState, Depends(get_state)]


def _not_ready(state: ServiceState, part: str) -> HTTPException:
    why = state.load_errors.get(part)
    detail = f"the {part} could not be loaded: {why}" if why else f"the {part} is still loading; retry in a few seconds"
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail, headers={"Retry-After": "5"})


def get_network(state: StateDep) -> RoadNetwork:
    """The loaded road network, or 503 while it loads."""
    if state.network is None:
        raise _not_ready(state, "network")
    return state.network


def get_fleet(state: StateDep) -> FleetRecords:
    """The fleet records in use, or 503 while they load."""
    if state.fleet is None:
        raise _not_ready(state, "fleet records")
    return state.fleet


NetworkDep = Annotated[RoadNetwork, Depends(get_network)]
FleetDep = Annotated[FleetRecords, Depends(get_fleet)]


def _key_ok(key: str | None, state: ServiceState) -> bool:
    if not key:
        return False
    digest = hash_api_key(key)
    return any(hmac.compare_digest(digest, h) for h in state.key_hashes)


def require_write_key(state: StateDep, key: Annotated[str | None, Security(api_key_header)]) -> None:
    """Writes need a valid X-API-Key: 401 without one, 403 with a wrong one."""
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "this request changes data: send a valid X-API-Key header")
    if not _key_ok(key, state):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the X-API-Key header does not match any configured key")


def require_read_key(state: StateDep, key: Annotated[str | None, Security(api_key_header)]) -> None:
    """Reads are open unless EVPLAN_READ_REQUIRES_KEY is set."""
    if state.settings.read_requires_key:
        require_write_key(state, key)


WriteKey = Annotated[None, Depends(require_write_key)]
ReadKey = Depends(require_read_key)
