"""The send pacing and the rate limiter.

The pacer: never more than ``limit`` entries in any ``period``, at least ``spacing`` apart,
evenly spaced under a steady load, and time lost to a stall made up afterwards. The
limiter: replies to people before the sweep's bulk sends without starving them, each
chat's own limit, and a flood limit pausing every send. Most of it runs on virtual time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import InlineKeyboardMarkup
from telegram.error import RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.jobs import BotSink
from bot.pacing import Pacer, SlidingWindow, overall_pacer
from bot.ratelimit import BULK_AFTER, Priority, PriorityGate, TelegramRateLimiter

RATE = 30 / 1.02  # the overall pace, messages a second


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
    pacer = overall_pacer()
    admitted = _admit_all(pacer, [0.0] * 300)  # 300 queued at once
    gaps = [b - a for a, b in itertools.pairwise(admitted)]
    assert max(gaps) <= 1.02 / 30 + 0.02 + 1e-9  # never a window's worth of waiting
    assert (len(admitted) - 1) / admitted[-1] == pytest.approx(RATE, rel=0.01)


@pytest.mark.parametrize("catch_up", [0.0, 0.02])
def test_late_wake_ups_are_made_up_rather_than_added_up(catch_up: float) -> None:
    pacer = Pacer(30, 1.02, catch_up=catch_up, spacing=1 / 45)
    admitted = _admit_all(pacer, [0.0] * 300, late=0.0015)  # every wait ends 1.5 ms late
    rate = (len(admitted) - 1) / admitted[-1] / RATE
    if catch_up:
        assert rate == pytest.approx(1.0, abs=0.01)
    else:  # what an even spacing alone achieves: each send 1.5 ms later than the last
        assert rate == pytest.approx(0.034 / 0.0355, abs=0.01)


def test_bad_settings_are_refused() -> None:
    for make in (
        lambda: Pacer(0, 1.0),
        lambda: Pacer(30, 0),
        lambda: SlidingWindow(0, 60),
    ):
        with pytest.raises(ValueError, match="must be"):
            make()


def test_a_group_gets_twenty_in_any_minute() -> None:
    admitted = _admit_all(SlidingWindow(20, 60), [0.0] * 25)  # type: ignore[arg-type]
    assert admitted[:20] == [0.0] * 20
    assert admitted[20:] == pytest.approx([60.0] * 5)


class VirtualTime:
    """A clock and a sleep for the code under test: time stands still while anything can
    run, then jumps to the earliest wake-up."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._order), wake))
        await wake

    async def settle(self) -> None:
        for _ in range(100):  # enough rounds for every chain of awaits here to finish
            await asyncio.sleep(0)

    async def run_to(self, when: float) -> None:
        """Let time pass until ``when``."""
        ticker = asyncio.ensure_future(self.sleep(when - self.now))
        await self.run_until(ticker.done)

    async def run_until(self, done: Callable[[], bool], limit: float = 120) -> None:
        """Let time pass, wake-up by wake-up, until ``done()``."""
        await self.settle()
        while not done():
            assert self._sleepers, "nothing left to wake: would wait forever"
            at, _, wake = heapq.heappop(self._sleepers)
            assert at <= limit, "virtual time ran out"
            self.now = max(self.now, at)
            if not wake.done():
                wake.set_result(None)
            await self.settle()


class Sends:
    """A fake Telegram: notes (virtual time, label) of each request that reached it."""

    def __init__(self, time: VirtualTime, limiter: TelegramRateLimiter) -> None:
        self.time = time
        self.limiter = limiter
        self.log: list[tuple[float, str]] = []
        self.tasks: list[asyncio.Task[Any]] = []

    def send(
        self,
        label: str,
        chat_id: object,
        priority: Priority | None = None,
        answer: Callable[[], Awaitable[Any]] | None = None,
    ) -> asyncio.Task[Any]:
        async def callback() -> Any:
            self.log.append((self.time.now, label))
            return await answer() if answer is not None else True

        data = {"chat_id": chat_id, "text": label}
        request = self.limiter.process_request(callback, (), {}, "sendMessage", data, priority)
        task = asyncio.create_task(request)
        self.tasks.append(task)
        return task

    def times(self, prefix: str) -> list[float]:
        return [at for at, label in self.log if label.startswith(prefix)]

    def labels(self) -> list[str]:
        return [label for _, label in self.log]


def _limiter() -> tuple[VirtualTime, Sends]:
    time = VirtualTime()
    limiter = TelegramRateLimiter(clock=time, sleep=time.sleep)
    return time, Sends(time, limiter)


async def test_a_reply_queued_behind_300_bulk_sends_goes_out_next() -> None:
    time, sends = _limiter()
    for n in range(300):
        sends.send(f"bulk {n}", 1000 + n, Priority.BULK)
    await time.run_until(lambda: len(sends.log) >= 10)
    sent_before, asked_at = len(sends.log), time.now
    sends.send("reply", 7, None)  # a handler's send: no rate_limit_args
    await time.run_until(lambda: len(sends.log) == 301)
    assert sends.labels().index("reply") == sent_before
    assert sends.times("reply")[0] - asked_at <= 1.02 / 30 + 0.02 + 1e-9  # the next slot
    bulk = [int(label.split()[1]) for label in sends.labels() if label.startswith("bulk")]
    assert bulk == list(range(300))  # bulk keeps its own order


async def test_bulk_gets_the_capacity_replies_leave_while_replies_flow() -> None:
    time, sends = _limiter()
    for n in range(900):
        sends.send(f"bulk {n}", 1000 + n, Priority.BULK)
    asked: dict[str, float] = {}
    for n in range(40):  # two people a second, for 20 s
        await time.run_until(lambda n=n: time.now >= n / 2)
        asked[f"reply {n}"] = time.now
        sends.send(f"reply {n}", 10 + n % 7)
    await time.run_until(lambda: len(sends.log) == 940)
    waits = [at - asked[label] for at, label in sends.log if label.startswith("reply")]
    assert max(waits) <= 1.02 / 30 + 0.02 + 1e-9  # a slot, at worst its catch-up late
    bulk = [at for at in sends.times("bulk") if at <= 20]
    assert len(bulk) / 20 >= 0.9 * 30
    admitted = [at for at, _ in sends.log]
    for i in range(len(admitted) - 30):  # never 30 + 1 in one window
        assert admitted[i + 30] - admitted[i] >= 1.02 - 1e-9


async def test_a_flood_of_replies_does_not_starve_bulk_sends() -> None:
    time, sends = _limiter()
    for n in range(100):
        sends.send(f"bulk {n}", 1000 + n, Priority.BULK)
    for n in range(600):  # more replies than 10 s can carry, 200 chats
        sends.send(f"reply {n}", 10 + n % 200)
    await time.run_until(lambda: time.now >= 10)
    assert len([at for at in sends.times("bulk") if at < 10]) >= 10 * RATE / (BULK_AFTER + 1) - 1
    assert len(sends.times("reply")) > len(sends.times("bulk"))


async def test_a_bulk_send_goes_a_second_after_the_chats_last_message() -> None:
    time, sends = _limiter()
    for n in range(4):  # a person tapping quickly is answered at their pace
        sends.send(f"reply {n}", 7)
    sends.send("bulk to them", 7, Priority.BULK)
    sends.send("bulk to another", 8, Priority.BULK)
    await time.run_until(lambda: len(sends.log) == 6)
    replies = sends.times("reply")
    assert replies[-1] - replies[0] < 0.2
    assert sends.times("bulk to them")[0] - replies[-1] >= 1.0 - 1e-9
    assert sends.labels().index("bulk to another") < 5  # not held up by chat 7


async def test_a_bulk_send_waiting_for_its_chat_does_not_hold_up_a_reply_there() -> None:
    time, sends = _limiter()
    sends.send("reply 0", 7)
    await time.run_until(lambda: len(sends.log) == 1)
    sends.send("bulk", 7, Priority.BULK)  # waits for the chat's second
    await time.run_to(0.3)
    sends.send("reply 1", 7)
    await time.run_until(lambda: len(sends.log) == 3)
    assert sends.labels() == ["reply 0", "reply 1", "bulk"]
    assert sends.times("reply 1")[0] - 0.3 <= 1.02 / 30 + 0.02 + 1e-9
    assert sends.times("bulk")[0] - sends.times("reply 1")[0] >= 1.0 - 1e-9


async def test_a_group_is_sent_twenty_messages_a_minute() -> None:
    time, sends = _limiter()
    for n in range(22):
        sends.send(f"reply {n}", -100)
    await time.run_until(lambda: len(sends.log) == 22)
    at = sends.times("reply")
    assert at[19] < 1.0
    assert at[20] - at[0] >= 60.0 - 1e-9


async def test_a_flood_limit_is_raised_not_retried() -> None:
    """The sweep gives its claims back and pauses on the application's clock
    (tests/e2e/test_e2e_sending.py); the limiter only must not retry."""
    time, sends = _limiter()

    async def flood() -> Any:
        with warnings.catch_warnings():  # PTB 22's constructor reads its deprecated property
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            raise RetryAfter(timedelta(seconds=5))

    failed = sends.send("first", 1, Priority.BULK, answer=flood)
    await time.run_until(failed.done)
    assert isinstance(failed.exception(), RetryAfter)
    assert sends.labels() == ["first"]  # called once


async def test_requests_to_no_chat_are_not_paced() -> None:
    time, sends = _limiter()
    for n in range(40):
        sends.send(f"bulk {n}", 1000 + n, Priority.BULK)
    await time.settle()

    async def answer() -> Any:
        return True

    answered = await sends.limiter.process_request(
        answer, (), {}, "answerCallbackQuery", {"callback_query_id": "1"}, None
    )
    assert answered is True
    assert time.now == 0.0  # did not wait for the bulk sends
    assert len(sends.log) < 40
    await sends.limiter.shutdown()


async def test_a_send_given_up_while_waiting_does_not_hold_up_the_rest() -> None:
    time, sends = _limiter()
    for n in range(5):
        sends.send(f"bulk {n}", 1000 + n, Priority.BULK)
    await time.settle()
    sends.tasks[2].cancel()
    await time.run_until(lambda: len(sends.log) == 4)
    assert sends.labels() == ["bulk 0", "bulk 1", "bulk 3", "bulk 4"]
    await sends.limiter.shutdown()


async def test_the_gate_paces_in_real_time() -> None:
    gate = PriorityGate(Pacer(3, 0.3, spacing=0.01))
    loop = asyncio.get_running_loop()
    started = loop.time()
    admitted: list[float] = []

    async def enter() -> None:
        await gate.enter(Priority.BULK)
        admitted.append(loop.time() - started)

    await asyncio.gather(*(enter() for _ in range(7)))
    assert len(admitted) == 7
    for a, b in itertools.pairwise(admitted):
        assert b - a >= 0.1 - 0.005  # evenly, 0.3 s / 3 apart
    assert admitted[3] >= admitted[0] + 0.3 - 0.005


async def test_the_sweep_marks_its_sends_as_bulk() -> None:
    asked: dict[str, Any] = {}

    class Bot:
        async def send_message(self, *args: Any, **kwargs: Any) -> Any:
            asked.update(kwargs)
            return type("Sent", (), {"message_id": 42})()

    sink = BotSink(Bot())  # type: ignore[arg-type]
    assert await sink.deliver(1, "hi", InlineKeyboardMarkup([])) == 42
    assert asked["rate_limit_args"] is Priority.BULK
