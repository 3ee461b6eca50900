"""What must hold after every step of the fuzz walk, whatever was typed or pressed:
no traceback logged, the ledger consistent, money neither made nor lost.

``Completions`` counts how often each update id went through ``process_update`` (a
duplicate delivery is counted again, which ``Handled`` of conftest.py cannot tell)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from telegram import Update
from telegram.ext import Application

from core.db.models import (
    AllocationLineRow,
    CreditLineRow,
    InstallmentRow,
    PaymentMethodRow,
    PaymentRow,
    PlanRow,
    QuoteRow,
)
from core.db.uow import Database

ZERO = Decimal(0)


class LogWatch(logging.Handler):
    """Keeps every record logged at ERROR or above, and every record with a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.bad: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info is not None:
            self.bad.append(record)

    def describe(self, since: int) -> list[str]:
        lines = []
        for record in self.bad[since:]:
            text = f"{record.levelname} {record.name}: {record.getMessage()}"
            if record.exc_info is not None:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            lines.append(text)
        return lines


class Completions:
    """How many times each update id finished ``process_update``, on any instance."""

    def __init__(self) -> None:
        self.count: Counter[int] = Counter()
        self._changed = asyncio.Event()

    def track(self, app: Application) -> None:  # type: ignore[type-arg]
        process = app.process_update

        async def process_update(update: object) -> None:
            try:
                await process(update)
            finally:
                if isinstance(update, Update):
                    self.count[update.update_id] += 1
                    self._changed.set()
                    self._changed = asyncio.Event()

        app.process_update = process_update  # type: ignore[method-assign]

    async def wait(self, wanted: Counter[int], timeout: float) -> bool:  # noqa: ASYNC109
        """True once every id in ``wanted`` completed at least that often."""
        try:
            async with asyncio.timeout(timeout):
                while any(self.count[i] < n for i, n in wanted.items()):
                    await self._changed.wait()
        except TimeoutError:
            return False
        return True


@dataclass
class Money:
    """Per payment method: its balance and what its succeeded payments took, so a step
    can tell whether money appeared (only a top-up may add) or vanished (never)."""

    balance: dict[int, Decimal] = field(default_factory=dict)
    paid: dict[int, Decimal] = field(default_factory=dict)


async def money(db: Database) -> Money:
    snapshot = Money()
    async with db.uow() as uow:
        for method in await uow.session.scalars(select(PaymentMethodRow)):
            snapshot.balance[method.id] = method.balance
        for payment in await uow.session.scalars(select(PaymentRow)):
            if payment.status == "succeeded" and payment.method_id is not None:
                paid = snapshot.paid.get(payment.method_id, ZERO)
                snapshot.paid[payment.method_id] = paid + payment.amount
    return snapshot


def money_moves(before: Money, after: Money, *, may_top_up: bool) -> list[str]:
    """Each method still there: balance + paid may only grow, and only by a top-up."""
    problems = []
    for method_id, balance in after.balance.items():
        if method_id not in before.balance:
            continue
        held_before = before.balance[method_id] + before.paid.get(method_id, ZERO)
        held_after = balance + after.paid.get(method_id, ZERO)
        if held_after < held_before:
            problems.append(
                f"method {method_id}: {held_before - held_after} left without a payment"
            )
        elif held_after > held_before and not may_top_up:
            problems.append(f"method {method_id}: {held_after - held_before} appeared")
    return problems


async def ledger_problems(db: Database) -> list[str]:
    """The ledger's invariants: a succeeded payment is allocated in full and nothing
    else is, nothing is negative or over-allocated, every schedule sums to its principal."""
    async with db.uow() as uow:
        session = uow.session
        plans = {p.id: p for p in await session.scalars(select(PlanRow))}
        installments = {i.id: i for i in await session.scalars(select(InstallmentRow))}
        lines = list(await session.scalars(select(AllocationLineRow)))
        payments = list(await session.scalars(select(PaymentRow)))
        methods = list(await session.scalars(select(PaymentMethodRow)))
        credit_lines = list(await session.scalars(select(CreditLineRow)))
        quotes = list(await session.scalars(select(QuoteRow)))
        return _problems(plans, installments, lines, payments, methods, credit_lines, quotes)


def _problems(
    plans: dict[int, PlanRow],
    installments: dict[int, InstallmentRow],
    lines: list[AllocationLineRow],
    payments: list[PaymentRow],
    methods: list[PaymentMethodRow],
    credit_lines: list[CreditLineRow],
    quotes: list[QuoteRow],
) -> list[str]:
    problems: list[str] = []
    by_payment: dict[int, Decimal] = {}
    allocated: dict[int, dict[str, Decimal]] = {}
    for line in lines:
        parts = {
            "principal": line.principal,
            "interest": line.interest,
            "fee": line.fee,
            "penalty": line.penalty,
        }
        if any(v < 0 for v in parts.values()):
            problems.append(f"allocation line {line.id} has a negative part: {parts}")
        by_payment[line.payment_id] = by_payment.get(line.payment_id, ZERO) + sum(parts.values())
        totals = allocated.setdefault(line.installment_id, dict.fromkeys(parts, ZERO))
        for name, value in parts.items():
            totals[name] += value
    for payment in payments:
        lines_total = by_payment.get(payment.id, ZERO)
        if payment.amount <= 0:
            problems.append(f"payment {payment.id} of {payment.amount}")
        if payment.status == "succeeded" and lines_total != payment.amount:
            problems.append(
                f"payment {payment.id} debited {payment.amount} but allocated {lines_total}"
            )
        if payment.status != "succeeded" and lines_total:
            problems.append(f"{payment.status} payment {payment.id} allocated {lines_total}")
    for installment_id, totals in allocated.items():
        installment = installments.get(installment_id)
        if installment is None:
            continue
        for name in ("principal", "interest", "fee"):
            if totals[name] > getattr(installment, name):
                problems.append(
                    f"installment {installment_id}: {totals[name]} of {name} allocated, "
                    f"{getattr(installment, name)} owed"
                )
    schedule: dict[int, Decimal] = {}
    for installment in installments.values():
        for name in ("principal", "interest", "fee"):
            if getattr(installment, name) < 0:
                problems.append(f"installment {installment.id} has negative {name}")
        schedule[installment.plan_id] = schedule.get(installment.plan_id, ZERO) + (
            installment.principal
        )
    for plan in plans.values():
        if plan.principal <= 0:
            problems.append(f"plan {plan.id} has principal {plan.principal}")
        if schedule.get(plan.id, ZERO) != plan.principal:
            problems.append(
                f"plan {plan.id}: schedule sums to {schedule.get(plan.id, ZERO)}, "
                f"principal {plan.principal}"
            )
    problems += [f"method {m.id} balance {m.balance}" for m in methods if m.balance < 0]
    problems += [f"credit line {c.id} limit {c.limit}" for c in credit_lines if c.limit < 0]
    problems += [f"quote {q.id} amount {q.amount}" for q in quotes if q.amount < 0]
    return problems
