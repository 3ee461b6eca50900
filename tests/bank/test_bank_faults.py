"""Each fault the bank can be told to commit, through its control endpoint and its flags."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.bank.bank_process import BankClient, BankProcess, Receiver


async def test_latency_delays_answers_but_not_the_debit(client: BankClient, ids: str) -> None:
    card = f"{ids}-card"
    await client.open(card, "10.00")
    await client.faults({"latency": 0.5})
    with pytest.raises(TimeoutError):
        async with client.session.post(
            client.url + "/debits",
            json={"reference": f"{ids}-r", "account": card, "amount": "1.00"},
            timeout=aiohttp.ClientTimeout(total=0.1),
        ):
            pass
    await client.faults({})
    for _ in range(100):  # the debit goes on after the caller gave up
        status, body = await client.call("GET", f"/debits/{ids}-r")
        if status == 200:
            break
        await asyncio.sleep(0.05)
    assert (status, body["status"]) == (200, "succeeded")
    assert await client.balance(card) == "9.00"


async def test_a_decline_fails_the_next_n_debits_with_its_reason(
    client: BankClient, ids: str
) -> None:
    card = f"{ids}-card"
    await client.open(card, "10.00")
    for reason in ("insufficient_balance", "card_removed", "risk_refused", "provider_unavailable"):
        await client.faults({"decline": {"reason": reason, "times": 2}})
        outcomes = [(await client.debit(f"{ids}-{reason}-{n}", card, "1.00"))[1] for n in range(3)]
        assert [(o["status"], o["failure_reason"]) for o in outcomes] == [
            ("failed", reason),
            ("failed", reason),
            ("succeeded", None),
        ]
    assert await client.balance(card) == "6.00"


async def test_a_decline_can_target_one_account(client: BankClient, ids: str) -> None:
    risky, fine = f"{ids}-risky", f"{ids}-fine"
    await client.open(risky, "10.00")
    await client.open(fine, "10.00")
    await client.faults({"decline": [{"reason": "risk_refused", "account": risky}]})
    for n in range(3):
        _, refused = await client.debit(f"{ids}-a{n}", risky, "1.00")
        assert (refused["status"], refused["failure_reason"]) == ("failed", "risk_refused")
    _, paid = await client.debit(f"{ids}-b", fine, "1.00")
    assert paid["status"] == "succeeded"
    assert (await client.balance(risky), await client.balance(fine)) == ("10.00", "9.00")


async def test_an_outage_answers_503_and_records_nothing(client: BankClient, ids: str) -> None:
    card = f"{ids}-card"
    await client.open(card, "10.00")
    await client.faults({"outage": 1})
    assert await client.debit(f"{ids}-r", card, "1.00") == (503, {"error": "provider_unavailable"})
    assert (await client.call("GET", f"/debits/{ids}-r"))[0] == 404
    status, body = await client.debit(f"{ids}-r", card, "1.00")
    assert (status, body["status"]) == (200, "succeeded")


async def test_a_lost_answer_drops_the_connection_after_the_debit_is_committed(
    client: BankClient, ids: str
) -> None:
    card = f"{ids}-card"
    await client.open(card, "10.00")
    await client.faults({"answer_lost": {"times": 1}})
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.debit(f"{ids}-r", card, "4.00")
    _, queried = await client.call("GET", f"/debits/{ids}-r")
    assert queried["status"] == "succeeded"
    status, retried = await client.debit(f"{ids}-r", card, "4.00")  # the caller retries
    assert (status, retried) == (200, queried)
    assert await client.balance(card) == "6.00"


async def test_a_lost_answer_can_hang_past_the_caller_s_timeout(
    client: BankClient, ids: str
) -> None:
    card = f"{ids}-card"
    await client.open(card, "10.00")
    await client.faults({"answer_lost": {"times": 1, "mode": "hang", "hang": 3}})
    with pytest.raises(TimeoutError):
        async with client.session.post(
            client.url + "/debits",
            json={"reference": f"{ids}-r", "account": card, "amount": "4.00"},
            timeout=aiohttp.ClientTimeout(total=0.3),
        ):
            pass
    _, queried = await client.call("GET", f"/debits/{ids}-r")
    assert queried["status"] == "succeeded"
    assert await client.balance(card) == "6.00"


async def test_a_lost_notification_is_never_sent_but_the_debit_can_be_queried(
    client: BankClient, receiver: Receiver, ids: str
) -> None:
    card = f"{ids}-card"
    await client.open(card, "10.00")
    await client.faults({"notify": {"lost": 1}})
    _, lost = await client.debit(f"{ids}-lost", card, "1.00", callback_url=receiver.url)
    for _ in range(200):  # until the worker has used the fault up on this one
        if (await client.call("GET", "/control/faults"))[1]["notify"]["lost"] == 0:
            break
        await asyncio.sleep(0.02)
    await client.debit(f"{ids}-next", card, "1.00", callback_url=receiver.url)
    await receiver.wait_for(f"{ids}-next")
    assert receiver.for_reference(f"{ids}-lost") == []
    assert (await client.call("GET", f"/debits/{ids}-lost"))[1] == lost


async def test_a_duplicated_notification_arrives_twice_alike(
    client: BankClient, receiver: Receiver, ids: str
) -> None:
    card = f"{ids}-card"
    await client.open(card, "10.00")
    await client.faults({"notify": {"duplicated": 1}})
    await client.debit(f"{ids}-r", card, "1.00", callback_url=receiver.url)
    first, second = await receiver.wait_for(f"{ids}-r", count=2)
    assert first.raw == second.raw
    assert first.signature_ok
    assert second.signature_ok


async def test_a_delayed_notification_comes_after_the_answer(
    client: BankClient, receiver: Receiver, ids: str
) -> None:
    card = f"{ids}-card"
    await client.open(card, "10.00")
    await client.faults({"notify": {"delay": 0.5}})
    await client.debit(f"{ids}-r", card, "1.00", callback_url=receiver.url)
    assert receiver.for_reference(f"{ids}-r") == []
    [note] = await receiver.wait_for(f"{ids}-r")
    assert note.body["debit"]["status"] == "succeeded"


async def test_an_early_notification_arrives_before_the_submit_s_answer(
    client: BankClient, receiver: Receiver, ids: str
) -> None:
    card = f"{ids}-card"
    await client.open(card, "10.00")
    await client.faults({"notify": {"early": 1}})
    _, answer = await client.debit(f"{ids}-r", card, "1.00", callback_url=receiver.url)
    [note] = receiver.for_reference(f"{ids}-r")  # already there when the answer comes
    assert note.body["debit"] == answer


async def test_faults_are_read_back_and_refused_when_malformed(client: BankClient) -> None:
    await client.faults({"decline": {"reason": "risk_refused", "times": 2}, "latency": 0})
    status, body = await client.call("GET", "/control/faults")
    assert (status, body["decline"]) == (200, [{"reason": "risk_refused", "times": 2}])
    for bad in (
        {"latency": -1},
        {"latency": 61},
        {"decline": {"reason": "bored"}},
        {"answer_lost": {"mode": "vanish"}},
        {"notify": {"lost": 1.5}},
        {"chaos": True},
    ):
        status, body = await client.call("POST", "/control/faults", bad)
        assert status == 400, bad
    assert (await client.call("GET", "/control/faults"))[1]["decline"] == [
        {"reason": "risk_refused", "times": 2}
    ]


async def test_faults_can_be_set_by_flags(tmp_path: Path) -> None:
    bank = BankProcess(
        tmp_path / "bank.db", "--decline", "risk_refused", "--decline-times", "1"
    ).start()
    try:
        async with aiohttp.ClientSession() as session:
            client = BankClient(session, bank.url)
            await client.open("card", "10.00")
            _, first = await client.debit("r1", "card", "1.00")
            _, second = await client.debit("r2", "card", "1.00")
            assert (first["failure_reason"], second["status"]) == ("risk_refused", "succeeded")
    finally:
        assert bank.stop() == 0
