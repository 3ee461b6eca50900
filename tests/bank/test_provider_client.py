"""The bot's client of the provider (``core/gateway/provider_client.py``) against a real
``repaybot bank`` process: answers read exactly, a lost or refused answer is "outcome
unknown" (never a failure), and a query by the reference tells what really happened."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from core.gateway.provider_client import (
    DebitStatus,
    OutcomeUnknown,
    ProviderClient,
    ProviderRefused,
)
from tests.bank.bank_process import BankClient, BankProcess

D = Decimal


async def test_accounts_and_a_debit_replayed_once(
    bank_process: BankProcess, client: BankClient, ids: str
) -> None:
    async with ProviderClient(bank_process.url) as provider:
        card = f"{ids}-card"
        assert await provider.open_account(card, "bank_card", "ICBC 1234", D("100")) == D("100.00")
        assert await provider.open_account(card, "bank_card", "ICBC 1234", D("100")) == D("100.00")
        assert await provider.top_up(card, D("20.5"), f"{ids}-t") == D("120.50")
        assert await provider.top_up(card, D("20.5"), f"{ids}-t") == D("120.50")  # once
        paid = await provider.submit_debit(f"{ids}-p", card, D("30"))
        again = await provider.submit_debit(f"{ids}-p", card, D("30"))
        assert paid == again
        assert (paid.status, paid.balance_after, paid.settled) == (
            DebitStatus.SUCCEEDED,
            D("90.50"),
            True,
        )
        assert await provider.query_debit(f"{ids}-p") == paid
        assert await provider.query_debit(f"{ids}-never") is None
        assert await provider.balance(card) == D("90.50")
        with pytest.raises(ProviderRefused) as refused:
            await provider.submit_debit(f"{ids}-p", card, D("31"))  # the same reference
        assert refused.value.reason == "reference_conflict"
        short = await provider.submit_debit(f"{ids}-q", card, D("1000"))
        assert (short.status, short.failure_reason) == (DebitStatus.FAILED, "insufficient_balance")
        await provider.close_account(card)
        gone = await provider.submit_debit(f"{ids}-r", card, D("1"))
        assert gone.failure_reason == "card_removed"


async def test_a_lost_answer_is_outcome_unknown_and_the_query_tells(
    bank_process: BankProcess, client: BankClient, ids: str
) -> None:
    async with ProviderClient(bank_process.url, timeout=0.5) as provider:
        card = f"{ids}-card"
        await provider.open_account(card, "wechat_pay", "WeChat", D("10"))
        await client.faults({"answer_lost": {"times": 1}})
        with pytest.raises(OutcomeUnknown):
            await provider.submit_debit(f"{ids}-p", card, D("4"))
        found = await provider.query_debit(f"{ids}-p")
        assert found is not None
        assert (found.status, found.balance_after) == (DebitStatus.SUCCEEDED, D("6.00"))
        await client.faults({"answer_lost": {"times": 1, "mode": "hang", "hang": 2}})
        with pytest.raises(OutcomeUnknown):  # past our timeout
            await provider.submit_debit(f"{ids}-h", card, D("1"))
        assert (await provider.submit_debit(f"{ids}-h", card, D("1"))).balance_after == D("5.00")


async def test_an_outage_is_outcome_unknown_and_records_nothing(
    bank_process: BankProcess, client: BankClient, ids: str
) -> None:
    async with ProviderClient(bank_process.url) as provider:
        card = f"{ids}-card"
        await provider.open_account(card, "alipay", "Alipay", D("10"))
        await client.faults({"outage": 1})
        with pytest.raises(OutcomeUnknown):
            await provider.submit_debit(f"{ids}-p", card, D("4"))
        assert await provider.query_debit(f"{ids}-p") is None  # free to submit again


async def test_a_debit_processing_then_settled(
    bank_process: BankProcess, client: BankClient, ids: str
) -> None:
    async with ProviderClient(bank_process.url) as provider:
        card = f"{ids}-card"
        await provider.open_account(card, "bank_card", "CMB", D("10"))
        await client.faults({"settlement_delay": 0.3})
        pending = await provider.submit_debit(f"{ids}-p", card, D("4"))
        assert (pending.status, pending.settled, pending.balance_after) == (
            DebitStatus.PROCESSING,
            False,
            None,
        )
        for _ in range(50):
            found = await provider.query_debit(f"{ids}-p")
            if found is not None and found.settled:
                break
            await asyncio.sleep(0.1)
        assert found is not None
        assert (found.status, found.balance_after) == (DebitStatus.SUCCEEDED, D("6.00"))


async def test_unreachable_is_outcome_unknown() -> None:
    async with ProviderClient("http://127.0.0.1:9", timeout=1) as provider:
        with pytest.raises(OutcomeUnknown):
            await provider.submit_debit("r-1", "card", D("1"))
