"""Settlement and notifications through the real process: signed, retried until 2xx,
asynchronous settlement decided when it settles, and all of it kept across a restart."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from tests.bank.bank_process import BankClient, BankProcess, Receiver


async def test_a_settled_debit_is_notified_signed_with_the_answer_s_content(
    client: BankClient, receiver: Receiver, ids: str
) -> None:
    card = f"{ids}-card"
    await client.open(card, "20.00")
    _, answer = await client.debit(f"{ids}-r", card, "7.00", callback_url=receiver.url)
    [note] = await receiver.wait_for(f"{ids}-r")
    assert note.signature_ok
    assert note.body["event"] == "debit.settled"
    assert isinstance(note.body["notification_id"], int)
    assert note.body["debit"] == answer
    assert note.raw == json.dumps(note.body, separators=(",", ":"), sort_keys=True).encode()


async def test_a_notification_is_retried_until_answered_2xx(
    client: BankClient, receiver: Receiver, ids: str
) -> None:
    card = f"{ids}-card"
    await client.open(card, "20.00")
    receiver.fail_next = 3
    await client.debit(f"{ids}-r", card, "1.00", callback_url=receiver.url)
    notes = await receiver.wait_for(f"{ids}-r", count=4)
    assert len({note.raw for note in notes}) == 1  # the same body every time
    assert all(note.signature_ok for note in notes)
    # Answered: no fifth attempt comes before a later debit's notification.
    await client.debit(f"{ids}-next", card, "1.00", callback_url=receiver.url)
    await receiver.wait_for(f"{ids}-next")
    assert len(receiver.for_reference(f"{ids}-r")) == 4


async def test_a_processing_debit_settles_later_against_the_balance_then(
    client: BankClient, receiver: Receiver, ids: str
) -> None:
    card, removed = f"{ids}-card", f"{ids}-removed"
    await client.open(card, "5.00")
    await client.open(removed, "100.00")
    await client.faults({"settlement_delay": 0.3})
    status, answer = await client.debit(f"{ids}-r", card, "8.00", callback_url=receiver.url)
    assert (status, answer["status"], answer["balance_after"]) == (200, "processing", None)
    _, queried = await client.call("GET", f"/debits/{ids}-r")
    assert queried["status"] == "processing"
    _, gone = await client.debit(f"{ids}-g", removed, "1.00", callback_url=receiver.url)
    assert gone["status"] == "processing"
    # Before it settles, the card is topped up (so it succeeds) and the other one removed.
    await client.call("POST", f"/accounts/{card}/top-ups", {"amount": "5.00"})
    await client.call("POST", f"/accounts/{removed}/close")

    [note] = await receiver.wait_for(f"{ids}-r")
    assert (note.body["debit"]["status"], note.body["debit"]["balance_after"]) == (
        "succeeded",
        "2.00",
    )
    [note] = await receiver.wait_for(f"{ids}-g")
    assert (note.body["debit"]["status"], note.body["debit"]["failure_reason"]) == (
        "failed",
        "card_removed",
    )
    assert await client.balance(card) == "2.00"
    assert await client.balance(removed) == "100.00"
    # Submitting the reference again answers the debit as it now stands: settled once.
    _, again = await client.debit(f"{ids}-r", card, "8.00")
    assert again == (await client.call("GET", f"/debits/{ids}-r"))[1]
    assert again["status"] == "succeeded"
    assert await client.balance(card) == "2.00"


async def test_a_restart_keeps_balances_debits_pending_settlements_and_notifications(
    tmp_path: Path, receiver: Receiver
) -> None:
    bank = BankProcess(tmp_path / "bank.db", "--retry-base", "0.1", "--settlement-delay", "2")
    bank.start()
    receiver.fail_next = 1_000  # the bot is down: nothing is acknowledged
    async with aiohttp.ClientSession() as session:
        client = BankClient(session, bank.url)
        await client.open("card", "100.00")
        await client.call("POST", "/accounts/card/top-ups", {"amount": "10.00"})
        _, pending = await client.debit("settles-later", "card", "30.00", callback_url=receiver.url)
        assert pending["status"] == "processing"
        await client.faults({})  # the next one settles at once; its notification is refused
        _, settled = await client.debit("settled", "card", "25.00", callback_url=receiver.url)
        assert settled["status"] == "succeeded"
        await receiver.wait_for("settled")  # refused at least once: still pending
        _, still = await client.call("GET", "/debits/settles-later")
        assert still["status"] == "processing"
    bank.kill()  # kill -9 before the processing debit settles

    receiver.fail_next = 0  # the bot is back
    bank = BankProcess(tmp_path / "bank.db", "--retry-base", "0.1").start()
    try:
        async with aiohttp.ClientSession() as session:
            client = BankClient(session, bank.url)
            [*_, late] = await receiver.wait_for("settles-later")
            assert late.signature_ok
            assert late.body["debit"]["status"] == "succeeded"
            notes = await receiver.wait_for("settled")
            assert notes[-1].body["debit"] == settled
            assert await client.balance("card") == "55.00"  # 100 + 10 - 30 - 25
            _, again = await client.debit("settled", "card", "25.00")
            assert again == settled
            assert await client.balance("card") == "55.00"
    finally:
        assert bank.stop() == 0
