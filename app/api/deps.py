"""Shared dependencies of the routers: the state loaded at start-up and the API-key checks."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from app.core.config import Settings

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Key from EVPLAN_API_KEYS.")


@dataclass
class ServiceState:
    """What the service loads once at start-up and shares between requests."""

    settings: Settings
    key_hashes: frozenset[str] = frozenset()
    network: Any = None
    fleet: Any = None
    store: Any = None
    runs: Any = None
    scheduler: Any = None


def get_state(request: Request) -> ServiceState:
    """The state built by the app's lifespan."""
    return request.app.state.evplan


StateDep = Annotated[ServiceState, Depends(get_state)]


def _key_ok(key: str | None, state: ServiceState) -> bool:
    if not key:
        return False
    digest = hashlib.sha256(key.encode()).hexdigest()
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
