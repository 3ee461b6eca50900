"""Misbehaviour on demand, as real providers misbehave.

One ``Faults`` object is in force at a time; ``POST /control/faults`` replaces it with
what it is given (``{}`` clears everything) and the CLI flags build the first one from
the same JSON shape. Counted faults (``times``) are used up one debit or one
notification at a time; the ``take_*`` methods consume them. Faults live in memory
only: a restart starts from the CLI flags again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from core.gateway.bank.ledger import FailureReason
from core.gateway.bank.wire import BadRequest, fields, parse_identifier

MAX_SECONDS = 3600.0
MAX_LATENCY = 60.0
MAX_TIMES = 1_000_000


class LostAnswer(StrEnum):
    """How a committed debit's answer is lost: the connection dropped, or a hang."""

    DROP = "drop"
    HANG = "hang"


@dataclass
class Decline:
    """Fail debits with ``reason``: the next ``times`` ones (all when None), only those
    of ``account`` when set."""

    reason: FailureReason
    times: int | None = None
    account: str | None = None

    def matches(self, account: str) -> bool:
        return (self.times is None or self.times > 0) and self.account in (None, account)


@dataclass
class NotifyFaults:
    lost: int = 0  # the next N notifications are never sent
    duplicated: int = 0  # the next N are delivered twice
    delay: float = 0.0  # every notification's first attempt waits this long
    early: int = 0  # the next N debits settled at submit notify before the answer


@dataclass
class Faults:
    latency: float = 0.0  # seconds before every debit, query, account or top-up answer
    declines: list[Decline] = field(default_factory=list)
    answer_lost: int = 0  # the next N new debits are committed, their answer lost
    answer_lost_mode: LostAnswer = LostAnswer.DROP
    hang_seconds: float = 30.0  # how long a HANG holds the connection before dropping it
    settlement_delay: float = 0.0  # > 0: debits answer "processing", settle this much later
    outage: int = 0  # the next N debit submissions get 503, nothing recorded
    notify: NotifyFaults = field(default_factory=NotifyFaults)

    def take_decline(self, account: str) -> FailureReason | None:
        for decline in self.declines:
            if decline.matches(account):
                if decline.times is not None:
                    decline.times -= 1
                return decline.reason
        return None

    def take_answer_lost(self) -> LostAnswer | None:
        if self.answer_lost <= 0:
            return None
        self.answer_lost -= 1
        return self.answer_lost_mode

    def take_outage(self) -> bool:
        return _take(self, "outage")

    def take_notify_lost(self) -> bool:
        return _take(self.notify, "lost")

    def take_notify_duplicated(self) -> bool:
        return _take(self.notify, "duplicated")

    def take_notify_early(self) -> bool:
        return _take(self.notify, "early")

    def to_json(self) -> dict[str, Any]:
        """The faults in force, in the shape ``parse_faults`` reads (counts as left)."""
        return {
            "latency": self.latency,
            "decline": [
                {
                    key: value
                    for key, value in (
                        ("reason", decline.reason.value),
                        ("times", decline.times),
                        ("account", decline.account),
                    )
                    if value is not None
                }
                for decline in self.declines
            ],
            "answer_lost": {
                "times": self.answer_lost,
                "mode": self.answer_lost_mode.value,
                "hang": self.hang_seconds,
            },
            "settlement_delay": self.settlement_delay,
            "outage": self.outage,
            "notify": asdict(self.notify),
        }


def _take(owner: object, name: str) -> bool:
    left: int = getattr(owner, name)
    if left <= 0:
        return False
    setattr(owner, name, left - 1)
    return True


def _seconds(value: object, name: str, limit: float = MAX_SECONDS) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= limit:
        raise BadRequest(f"{name}: a number of seconds from 0 to {limit:g}")
    return float(value)


def _times(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIMES:
        raise BadRequest(f"{name}: a whole number from 0 to {MAX_TIMES}")
    return value


def _decline(value: object) -> Decline:
    body = fields(value, required=("reason",), optional=("times", "account"))
    try:
        reason = FailureReason(body["reason"])
    except ValueError:
        reasons = ", ".join(reason.value for reason in FailureReason)
        raise BadRequest(f"decline.reason: one of {reasons}") from None
    times = body.get("times")
    account = body.get("account")
    return Decline(
        reason,
        None if times is None else _times(times, "decline.times"),
        None if account is None else parse_identifier(account, "decline.account"),
    )


def parse_faults(value: object) -> Faults:
    """The faults a control request or the CLI asks for; ``BadRequest`` says what is wrong."""
    body = fields(
        value,
        required=(),
        optional=(
            "latency",
            "decline",
            "answer_lost",
            "settlement_delay",
            "outage",
            "notify",
        ),
    )
    faults = Faults()
    faults.latency = _seconds(body.get("latency", 0), "latency", MAX_LATENCY)
    declines = body.get("decline", [])
    if isinstance(declines, dict):
        declines = [declines]
    if not isinstance(declines, list) or len(declines) > 100:
        raise BadRequest("decline: an object or a list of at most 100")
    faults.declines = [_decline(item) for item in declines]
    lost = fields(body.get("answer_lost", {}), required=(), optional=("times", "mode", "hang"))
    faults.answer_lost = _times(lost.get("times", 0), "answer_lost.times")
    try:
        faults.answer_lost_mode = LostAnswer(lost.get("mode", "drop"))
    except ValueError:
        raise BadRequest("answer_lost.mode: drop or hang") from None
    faults.hang_seconds = _seconds(lost.get("hang", 30.0), "answer_lost.hang")
    faults.settlement_delay = _seconds(body.get("settlement_delay", 0), "settlement_delay")
    faults.outage = _times(body.get("outage", 0), "outage")
    notify = fields(
        body.get("notify", {}), required=(), optional=("lost", "duplicated", "delay", "early")
    )
    faults.notify = NotifyFaults(
        lost=_times(notify.get("lost", 0), "notify.lost"),
        duplicated=_times(notify.get("duplicated", 0), "notify.duplicated"),
        delay=_seconds(notify.get("delay", 0), "notify.delay"),
        early=_times(notify.get("early", 0), "notify.early"),
    )
    return faults
