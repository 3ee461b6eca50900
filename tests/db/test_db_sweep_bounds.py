"""A big account costs the sweep and /status work bounded by what is due, not by its size
(issue 10 §3): installments long past their auto-debit attempts are not looked at again,
a claim's statements carry a fixed number of bound parameters however many reminders it
writes, and /status computes each installment's position once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event

from core.db.uow import Database
from core.domain import status as status_module
from core.limits import MAX_PLAN_PERIODS
from core.services import autopay_sweep, overview, wakeups
from core.services.limits import first_due_range
from core.services.reconcile import run_autopays
from core.services.reminder_sweep import claim_chunk
from core.services.send_outcomes import record_outcome

PLANS = 4  # all overdue since the earliest first due date: 240 installments


async def _overdue_account(make: Any, now: datetime) -> int:
    user, _ = await make.user()
    earliest, _ = first_due_range(now.date())
    for n in range(PLANS):
        draft = make.fee_plan(
            title=f"Plan {n}",
            periods=MAX_PLAN_PERIODS,
            principal="6000.00",
            first_due=earliest,
            autopay=True,
        )
        await make.plan(user, draft)
    return user


async def test_installments_past_their_attempts_are_not_looked_at_again(
    db: Database, make: Any, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _overdue_account(make, now)
    slots: list[object] = []
    real = autopay_sweep.attempt_slots

    def counted(*args: Any) -> list[datetime]:
        slots.append(args)
        return real(*args)

    monkeypatch.setattr(autopay_sweep, "attempt_slots", counted)
    monkeypatch.setattr(wakeups, "attempt_slots", counted)
    assert await run_autopays(db, now, autopay_sweep.RETRY_TIME) == []
    async with db.uow() as uow:
        await claim_chunk(uow, now)
    # Every installment's grace ended weeks ago: no attempt is pending or to come.
    assert slots == []


async def test_a_claim_of_hundreds_of_reminders_is_a_few_statements_of_few_parameters(
    db: Database, make: Any, now: datetime
) -> None:
    await _overdue_account(make, now)
    parameters: list[int] = []

    def count(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        if isinstance(params, dict | tuple | list):
            parameters.append(len(params))

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with db.uow() as uow:
            claimed = await claim_chunk(uow, now)
        [batch] = claimed.batches
        async with db.uow() as uow:
            await record_outcome(uow, batch.log_ids, now, message_id=7)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    # One overdue notice per plan, each about its 60 late installments.
    assert len(batch.items) == PLANS
    assert [item.count for item in batch.items] == [MAX_PLAN_PERIODS] * PLANS
    assert len(set().union(*(item.installments for item in batch.items))) == PLANS * 60
    # Keys, rows and ids travel as one JSON parameter each, not three bound parameters a
    # reminder: what a statement carries does not grow with the account.
    assert max(parameters) <= 12
    assert len(parameters) <= 30


async def test_status_computes_each_position_once(
    db: Database, make: Any, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await _overdue_account(make, now)
    computed: list[int] = []

    def counted(ledger: Any, terms: Any, on: Any) -> Any:
        computed.append(ledger.key)
        return status_module.position(ledger, terms, on)

    monkeypatch.setattr(overview, "position", counted)
    async with db.uow() as uow:
        view = await overview.status_overview(uow, user, now)
    assert view.record.overdue_installments == PLANS * MAX_PLAN_PERIODS
    assert sorted(computed) == sorted(set(computed))
    assert len(computed) == PLANS * MAX_PLAN_PERIODS
