"""The rules sends are paced by, as plain arithmetic on a clock's readings (no waiting, no
Telegram): each says how long a send arriving now must wait, and is told when one went.

Telegram allows a bot 30 messages a second overall, 20 a minute in one group, and asks for
no more than one a second in one chat, tolerating short bursts
(https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this).

A leaky bucket set to 30 a second lets 30 go at once and then 30 a second more — 60 in
the first second, which Telegram (and the emulator's sliding one-second window) answers
with 429. An even spacing of 1/30 s never bursts, but every late wake-up of the event loop
(a millisecond or two under load) is lost for good, so a long send reaches ~0.94 of the
limit. :class:`Pacer` spaces sends evenly at the limit's rate on a fixed schedule (a send
may go up to ``catch_up`` seconds before its slot, so late wake-ups are made up rather
than added up, down to ``spacing`` apart), and never admits more than ``limit`` in any
``period`` (a sliding window, Telegram's own rule). The catch-up stays small: the window
can only take back what the schedule ran ahead, as a long wait once a window.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

# Telegram allows 30 messages a second; the window is made a little longer than a second
# so that request latencies that differ by up to 20 ms cannot put 31 into one second at
# Telegram's end. A send woken late lets the next go up to 20 ms early, never closer
# than 1/45 s to it.
MESSAGES_PER_WINDOW = 30
WINDOW_SECONDS = 1.02
CATCH_UP_SECONDS = 0.02
MIN_SPACING_SECONDS = 1 / 45
# One private chat: a message sent unasked (a reminder) goes a second or more after the
# chat's last message. Answers to a person's own taps go at the person's pace: Telegram
# tolerates short bursts, and holding each back a second would make quick tapping
# through screens lag (an e2e tour of 30 screens went from 3 s to 31 s).
CHAT_SECONDS = 1.0
# One group: 20 messages in any minute.
GROUP_MESSAGES_PER_WINDOW = 20
GROUP_WINDOW_SECONDS = 60.0


class Rule(Protocol):
    """A pacing rule: how long an entry must wait, and being told one was admitted."""

    def wait_time(self, now: float) -> float: ...

    def admit(self, at: float) -> None: ...

    def idle(self, now: float) -> bool:
        """Whether the rule is as if nothing had ever been admitted (it can be dropped)."""
        ...


class Pacer:
    """Admits entries at ``limit`` per ``period`` evenly, at most ``catch_up`` seconds ahead
    of that schedule (so time lost to a stall is made up), at least ``spacing`` apart,
    never more than ``limit`` in any ``period``."""

    def __init__(
        self, limit: int, period: float, *, catch_up: float = 0.0, spacing: float = 0.0
    ) -> None:
        if limit < 1 or period <= 0 or catch_up < 0 or spacing < 0:
            raise ValueError("limit must be ≥ 1, period > 0, catch_up and spacing ≥ 0")
        self.limit = limit
        self.period = period
        self.interval = period / limit
        self.catch_up = catch_up
        self.spacing = spacing
        self._admitted: deque[float] = deque(maxlen=limit)
        self._scheduled = float("-inf")  # when the next entry is due on the even schedule

    def wait_time(self, now: float) -> float:
        """How long an entry arriving at ``now`` must wait (0: it may go at once)."""
        ready = self._scheduled - self.catch_up
        if self._admitted:
            ready = max(ready, self._admitted[-1] + self.spacing)
            if len(self._admitted) == self.limit:
                ready = max(ready, self._admitted[0] + self.period)
        return max(0.0, ready - now)

    def admit(self, at: float) -> None:
        """Record an entry admitted at ``at``."""
        self._admitted.append(at)
        self._scheduled = max(self._scheduled, at) + self.interval

    def idle(self, now: float) -> bool:
        return not self._admitted or self._admitted[-1] + self.period <= now


class SlidingWindow:
    """At most ``limit`` entries in any ``period``, bursts allowed."""

    def __init__(self, limit: int, period: float) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit must be ≥ 1 and period > 0")
        self.period = period
        self._admitted: deque[float] = deque(maxlen=limit)

    def wait_time(self, now: float) -> float:
        if len(self._admitted) < (self._admitted.maxlen or 0):
            return 0.0
        return max(0.0, self._admitted[0] + self.period - now)

    def admit(self, at: float) -> None:
        self._admitted.append(at)

    def idle(self, now: float) -> bool:
        return not self._admitted or self._admitted[-1] + self.period <= now


def overall_pacer() -> Pacer:
    """Telegram's 30 messages a second for the whole bot, as RepayBot paces them."""
    return Pacer(
        MESSAGES_PER_WINDOW,
        WINDOW_SECONDS,
        catch_up=CATCH_UP_SECONDS,
        spacing=MIN_SPACING_SECONDS,
    )


def is_group(chat_id: object) -> bool:
    """A group or channel: a negative id or an @username."""
    return isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0)


def chat_rule(chat_id: object) -> Rule:
    """The limit of one chat: a group's, or a private chat's one message a second."""
    if is_group(chat_id):
        return SlidingWindow(GROUP_MESSAGES_PER_WINDOW, GROUP_WINDOW_SECONDS)
    return SlidingWindow(1, CHAT_SECONDS)
