"""The auto-repay half of a sweep: the intents to debit what is due from each plan's
chosen method (the caller drives them through the provider: core/services/settlement.py).

Attempts fall on the due date at the auto-repay hour, again at the retry hour that day,
then daily at the auto-repay hour through the grace period; after that the installment
is simply overdue. Each attempt has its own idempotency key, so it runs at most once
however many sweeps or instances see it; after downtime only the latest missed attempt
runs, and only within a day of its time. A plan may fall back to the default method
when its own method fails: settling the failed attempt creates the fallback's intent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from core.db.models import PaymentMethodRow, PaymentRow, PlanRow, ReminderLogRow, User
from core.db.uow import UnitOfWork
from core.domain.allocation import AllocationLine
from core.domain.autopay_cards import debit_order
from core.domain.quotes import Quote, QuoteKind, open_positions, total_owed
from core.domain.reminders import local_instant
from core.domain.terms import MAX_GRACE_DAYS
from core.services.books import LoadedPlan, load_open_plans, slices
from core.services.clock import local_date
from core.services.payment_flow import record_intent
from core.services.payment_receipts import RECEIPT
from core.services.payments import FAILED, PaymentKind

RETRY_TIME = time(18, 0)
# After downtime the latest missed attempt still runs if it is this recent; older ones
# are not made up (a debit days late would surprise more than it helps).
CATCH_UP_WINDOW = timedelta(hours=24)
NO_METHOD = "no_method"


@dataclass(frozen=True, slots=True)
class AutopayReceipt:
    """What the user is told after an auto-debit attempt, success or failure."""

    user_id: int
    language: str
    plan_title: str
    amount: Decimal
    succeeded: bool
    failure_reason: str | None
    method_label: str | None
    balance: Decimal | None
    outstanding: Decimal
    last_attempt: bool  # no retry follows: failing now means overdue

    def to_payload(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> AutopayReceipt:
        def amount(name: str) -> Decimal | None:
            value = data.get(name)
            return None if value is None else Decimal(value)

        return cls(
            user_id=int(data["user_id"]),
            language=str(data["language"]),
            plan_title=str(data["plan_title"]),
            amount=Decimal(data["amount"]),
            succeeded=bool(data["succeeded"]),
            failure_reason=data.get("failure_reason"),
            method_label=data.get("method_label"),
            balance=amount("balance"),
            outstanding=Decimal(data["outstanding"]),
            last_attempt=bool(data["last_attempt"]),
        )


def attempt_slots(due: date, grace_days: int, at: time, timezone: str) -> list[datetime]:
    """The instants of every auto-debit attempt of an installment, in order."""
    slots = [local_instant(due, at, timezone)]
    if at < RETRY_TIME:
        slots.append(local_instant(due, RETRY_TIME, timezone))
    slots += [
        local_instant(due + timedelta(days=n), at, timezone) for n in range(1, grace_days + 1)
    ]
    return slots


def pending_attempt_key(installment_id: int, slots: list[datetime], now: datetime) -> str | None:
    """The key of the attempt to run now: the latest slot reached, if within the catch-up
    window (the payment under this key, or its ``:fallback``, says whether it ran)."""
    due = [s for s in slots if s <= now]
    if not due or now - due[-1] > CATCH_UP_WINDOW:
        return None
    return f"auto:{installment_id}:{due[-1].isoformat()}"


async def attempted(uow: UnitOfWork, key: str) -> bool:
    """Whether the attempt under ``key`` has run (on its method or the fallback)."""
    return key in await attempted_keys(uow, [key])


async def attempted_keys(uow: UnitOfWork, keys: list[str]) -> set[str]:
    """Which of these attempts have run (on their method or the fallback)."""
    ran: set[str] = set()
    for some in slices(keys, 2500):
        found = await uow.session.scalars(
            select(PaymentRow.idempotency_key).where(
                PaymentRow.idempotency_key.in_(some + [f"{k}:fallback" for k in some])
            )
        )
        ran.update(key.removesuffix(":fallback") for key in found if key is not None)
    return ran


@dataclass
class DueAutopays:
    intents: list[int]  # payment ids, for the caller to drive through the provider
    no_method: list[AutopayReceipt]  # attempts that failed at once: nothing to debit


async def run_due_autopays(uow: UnitOfWork, now: datetime, at: time) -> DueAutopays:
    """Record the intent of every auto-debit whose attempt time has come, one transaction
    per user."""
    # The users due for a look (users.next_sweep_at is set to each attempt's time), then
    # which of them have an open auto-repay plan: two index lookups, where one query with
    # EXISTS left the plan to PostgreSQL's estimates (p99 151 ms in bench/sweep_cost.py).
    # A user who blocked the bot still asked to be debited: only messages stop.
    due = list(await uow.session.scalars(select(User.telegram_id).where(User.next_sweep_at <= now)))
    owners: set[int] = set()
    for ids in slices(due):
        owners.update(
            await uow.session.scalars(
                select(PlanRow.user_id).where(
                    PlanRow.user_id.in_(ids),
                    PlanRow.autopay.is_(True),
                    PlanRow.closed_at.is_(None),
                )
            )
        )
    found = DueAutopays([], [])
    for user_id in sorted(owners):
        await _for_user(uow, user_id, now, at, found)
    return found


async def _for_user(
    uow: UnitOfWork, user_id: int, now: datetime, at: time, found: DueAutopays
) -> None:
    # Row-locked until the commit; on PostgreSQL a user another sweep holds is skipped
    # (that sweep is debiting them), so instances split the users instead of queueing.
    user = await uow.session.scalar(
        select(User)
        .where(User.telegram_id == user_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if user is None:
        await uow.rollback()
        return
    on = local_date(now, user.timezone)
    # Only installments whose attempts can be pending now are read: an account's size
    # costs nothing here once its installments are past their grace (or not yet due).
    earliest, latest = attempt_window(now)
    loaded = await load_open_plans(uow.session, [user_id], due_from=earliest, due_by=latest)
    for plan in loaded[user_id]:
        if not plan.row.autopay:
            continue
        for pos in open_positions([plan.book], on):
            item = pos.ledger.installment
            slots = attempt_slots(item.due_date, plan.book.terms.grace_days, at, user.timezone)
            due = [s for s in slots if s <= now]
            key = pending_attempt_key(pos.ledger.key, slots, now)
            if key is None or await attempted(uow, key):
                continue
            quote = Quote(QuoteKind.PERIOD, (AllocationLine(pos.ledger.key, pos.owed),))
            last = len(due) == len(slots)
            attempt = await _attempt(uow, user, plan, quote, key, on, now, last)
            if isinstance(attempt, int):
                found.intents.append(attempt)
            else:
                found.no_method.append(attempt)
    await uow.commit()


def attempt_window(now: datetime) -> tuple[date, date]:
    """The due dates of every installment that may have an attempt pending at ``now``, in
    any zone (a superset): the first attempt is on the local due date, which is at most
    a day past the UTC date; the last is ``MAX_GRACE_DAYS`` later, and runs late by at
    most the catch-up window (a day), a day more for zones behind UTC, one to spare."""
    today = now.astimezone(UTC).date()
    return today - timedelta(days=MAX_GRACE_DAYS + 3), today + timedelta(days=1)


async def autopay_methods(uow: UnitOfWork, user_id: int, plan: PlanRow) -> list[PaymentMethodRow]:
    """The methods to debit, in order (``debit_order``)."""
    rows = await uow.session.scalars(
        select(PaymentMethodRow).where(
            PaymentMethodRow.user_id == user_id, PaymentMethodRow.removed_at.is_(None)
        )
    )
    live = {row.id: row for row in rows}
    default = next((row.id for row in live.values() if row.is_default), None)
    order = debit_order(plan.autopay_method_id, plan.autopay_fallback, live, default)
    return [live[method_id] for method_id in order]


async def _attempt(
    uow: UnitOfWork,
    user: User,
    plan: LoadedPlan,
    quote: Quote,
    key: str,
    on: date,
    now: datetime,
    last: bool,
) -> int | AutopayReceipt:
    """The attempt's intent on the plan's first method (its id); with no method to use, a
    failed attempt recorded with its receipt, so it is neither retried nor told twice."""
    methods = await autopay_methods(uow, user.telegram_id, plan.row)
    if methods:
        payment = await record_intent(
            uow,
            user_id=user.telegram_id,
            method_id=methods[0].id,
            priced=quote,
            kind=PaymentKind.AUTO,
            key=key,
            paid_on=on,
            now=now,
            plan_id=plan.row.id,
            details={"last_attempt": last},
        )
        return payment.id
    payment = PaymentRow(
        user_id=user.telegram_id,
        idempotency_key=key,
        plan_id=plan.row.id,
        kind=PaymentKind.AUTO.value,
        amount=quote.total,
        status=FAILED,
        failure_reason=NO_METHOD,
        paid_on=on,
        created_at=now,
        completed_at=now,
    )
    uow.session.add(payment)
    await uow.session.flush()
    loaded = await load_open_plans(uow.session, [user.telegram_id])
    receipt = AutopayReceipt(
        user_id=user.telegram_id,
        language=user.language,
        plan_title=plan.row.title,
        amount=quote.total,
        succeeded=False,
        failure_reason=NO_METHOD,
        method_label=None,
        balance=None,
        outstanding=total_owed([p.book for p in loaded[user.telegram_id]], on),
        last_attempt=last,
    )
    uow.session.add(
        ReminderLogRow(
            user_id=user.telegram_id,
            installment_id=quote.lines[0].key,
            kind=RECEIPT,
            offset=payment.id,
            fire_at=now,
            status="pending",
            attempts=0,
            created_at=now,
            payload=receipt.to_payload(),
        )
    )
    return receipt
