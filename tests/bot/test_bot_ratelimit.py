"""The send pacing: never more than ``limit`` entries in any ``period``, at least
``spacing`` apart, in arrival order, evenly spaced under a steady load, and time lost to
a stall made up afterwards."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ratelimit import Pacer, TelegramRateLimiter


def _admit_all(pacer: Pacer, arrivals: list[float], late: float = 0.0) -> list[float]:
    """Simulate arrivals (seconds, ascending; each waits for the one before) through the
    pacer's rule without sleeping; a wait ends ``late`` seconds after it should."""
    admitted: list[float] = []
    for at in arrivals:
        at = max(at, admitted[-1]) if admitted else at
        wait = pacer.wait_time(at)
        go = at + wait + (late if wait > 0 else 0.0)
        pacer.admit(go)
        admitted.append(go)
    return admitted


@settings(max_examples=300)
@given(
    st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), min_size=1, max_size=200),
    st.integers(min_value=1, max_value=40),
    st.floats(min_value=0.1, max_value=2),
    st.floats(min_value=0, max_value=0.5),
    st.floats(min_value=0, max_value=0.05),
)
def test_no_window_ever_holds_more_than_the_limit(
    arrivals: list[float], limit: int, period: float, catch_up: float, spacing: float
) -> None:
    pacer = Pacer(limit, period, catch_up=catch_up, spacing=spacing)
    arrivals = sorted(arrivals)
    admitted = _admit_all(pacer, arrivals)
    assert admitted == sorted(admitted)  # first come, first served
    assert all(go >= at for go, at in zip(admitted, arrivals, strict=True))
    for i in range(len(admitted) - limit):
        assert admitted[i + limit] - admitted[i] >= period - 1e-9
    for a, b in itertools.pairwise(admitted):
        assert b - a >= spacing - 1e-9


def test_a_steady_load_is_spaced_evenly_with_no_long_wait() -> None:
    pacer = Pacer(30, 1.02, catch_up=0.02, spacing=1 / 45)
    admitted = _admit_all(pacer, [0.0] * 300)  # 300 queued at once
    gaps = [b - a for a, b in itertools.pairwise(admitted)]
    assert max(gaps) <= 1.02 / 30 + 0.02 + 1e-9  # never a window's worth of waiting
    assert (len(admitted) - 1) / admitted[-1] == pytest.approx(30 / 1.02, rel=0.01)


@pytest.mark.parametrize("catch_up", [0.0, 0.02])
def test_late_wake_ups_are_made_up_rather_than_added_up(catch_up: float) -> None:
    pacer = Pacer(30, 1.02, catch_up=catch_up, spacing=1 / 45)
    admitted = _admit_all(pacer, [0.0] * 300, late=0.0015)  # every wait ends 1.5 ms late
    rate = (len(admitted) - 1) / admitted[-1] / (30 / 1.02)
    if catch_up:
        assert rate == pytest.approx(1.0, abs=0.01)
    else:  # what an even spacing alone achieves: each send 1.5 ms later than the last
        assert rate == pytest.approx(0.034 / 0.0355, abs=0.01)


async def test_entries_are_paced_in_real_time() -> None:
    pacer = Pacer(3, 0.3, spacing=0.01)
    loop = asyncio.get_running_loop()
    started = loop.time()
    admitted: list[float] = []

    async def enter() -> None:
        async with pacer:
            admitted.append(loop.time() - started)

    await asyncio.gather(*(enter() for _ in range(7)))
    assert len(admitted) == 7
    for a, b in itertools.pairwise(admitted):
        assert b - a >= 0.1 - 0.005  # evenly, 0.3 s / 3 apart
    assert admitted[3] >= admitted[0] + 0.3 - 0.005


def test_bad_settings_are_refused_and_ptb_gets_the_pacer() -> None:
    with pytest.raises(ValueError, match="limit must be"):
        Pacer(0, 1.0)
    with pytest.raises(ValueError, match="limit must be"):
        Pacer(30, 0)
    limiter = TelegramRateLimiter()
    assert isinstance(limiter._base_limiter, Pacer)
    assert (limiter._base_limiter.limit, limiter._base_limiter.period) == (30, 1.02)
