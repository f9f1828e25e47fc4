"""Traffic assumptions behind corridor demand, each with its unit, meaning and source.

Every field carries ``metadata`` with ``unit``, ``help`` and ``source`` so that the scenario file's
documentation (``evplan scenario show``) is generated from here and cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def doc(default: Any = None, *, unit: str, help: str, source: str, factory: Any = None) -> Any:
    """A dataclass field with its unit, meaning and source as metadata."""
    meta = {"unit": unit, "help": help, "source": source}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class TrafficAssumptions:
    """How origin-destination traffic becomes peak-hour charging arrivals on the corridors."""

    #: Which day the chargers are sized for.
    design_day: str = doc("ordinary", unit="", help="day the corridor chargers are sized for: ordinary or holiday",
                          source="choice of the planner")
    holiday_traffic_factor: float = doc(
        1.6, unit="x AADT", help="daily expressway traffic on a toll-free holiday peak day against the annual average",
        source="ASSUMPTION: toll-free holiday peaks on Guangdong expressways run well above the annual average; "
               "replace with the operator's counts")


__all__ = ["TrafficAssumptions", "doc"]
