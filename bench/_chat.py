"""Simulated people chatting with the bot through the emulator, all at once.

Each person runs a script of steps — type a text, or press a button (by label, or the
first button for the echo bot) — and waits for the bot's answer before the next step, as
a person would. One follower reads the emulator's event log once for everyone, so 200
waiting people cost the benchmark's process next to nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field

from bot.emulator import BotApiEmulator
from bot.emulator.model import OUTPUT_KINDS

# /status, then /repay through to the receipt: the bill, then Confirm (one card: no method
# choice). The echo bot gets the same updates: two texts, two presses of its button.
REPAY_SCRIPT = (("say", "/status"), ("say", "/repay"), ("tap", "本期账单"), ("tap", "确认还款"))
ECHO_SCRIPT = (("say", "/status"), ("say", "/repay"), ("tap", ""), ("tap", ""))
RECEIPT_MARK = "还款成功"


class Follower:
    """Follows the emulator's events; wakes whoever waits for an answer in their chat."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        self.state = emulator.state
        self.seen = 0
        self.outputs: dict[int, int] = defaultdict(int)
        self.answered: set[str] = set()
        self._waiting: dict[int, tuple[int, str | None, asyncio.Future[float]]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            await self.state.wait_for_change(1.0)
            self.catch_up()

    def catch_up(self) -> None:
        events = self.state.events
        while self.seen < len(events):
            event = events[self.seen]
            self.seen += 1
            if event.chat_id is None:
                continue
            if event.kind in OUTPUT_KINDS:
                self.outputs[event.chat_id] += 1
            elif event.kind == "answer" and event.query_id:
                self.answered.add(event.query_id)
            self._check(event.chat_id)

    def _check(self, chat_id: int) -> None:
        waiting = self._waiting.get(chat_id)
        if waiting is None:
            return
        outputs, query, future = waiting
        if self.outputs[chat_id] >= outputs and (query is None or query in self.answered):
            del self._waiting[chat_id]
            if not future.done():
                future.set_result(time.monotonic())

    async def wait(self, chat_id: int, outputs: int, query: str | None, timeout: float) -> float:  # noqa: ASYNC109
        """When the chat had ``outputs`` outputs in all (and ``query`` was answered)."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[chat_id] = (outputs, query, future)
        self.catch_up()
        return await asyncio.wait_for(future, timeout)


@dataclass
class Person:
    user_id: int
    script: tuple[tuple[str, str], ...]
    latencies: list[tuple[str, float]] = field(default_factory=list)
    error: str | None = None


async def act(emulator: BotApiEmulator, follower: Follower, person: Person, timeout: float) -> None:  # noqa: ASYNC109
    """Run one person's script; each step's time from the update to the bot's answer."""
    for kind, arg in person.script:
        follower.catch_up()
        expected = follower.outputs[person.user_id] + 1
        started = time.monotonic()
        query = None
        try:
            if kind == "say":
                await emulator.send_text(person.user_id, arg)
            else:
                message_id, data = _button(emulator, person.user_id, arg)
                query = await emulator.press(person.user_id, message_id, callback_data=data)
            done = await follower.wait(person.user_id, expected, query, timeout)
        except (TimeoutError, LookupError) as exc:
            person.error = f"{kind} {arg!r}: {type(exc).__name__} {exc}"
            return
        person.latencies.append((f"{kind} {arg}".strip(), done - started))


def _button(emulator: BotApiEmulator, user_id: int, label: str) -> tuple[int, str]:
    """The newest message's button whose text has ``label`` ("" = any)."""
    for message in reversed(emulator.chat_log(user_id)):
        for row in message.buttons:
            for text, data in row:
                if label in text and data is not None:
                    return message.message_id, data
    raise LookupError(f"no button {label!r} in chat {user_id}")


async def run_people(
    emulator: BotApiEmulator,
    people: list[Person],
    timeout: float = 120,  # noqa: ASYNC109
) -> float:
    """Everyone at once; the wall time until the last one finished."""
    follower = Follower(emulator)
    follower.start()
    started = time.monotonic()
    try:
        await asyncio.gather(*(act(emulator, follower, p, timeout) for p in people))
    finally:
        await follower.stop()
    return time.monotonic() - started


def last_text(emulator: BotApiEmulator, user_id: int) -> str:
    live = [m for m in emulator.chat_log(user_id) if not m.deleted]
    return live[-1].text if live else ""
