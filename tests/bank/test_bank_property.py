"""Random submits, retries and concurrent repeats of a few references, with top-ups and a
card removed on the way, never debit a reference twice, and every balance stays equal to
opening + top-ups − succeeded debits. Runs the bank in process (the same HTTP app and
database as the process), so hundreds of sequences take seconds."""

from __future__ import annotations

import asyncio
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.gateway.bank.faults import Faults
from core.gateway.bank.server import BankConfig, BankServer
from tests.bank.bank_process import SECRET, BankClient

ACCOUNTS = ("a", "b")
OPENING = Decimal("50.00")
LATER = datetime(2100, 1, 1, tzinfo=UTC)
REFERENCES = [f"ref-{n}" for n in range(5)]

amounts = st.integers(min_value=1, max_value=3000).map(lambda fen: f"{Decimal(fen) / 100:.2f}")
submit = st.tuples(
    st.just("submit"),
    st.sampled_from(REFERENCES),
    st.sampled_from(ACCOUNTS),
    amounts,
    st.integers(min_value=1, max_value=3),  # how many copies are sent at once
)
top_up = st.tuples(st.just("top_up"), st.sampled_from(ACCOUNTS), amounts)
close = st.tuples(st.just("close"), st.sampled_from(ACCOUNTS))
steps = st.lists(st.one_of(submit, submit, submit, top_up, close), min_size=1, max_size=25)


async def _run(steps: list[tuple[Any, ...]], delay: float, database: Path) -> None:
    server = BankServer(
        BankConfig(database=database, secret=SECRET, faults=Faults(settlement_delay=delay))
    )
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            await _check(BankClient(session, server.url), steps, server)
    finally:
        await server.stop()


async def _check(client: BankClient, steps: list[tuple[Any, ...]], server: BankServer) -> None:
    for account in ACCOUNTS:
        await client.open(account, str(OPENING))
    topped: dict[str, Decimal] = defaultdict(Decimal)
    first: dict[str, tuple[str, str]] = {}  # reference -> (account, amount) of its debit
    for step in steps:
        if step[0] == "submit":
            _, reference, account, amount, copies = step
            answers = await asyncio.gather(
                *(client.debit(reference, account, amount) for _ in range(copies))
            )
            expected = first.setdefault(reference, (account, amount))
            for status, body in answers:
                if (account, amount) == expected:
                    assert status == 200, body
                    assert (body["reference"], body["amount"]) == (reference, amount)
                else:
                    assert (status, body) == (409, {"error": "reference_conflict"})
        elif step[0] == "top_up":
            _, account, amount = step
            path = f"/accounts/{account}/top-ups"
            status, _ = await client.call("POST", path, {"amount": amount})
            if status == 200:
                topped[account] += Decimal(amount)
        else:
            await client.call("POST", f"/accounts/{step[1]}/close")
    # Settle whatever is still processing now, rather than wait for the worker.
    while await server.store.settle_due(LATER, Faults()):
        pass

    debited: dict[str, Decimal] = defaultdict(Decimal)
    for reference, (account, amount) in first.items():
        status, debit = await client.call("GET", f"/debits/{reference}")
        assert status == 200
        assert (debit["account"], debit["amount"]) == (account, amount)
        assert debit["status"] in ("succeeded", "failed")
        if debit["status"] == "succeeded":
            debited[account] += Decimal(amount)
    for account in ACCOUNTS:
        expected = OPENING + topped[account] - debited[account]
        assert Decimal(await client.balance(account)) == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps, delay=st.sampled_from([0.0, 0.0, 0.02]))
def test_no_reference_is_debited_twice_and_balances_add_up(
    steps: list[tuple[Any, ...]], delay: float
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_run(steps, delay, Path(folder) / "bank.db"))
