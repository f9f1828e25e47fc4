"""Shared dependencies of the routers: settings and the data loaded at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from app.core.config import Settings


@dataclass
class ServiceState:
    """What the service loads once at start-up and shares between requests."""

    settings: Settings
    network: Any = None
    fleet: Any = None


def get_state(request: Request) -> ServiceState:
    """The state built by the app's lifespan."""
    return request.app.state.evplan


StateDep = Annotated[ServiceState, Depends(get_state)]
