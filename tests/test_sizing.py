"""Charger sizing: Erlang C against the closed form, and the published norms."""

from __future__ import annotations

import math

import pytest

from planner.siting.sizing import (
    ChargerNorms,
    chargers_for_wait,
    erlang_c,
    high_power_split,
    required_chargers,
    site_power_kw,
)


def erlang_c_closed_form(c: int, a: float) -> float:
    """Textbook Erlang C: (a^c/c! · c/(c-a)) / (Σ_{k<c} a^k/k! + a^c/c! · c/(c-a))."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize("c,a", [(1, 0.5), (3, 2.0), (5, 4.2), (12, 9.7), (30, 25.0)])
def test_erlang_c_matches_closed_form(c: int, a: float) -> None:
    assert erlang_c(c, a) == pytest.approx(erlang_c_closed_form(c, a), rel=1e-9)


def test_erlang_c_textbook_value_and_edges() -> None:
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9)
    assert erlang_c(2, 2.0) == 1.0  # unstable queue: everyone waits
    assert erlang_c(4, 0.0) == 0.0


def test_chargers_for_wait_is_the_smallest_meeting_the_target() -> None:
    arrivals, minutes, target = 10.0, 24.0, 0.2
    c = chargers_for_wait(arrivals, minutes, target)
    load = arrivals * minutes / 60
    assert erlang_c(c, load) <= target
    assert c - 1 <= load or erlang_c(c - 1, load) > target
    assert chargers_for_wait(0.0, 30, 0.2) == 0


def test_norms_set_the_floor() -> None:
    norms = ChargerNorms()
    # GB/T 50966-2024: at least 3 chargers even with no demand.
    assert required_chargers(norms=norms, peak_arrivals_per_hour=0.0) == 3
    # 2022 highway charging plan: 10 % of 380 car spaces -> 38.
    assert required_chargers(norms=norms, peak_arrivals_per_hour=0.0, parking_spaces=380, is_service_area=True) == 38
    # Parking only counts at service areas.
    assert required_chargers(norms=norms, peak_arrivals_per_hour=0.0, parking_spaces=380) == 3


def test_high_power_share_and_power() -> None:
    norms = ChargerNorms()
    assert high_power_split(3, norms) == (2, 1)  # ceil(25 % of 3) = 1 high-power
    assert high_power_split(8, norms) == (6, 2)
    assert site_power_kw(3, norms) == 2 * 120 + 360
    assert norms.session_minutes() == pytest.approx(60 * 36 / 90)
