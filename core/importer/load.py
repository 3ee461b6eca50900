"""Reading an import file and writing its contents in one unit of work, idempotently."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.db.models import (
    AllocationLineRow,
    CreditLineRow,
    InstallmentRow,
    PaymentMethodRow,
    PaymentRow,
    PlanRow,
    User,
)
from core.db.uow import Database, UnitOfWork
from core.importer.bounds import date_errors, limit_errors
from core.importer.checks import Loc, format_path, loc_order
from core.importer.relative import anchored
from core.importer.schema import ImportFile, MethodIn, PlanIn, UserIn, validate
from core.money import ZERO
from core.services.clock import local_date
from core.services.methods import MethodKind, new_method_row
from core.services.payments import PaymentKind
from core.services.plans import insert_plan


class ImportInvalid(ValueError):
    """The file is unreadable or invalid; ``errors`` are one line each, nothing was written."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def read_file(path: Path) -> Any:
    """The JSON in ``path`` with every number as ``Decimal`` or ``int``, never ``float``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ImportInvalid([f"{path}: no such file"]) from exc
    except IsADirectoryError as exc:
        raise ImportInvalid([f"{path}: is a directory, not a JSON file"]) from exc
    except UnicodeDecodeError as exc:
        raise ImportInvalid([f"{path}: not UTF-8 text ({exc.reason})"]) from exc
    except OSError as exc:
        raise ImportInvalid([f"{path}: cannot read ({exc.strerror})"]) from exc
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        message = f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise ImportInvalid([message]) from exc


@dataclass
class Tally:
    created: int = 0
    present: int = 0


@dataclass
class ImportReport:
    """What an import created and what was already there."""

    users: Tally = field(default_factory=Tally)
    credit_lines: Tally = field(default_factory=Tally)
    payment_methods: Tally = field(default_factory=Tally)
    plans: Tally = field(default_factory=Tally)
    installments: int = 0  # of the plans created
    payments: int = 0  # imported payments of the periods already paid

    def lines(self) -> list[str]:
        tallies = [
            ("users", self.users),
            ("credit lines", self.credit_lines),
            ("payment methods", self.payment_methods),
            ("plans", self.plans),
        ]
        summary = [
            f"{name:<16}{tally.created:>5} created, {tally.present} already present"
            for name, tally in tallies
        ]
        summary.append(f"{'installments':<16}{self.installments:>5} created (the new plans)")
        summary.append(f"{'payments':<16}{self.payments:>5} imported (periods already paid)")
        return summary


async def import_data(db: Database, data: dict[str, Any], now: datetime) -> ImportReport:
    """Validate ``data`` (``ImportInvalid`` lists every error) and write it in one transaction.

    Users, credit lines, methods and plans already present are left exactly as they are,
    so importing the same file twice changes nothing. No credit-line check applies; the
    first due date bounds and the per-user limits do, on the import day of ``now``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    model, errors = validate(data)
    if model is None:
        raise ImportInvalid(errors)
    return await write(db, model, now)


async def write(db: Database, model: ImportFile, now: datetime) -> ImportReport:
    """Write the file; ``ImportInvalid`` (nothing written) when what it adds passes a bound
    that depends on the import day or on what the database holds."""
    report = ImportReport()
    errors: list[tuple[Loc, str]] = []
    async with db.uow() as uow:
        for u, user in enumerate(model.users):
            moved = anchored(user, model.relative_to, now)
            errors += await _import_user(uow, ("users", u), moved, now, report)
        if errors:  # leaving the unit of work uncommitted rolls every user back
            errors.sort(key=lambda item: loc_order(item[0]))
            raise ImportInvalid([f"{format_path(loc)}: {message}" for loc, message in errors])
        await uow.commit()
    return report


async def _import_user(
    uow: UnitOfWork, at: Loc, item: UserIn, now: datetime, report: ImportReport
) -> list[tuple[Loc, str]]:
    """Write one user's items, or return why they cannot be added (writing nothing)."""
    session = uow.session
    existing = set(
        await session.scalars(
            select(PlanRow.external_id).where(PlanRow.user_id == item.telegram_id)
        )
    )
    held = list(
        await session.scalars(
            select(PaymentMethodRow)
            .where(
                PaymentMethodRow.user_id == item.telegram_id,
                PaymentMethodRow.removed_at.is_(None),
            )
            .order_by(PaymentMethodRow.id)
        )
    )
    new_plans = [(p, plan) for p, plan in enumerate(item.plans) if plan.external_id not in existing]
    new_methods = [m for m in item.payment_methods if not any(_same_method(r, m) for r in held)]
    errors = date_errors(at, new_plans, local_date(now, item.timezone))
    errors += await limit_errors(uow, at, item.telegram_id, new_plans, new_methods)
    if errors:
        return errors
    user = await session.get(User, item.telegram_id)
    if user is None:
        user = User(
            telegram_id=item.telegram_id,
            language=item.language,
            timezone=item.timezone,
            created_at=now,
        )
        session.add(user)
        await session.flush()
        report.users.created += 1
    else:
        report.users.present += 1
    lines = await session.scalars(
        select(CreditLineRow).where(CreditLineRow.user_id == item.telegram_id)
    )
    providers = {line.provider for line in lines}
    for line in item.credit_lines:
        if line.provider in providers:
            report.credit_lines.present += 1
            continue
        session.add(
            CreditLineRow(
                user_id=item.telegram_id,
                provider=line.provider,
                limit=line.limit,
                frozen=line.frozen,
            )
        )
        providers.add(line.provider)
        report.credit_lines.created += 1
    methods = await _import_methods(uow, item, held, now, report)
    report.plans.present += len(item.plans) - len(new_plans)
    for _, plan in new_plans:
        await _import_plan(uow, user, plan, methods, now, report)
        report.plans.created += 1
    return []


@dataclass
class _Methods:
    by_label: dict[str, PaymentMethodRow]
    default: PaymentMethodRow | None


async def _import_methods(
    uow: UnitOfWork,
    item: UserIn,
    held: list[PaymentMethodRow],
    now: datetime,
    report: ImportReport,
) -> _Methods:
    """Create the methods not yet bound (``held``: those the user has), and give the user
    a default if they have none."""
    rows = list(held)
    by_label: dict[str, PaymentMethodRow] = {}
    created: list[tuple[MethodIn, PaymentMethodRow]] = []
    for method in item.payment_methods:
        row = next((r for r in rows if _same_method(r, method)), None)
        if row is None:
            row = new_method_row(
                item.telegram_id,
                MethodKind(method.kind),
                method.label,
                method.last4,
                now,
                balance=method.balance,
            )
            uow.session.add(row)
            rows.append(row)
            created.append((method, row))
            report.payment_methods.created += 1
        else:
            report.payment_methods.present += 1
        by_label[method.label] = row
    default = next((r for r in rows if r.is_default), None)
    if default is None and created:
        # Like binding a first method in the chat: the one marked default, else the first.
        default = next((row for method, row in created if method.default), created[0][1])
        default.is_default = True
    await uow.session.flush()
    return _Methods(by_label, default)


def _same_method(row: PaymentMethodRow, method: MethodIn) -> bool:
    return (row.kind, row.label, row.last4) == (method.kind, method.label, method.last4)


async def _import_plan(
    uow: UnitOfWork,
    user: User,
    item: PlanIn,
    methods: _Methods,
    now: datetime,
    report: ImportReport,
) -> None:
    plan = await insert_plan(uow, user.telegram_id, item.draft(), now)
    if item.autopay_method is not None:
        plan.autopay_method_id = methods.by_label[item.autopay_method].id
    elif item.autopay and methods.default is not None:
        plan.autopay_method_id = methods.default.id
    installments = list(
        await uow.session.scalars(
            select(InstallmentRow)
            .where(InstallmentRow.plan_id == plan.id)
            .order_by(InstallmentRow.period)
        )
    )
    report.installments += len(installments)
    today = local_date(now, user.timezone)
    for installment in installments[: item.paid_periods]:
        await _record_paid(uow, user.telegram_id, item.external_id, plan, installment, today, now)
        report.payments += 1
    if item.paid_periods == item.periods:
        plan.closed_at = now
    await uow.session.flush()


async def _record_paid(
    uow: UnitOfWork,
    telegram_id: int,
    external_id: str,
    plan: PlanRow,
    installment: InstallmentRow,
    today: date,
    now: datetime,
) -> None:
    """A period paid before the import: a succeeded payment, no method and no debit.

    It is dated on the due date, or today for a period paid ahead of its due date.
    """
    payment = PaymentRow(
        user_id=telegram_id,
        idempotency_key=f"import:{telegram_id}:{external_id}:{installment.period}",
        method_id=None,
        plan_id=plan.id,
        kind=PaymentKind.IMPORTED.value,
        amount=installment.principal + installment.interest + installment.fee,
        status="succeeded",
        paid_on=min(installment.due_date, today),
        created_at=now,
        completed_at=now,
    )
    uow.session.add(payment)
    await uow.session.flush()
    uow.session.add(
        AllocationLineRow(
            payment_id=payment.id,
            installment_id=installment.id,
            penalty=ZERO,
            fee=installment.fee,
            interest=installment.interest,
            principal=installment.principal,
        )
    )
