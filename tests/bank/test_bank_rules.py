"""The bank's pure parts, in process: signatures, what the wire accepts, how a debit
settles, how retries back off, and how faults are counted."""

from __future__ import annotations

import hashlib
import hmac
import re
from decimal import Decimal
from pathlib import Path

import pytest
from multidict import CIMultiDict

from core.gateway.bank.faults import Faults, parse_faults
from core.gateway.bank.ledger import (
    DebitStatus,
    FailureReason,
    can_transition,
    retry_delay,
    settle,
)
from core.gateway.bank.signing import BadSignature, signed_headers, verify
from core.gateway.bank.wire import BadRequest, fields, parse_identifier, parse_money

SECRET = "whsec-0123456789abcdef"
BODY = b'{"debit":{"amount":"12.30"},"event":"debit.settled","notification_id":1}'
STAMP = 1_767_225_600


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    headers = signed_headers(SECRET, STAMP, BODY)
    expected = hmac.new(SECRET.encode(), b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert headers["X-RepayBank-Signature"] == f"sha256={expected}"
    assert headers["X-RepayBank-Timestamp"] == "1767225600"
    verify(SECRET, CIMultiDict({k.lower(): v for k, v in headers.items()}), BODY, now=STAMP + 299)


@pytest.mark.parametrize(
    ("secret", "body", "now", "why"),
    [
        ("another-secret-0123456789", BODY, STAMP, "does not match"),
        (SECRET, BODY.replace(b"12.30", b"12.31"), STAMP, "does not match"),
        (SECRET, BODY, STAMP + 301, "tolerance"),
        (SECRET, BODY, STAMP - 301, "tolerance"),
    ],
)
def test_a_forged_altered_or_replayed_notification_is_refused(
    secret: str, body: bytes, now: int, why: str
) -> None:
    headers = signed_headers(secret, STAMP, BODY)
    with pytest.raises(BadSignature, match=why):
        verify(SECRET, headers, body, now=now)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-RepayBank-Timestamp": "1767225600"},
        {"X-RepayBank-Timestamp": "soon", "X-RepayBank-Signature": "sha256=00"},
        {"X-RepayBank-Timestamp": "1767225600", "X-RepayBank-Signature": "md5=00"},
    ],
)
def test_a_notification_without_a_well_formed_signature_is_refused(
    headers: dict[str, str],
) -> None:
    with pytest.raises(BadSignature):
        verify(SECRET, headers, BODY, now=STAMP)


@pytest.mark.parametrize(
    ("text", "amount"),
    [("0.01", "0.01"), ("12.3", "12.30"), ("10000000.00", "10000000.00"), ("7", "7.00")],
)
def test_money_on_the_wire_is_a_string_of_two_decimals_at_most(text: str, amount: str) -> None:
    parsed = parse_money(text, "amount")
    assert (parsed, str(parsed)) == (Decimal(amount), amount)


@pytest.mark.parametrize(
    "value",
    ["0", "0.00", "-1", "+1", "1.001", "1e2", "1,000", "NaN", "Infinity", "10000000.01",
     "007", ".5", "1.", "", " 1", 1, 1.5, None, True],
)  # fmt: skip
def test_money_that_is_not_a_plain_bounded_positive_amount_is_refused(value: object) -> None:
    with pytest.raises(BadRequest, match=r"^amount: "):
        parse_money(value, "amount")


def test_an_opening_balance_may_be_zero() -> None:
    assert parse_money("0.00", "balance", allow_zero=True) == Decimal("0.00")


@pytest.mark.parametrize("value", ["", "-lead", "a b", "x" * 65, "名字", 12, None])
def test_identifiers_are_short_and_plain(value: object) -> None:
    with pytest.raises(BadRequest, match=r"^reference: "):
        parse_identifier(value, "reference")


def test_bodies_must_name_known_fields_and_all_required_ones() -> None:
    assert fields({"a": 1}, required=("a",), optional=("b",)) == {"a": 1}
    with pytest.raises(BadRequest, match="unknown field: c"):
        fields({"a": 1, "c": 2}, required=("a",))
    with pytest.raises(BadRequest, match="b: required"):
        fields({"a": 1}, required=("a", "b"))


def test_a_debit_settles_on_the_decline_then_the_card_then_the_balance() -> None:
    ten, five = Decimal("10.00"), Decimal("5.00")
    declined = settle(
        balance=ten, amount=five, account_open=True, decline=FailureReason.RISK_REFUSED
    )
    assert (declined.status, declined.reason, declined.balance_after) == (
        DebitStatus.FAILED,
        FailureReason.RISK_REFUSED,
        ten,
    )
    closed = settle(balance=ten, amount=five, account_open=False, decline=None)
    assert (closed.reason, closed.balance_after) == (FailureReason.CARD_REMOVED, ten)
    short = settle(balance=five, amount=ten, account_open=True, decline=None)
    assert (short.reason, short.balance_after) == (FailureReason.INSUFFICIENT_BALANCE, five)
    paid = settle(balance=ten, amount=ten, account_open=True, decline=None)
    assert (paid.status, paid.reason, paid.balance_after) == (
        DebitStatus.SUCCEEDED,
        None,
        Decimal("0.00"),
    )


def test_only_a_processing_debit_moves_and_only_to_a_final_status() -> None:
    assert can_transition(DebitStatus.PROCESSING, DebitStatus.SUCCEEDED)
    assert can_transition(DebitStatus.PROCESSING, DebitStatus.FAILED)
    assert not can_transition(DebitStatus.PROCESSING, DebitStatus.PROCESSING)
    for final in (DebitStatus.SUCCEEDED, DebitStatus.FAILED):
        assert not any(can_transition(final, new) for new in DebitStatus)


def test_retries_back_off_exponentially_up_to_a_cap() -> None:
    delays = [retry_delay(n, base=1.0, cap=600.0) for n in range(1, 13)]
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]
    assert retry_delay(10_000, base=1.0, cap=600.0) == 600
    with pytest.raises(ValueError, match="at least one"):
        retry_delay(0, base=1.0, cap=600.0)


def test_counted_faults_are_used_up_one_at_a_time() -> None:
    faults = parse_faults(
        {
            "decline": [
                {"reason": "card_removed", "account": "gone"},
                {"reason": "risk_refused", "times": 1},
            ],
            "answer_lost": {"times": 1},
            "notify": {"lost": 1, "duplicated": 2},
        }
    )
    assert faults.take_decline("gone") is FailureReason.CARD_REMOVED
    assert faults.take_decline("gone") is FailureReason.CARD_REMOVED  # until cleared
    assert faults.take_decline("card") is FailureReason.RISK_REFUSED
    assert faults.take_decline("card") is None
    assert [faults.take_answer_lost(), faults.take_answer_lost()] == ["drop", None]
    assert [faults.take_notify_lost(), faults.take_notify_lost()] == [True, False]
    assert [faults.take_notify_duplicated() for _ in range(3)] == [True, True, False]


def test_faults_read_back_in_the_shape_they_are_set() -> None:
    faults = parse_faults(
        {
            "latency": 0.2,
            "decline": {"reason": "provider_unavailable", "times": 3},
            "answer_lost": {"times": 2, "mode": "hang", "hang": 5},
            "settlement_delay": 1.5,
            "outage": 1,
            "notify": {"lost": 1, "duplicated": 1, "delay": 2, "early": 1},
        }
    )
    assert parse_faults(faults.to_json()).to_json() == faults.to_json()
    assert parse_faults({}).to_json() == Faults().to_json()


def test_the_documented_worked_example_verifies() -> None:
    text = (Path(__file__).parents[2] / "docs" / "provider-api.md").read_text()
    body = re.search(r"^(\{\"debit\":\{\"account\".*)$", text, re.MULTILINE)
    header = re.search(r"^X-RepayBank-Signature: (sha256=[0-9a-f]{64})$", text, re.MULTILINE)
    assert body is not None
    assert header is not None
    headers = {"X-RepayBank-Timestamp": "1796432405", "X-RepayBank-Signature": header[1]}
    verify("whsec-sandbox-0123456789", headers, body[1].encode(), now=1796432405)
