"""The send pacing: never more than ``limit`` entries in any ``period``, at least
``spacing`` apart, in arrival order, and time lost to a stall made up afterwards."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ratelimit import SlidingWindow, TelegramRateLimiter


def _admit_all(window: SlidingWindow, arrivals: list[float]) -> list[float]:
    """Simulate arrivals (seconds, ascending) through the window's rule, without sleeping."""
    admitted = []
    for at in arrivals:
        go = at + window.wait_time(at)
        window._admitted.append(go)
        admitted.append(go)
    return admitted


@settings(max_examples=200)
@given(
    st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), min_size=1, max_size=200),
    st.integers(min_value=1, max_value=40),
    st.floats(min_value=0.1, max_value=2),
    st.floats(min_value=0, max_value=0.05),
)
def test_no_window_ever_holds_more_than_the_limit(
    arrivals: list[float], limit: int, period: float, spacing: float
) -> None:
    window = SlidingWindow(limit, period, spacing)
    admitted = _admit_all(window, sorted(arrivals))
    assert admitted == sorted(admitted)  # first come, first served
    assert all(go >= at for go, at in zip(admitted, sorted(arrivals), strict=True))
    for i in range(len(admitted) - limit):
        assert admitted[i + limit] - admitted[i] >= period - 1e-9
    for a, b in itertools.pairwise(admitted):
        assert b - a >= spacing - 1e-9


def test_a_stall_is_made_up_without_breaking_the_window() -> None:
    window = SlidingWindow(30, 1.0, 1 / 45)
    steady = [i / 30 for i in range(30)]  # one second at the full rate
    stalled = [1.5 + i * 0.001 for i in range(30)]  # then half a second lost, 30 queued
    admitted = _admit_all(window, steady + stalled)
    # The queued 30 go 1/45 s apart from 1.5 s (not 1/30 s apart): 0.64 s, not 0.97 s.
    assert admitted[-1] == pytest.approx(1.5 + 29 / 45)
    assert admitted[30] == pytest.approx(1.5)


async def test_entries_are_paced_in_real_time() -> None:
    window = SlidingWindow(3, 0.3, 0.01)
    loop = asyncio.get_running_loop()
    started = loop.time()
    admitted: list[float] = []

    async def enter() -> None:
        async with window:
            admitted.append(loop.time() - started)

    await asyncio.gather(*(enter() for _ in range(7)))
    assert len(admitted) == 7
    assert admitted[3] >= admitted[0] + 0.3 - 0.005
    assert admitted[6] >= admitted[3] + 0.3 - 0.005
    assert admitted[2] < 0.1  # the first three needed no wait beyond the spacing


def test_bad_settings_are_refused_and_ptb_gets_the_window() -> None:
    with pytest.raises(ValueError, match="limit must be"):
        SlidingWindow(0, 1.0)
    with pytest.raises(ValueError, match="limit must be"):
        SlidingWindow(30, 0)
    limiter = TelegramRateLimiter()
    assert isinstance(limiter._base_limiter, SlidingWindow)
    assert (limiter._base_limiter.limit, limiter._base_limiter.period) == (30, 1.02)
