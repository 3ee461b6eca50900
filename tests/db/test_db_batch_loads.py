"""The batched reads a sweep uses for a whole chunk of users: the same answers as the
one-user reads, in a fixed number of queries."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event

from core.db.models import PaymentRow
from core.db.uow import Database
from core.services.autopay_sweep import attempted_keys
from core.services.books import load_open_plans, load_plans, slices


def _ledgers(loaded: list[Any]) -> list[Any]:
    return [(p.row.id, p.book) for p in loaded]


async def test_open_plans_of_many_users_match_each_users_own_load(
    db: Database, make: Any, now: datetime
) -> None:
    alice, _ = await make.user()
    bob, _ = await make.user()
    nobody, _ = await make.user()
    for user in (alice, bob):
        await make.plan(user, make.fee_plan(title=f"Phone {user}"))
        await make.plan(user, make.free_plan(principal="300.00", periods=3))
    paid_off = await make.plan(bob, make.free_plan(principal="100.00", periods=1, title="Case"))
    await make.pay(alice)  # receipts must be read too
    await make.pay(bob, plan_id=paid_off)  # pays the whole plan off: closed
    assert (await make.plan_row(paid_off)).closed_at is not None

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    async with db.uow() as uow:
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        try:
            loaded = await load_open_plans(uow.session, [alice, bob, nobody])
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        batch = {user: _ledgers(plans) for user, plans in loaded.items()}
        one_by_one = {
            user: _ledgers(await load_plans(uow.session, user)) for user in (alice, bob, nobody)
        }
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 3
    assert set(batch) == {alice, bob, nobody}
    assert batch[nobody] == []
    assert batch[alice] == one_by_one[alice]
    open_of_bob = [(plan_id, book) for plan_id, book in one_by_one[bob] if plan_id != paid_off]
    assert batch[bob] == open_of_bob  # the paid-off plan is left out
    assert any(ledger.receipts for _, book in batch[alice] for ledger in book.ledgers)


async def test_attempted_keys_finds_attempts_run_on_their_method_or_the_fallback(
    db: Database, make: Any, now: datetime
) -> None:
    user, _ = await make.user()
    async with db.uow() as uow:
        for key in ("auto:1:a", "auto:2:b:fallback"):
            uow.session.add(
                PaymentRow(
                    user_id=user,
                    idempotency_key=key,
                    kind="auto",
                    amount=0,
                    status="failed",
                    failure_reason="no_method",
                    paid_on=now.date(),
                    created_at=now,
                    completed_at=now + timedelta(seconds=1),
                )
            )
        await uow.commit()
    async with db.uow() as uow:
        ran = await attempted_keys(uow, ["auto:1:a", "auto:2:b", "auto:3:c"])
        assert await attempted_keys(uow, []) == set()
    assert ran == {"auto:1:a", "auto:2:b"}


@given(st.lists(st.integers()), st.integers(min_value=1, max_value=50))
def test_slices_keep_every_value_in_order_in_pieces_of_at_most_size(
    values: list[int], size: int
) -> None:
    pieces = slices(values, size)
    assert [v for piece in pieces for v in piece] == values
    assert all(1 <= len(piece) <= size for piece in pieces)
    assert len(pieces) == -(-len(values) // size)


async def test_a_horizon_reads_only_installments_due_by_then_and_those_asked_for(
    db: Database, make: Any, now: datetime
) -> None:
    from datetime import date

    user, _ = await make.user()
    monthly = await make.plan(user, make.fee_plan(periods=3, first_due=date(2026, 12, 5)))
    later = await make.plan(user, make.free_plan(periods=1, first_due=date(2027, 2, 1)))
    async with db.uow() as uow:
        [full] = [p for p in await load_plans(uow.session, user) if p.row.id == monthly]
        third = full.book.ledgers[2].key
        near = await load_open_plans(uow.session, [user], due_by=date(2027, 1, 5))
        asked = await load_open_plans(
            uow.session, [user], due_by=date(2026, 12, 5), including=[third]
        )
        got = {
            "near": [
                (p.row.id, [led.installment.period for led in p.book.ledgers]) for p in near[user]
            ],
            "asked": [
                (p.row.id, [led.installment.period for led in p.book.ledgers]) for p in asked[user]
            ],
            "ledger": near[user][0].book.ledgers[0] == full.book.ledgers[0],
        }
    assert got["near"] == [(monthly, [1, 2])]  # due 2026-12-05 and 2027-01-05; not later
    assert got["asked"] == [(monthly, [1, 3])]
    assert got["ledger"]  # the same ledger as the full book's
    assert later not in [plan_id for plan_id, _ in got["near"]]
