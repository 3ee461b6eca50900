"""The bank's API through the real process: accounts, debits idempotent by reference,
queries, and the refusal of malformed or oversized requests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.bank.bank_process import SECRET, BankClient


async def test_an_account_is_opened_topped_up_read_and_closed(client: BankClient, ids: str) -> None:
    card = f"{ids}-card"
    opened = await client.open(card, "100.00", kind="alipay")
    assert (opened["kind"], opened["balance"], opened["status"]) == ("alipay", "100.00", "open")

    status, body = await client.call(
        "POST", f"/accounts/{card}/top-ups", {"amount": "0.05", "reference": f"{ids}-t1"}
    )
    assert (status, body["balance"]) == (200, "100.05")
    status, body = await client.call(
        "POST", f"/accounts/{card}/top-ups", {"amount": "0.05", "reference": f"{ids}-t1"}
    )
    assert (status, body["balance"]) == (200, "100.05")  # the same top-up, counted once
    status, body = await client.call(
        "POST", f"/accounts/{card}/top-ups", {"amount": "9.00", "reference": f"{ids}-t1"}
    )
    assert (status, body) == (409, {"error": "reference_conflict"})

    status, body = await client.call("POST", f"/accounts/{card}/close")
    assert (status, body["status"]) == (200, "closed")
    assert await client.balance(card) == "100.05"
    status, body = await client.call("POST", f"/accounts/{card}/top-ups", {"amount": "1.00"})
    assert (status, body) == (409, {"error": "account_closed"})


async def test_opening_an_account_again_is_harmless_but_not_with_other_terms(
    client: BankClient, ids: str
) -> None:
    card = f"{ids}-card"
    await client.open(card, "10.00")
    same = {"account": card, "kind": "bank_card", "label": "ICBC 1234", "balance": "10.00"}
    assert (await client.call("POST", "/accounts", same))[0] == 200
    status, body = await client.call("POST", "/accounts", {**same, "kind": "wechat_pay"})
    assert (status, body) == (409, {"error": "account_exists"})


async def test_a_reference_is_debited_once_and_answered_the_same(
    client: BankClient, ids: str
) -> None:
    card = f"{ids}-card"
    await client.open(card, "100.00")
    first = await client.debit(f"{ids}-r1", card, "30.50")
    again = await client.debit(f"{ids}-r1", card, "30.50")
    assert first == again
    assert first[0] == 200
    body = {"reference": f"{ids}-r1", "account": card, "amount": "30.50"}
    async with client.session.post(client.url + "/debits", json=body) as response:
        assert response.headers["Idempotent-Replayed"] == "true"
    assert (first[1]["status"], first[1]["balance_after"]) == ("succeeded", "69.50")
    assert await client.balance(card) == "69.50"

    assert await client.debit(f"{ids}-r1", card, "30.51") == (409, {"error": "reference_conflict"})
    other = f"{ids}-other"
    await client.open(other, "100.00")
    assert await client.debit(f"{ids}-r1", other, "30.50") == (409, {"error": "reference_conflict"})
    assert (await client.balance(card), await client.balance(other)) == ("69.50", "100.00")

    status, queried = await client.call("GET", f"/debits/{ids}-r1")
    assert (status, queried) == (200, first[1])
    assert await client.call("GET", f"/debits/{ids}-nope") == (404, {"error": "debit_not_found"})


async def test_concurrent_submissions_of_one_reference_make_one_debit(
    client: BankClient, ids: str
) -> None:
    card = f"{ids}-card"
    await client.open(card, "100.00")
    answers = await asyncio.gather(*(client.debit(f"{ids}-r", card, "10.00") for _ in range(12)))
    assert {status for status, _ in answers} == {200}
    assert len({str(body) for _, body in answers}) == 1
    assert await client.balance(card) == "90.00"


async def test_declines_are_final_outcomes_with_a_reason(client: BankClient, ids: str) -> None:
    card = f"{ids}-card"
    await client.open(card, "5.00")
    status, body = await client.debit(f"{ids}-big", card, "5.01")
    assert (status, body["status"], body["failure_reason"]) == (
        200,
        "failed",
        "insufficient_balance",
    )
    await client.call("POST", f"/accounts/{card}/close")
    _, body = await client.debit(f"{ids}-gone", card, "1.00")
    assert (body["status"], body["failure_reason"]) == ("failed", "card_removed")
    assert await client.balance(card) == "5.00"
    status, body = await client.debit(f"{ids}-x", f"{ids}-unknown", "1.00")
    assert (status, body) == (404, {"error": "account_not_found"})


async def test_malformed_requests_are_refused_with_a_reason_and_change_nothing(
    client: BankClient, ids: str
) -> None:
    card = f"{ids}-card"
    await client.open(card, "50.00")
    for amount in ("0", "0.00", "-1", "1.234", "1e3", "NaN", "10000000.01", " 1", 5, None):
        status, body = await client.debit(f"{ids}-bad", card, amount)  # type: ignore[arg-type]
        assert status == 400, (amount, body)
        assert body["error"].startswith("amount:"), body
    for reference in ("", "a b", "x" * 65, "ü"):
        status, body = await client.debit(reference, card, "1.00")
        assert (status, body["error"].split(":")[0]) == (400, "reference")
    status, body = await client.debit(f"{ids}-r", card, "1.00", callback_url="ftp://x")
    assert (status, body["error"].split(":")[0]) == (400, "callback_url")
    status, body = await client.call("POST", "/debits", {"reference": "r", "surprise": 1})
    assert (status, body) == (400, {"error": "unknown field: surprise"})
    status, body = await client.call("POST", "/debits", ["not", "an", "object"])
    assert (status, body) == (400, {"error": "the body must be a JSON object"})
    status, body = await client.call(
        "POST", "/accounts", {"account": card + "2", "kind": "paypal", "label": "x", "balance": "1"}
    )
    assert (status, body["error"].split(":")[0]) == (400, "kind")
    async with client.session.post(client.url + "/debits", data=b"{not json") as response:
        assert (response.status, await response.json()) == (400, {"error": "the body is not JSON"})
    huge = {"reference": "r", "account": card, "amount": "1.00", "callback_url": "x" * 20_000}
    status, body = await client.call("POST", "/debits", huge)
    assert status == 413
    assert body["error"].startswith("body_too_large")
    assert await client.balance(card) == "50.00"
    assert await client.call("GET", f"/debits/{ids}-bad") == (404, {"error": "debit_not_found"})


def test_the_command_refuses_to_start_off_loopback_or_without_a_secret(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "GATEWAY_SECRET"}
    base = [sys.executable, "-m", "bot.cli", "bank", "--port", "0", "--db", str(tmp_path / "b.db")]
    cases = [
        (["--host", "0.0.0.0", "--secret", SECRET], "loopback only"),
        ([], "a shared secret is needed"),
        (["--secret", "short"], "at least 16 characters"),
    ]
    for flags, message in cases:
        done = subprocess.run(
            [*base, *flags], capture_output=True, text=True, env=env, timeout=30, check=False
        )
        assert (done.returncode, done.stdout) == (2, "")
        assert message in done.stderr
    assert not (tmp_path / "b.db").exists()
