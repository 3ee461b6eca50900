"""core.domain.credit (credit lines, credit record) and core.domain.overview (summarize)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.credit import (
    CreditLine,
    CreditRecord,
    CreditRefusal,
    CreditRefused,
    Health,
    check_new_draw,
    credit_record,
    outstanding_principal,
)
from core.domain.ledger import InstallmentLedger, Parts, PlanBook, Receipt
from core.domain.overview import Summary, summarize
from core.domain.schedule import build_schedule
from core.domain.status import Bucket
from core.domain.terms import Method, PlanTerms

D = Decimal

# ------------------------------------------------------------ credit lines


def test_available() -> None:
    assert CreditLine("mi", D("10000.00"), D("2500.00")).available == D("7500.00")
    assert CreditLine("mi", D("10000.00"), D("10000.00")).available == 0
    assert CreditLine("mi", D("10000.00"), D("12000.00")).available == 0  # over limit
    assert CreditLine("mi", D("10000.00"), D("0"), frozen=True).available == 0
    assert CreditLine("mi", D("0"), D("0")).available == 0


def test_draw_within_the_line_is_allowed() -> None:
    line = CreditLine("mi", D("10000.00"), D("2500.00"))
    assert check_new_draw(line, D("100.00")) is None
    assert check_new_draw(line, D("7500.00")) is None  # exactly what is available


@pytest.mark.parametrize(
    ("line", "amount", "refusal"),
    [
        (CreditLine("mi", D("10000"), D("0"), frozen=True), D("1.00"), CreditRefusal.FROZEN),
        (CreditLine("mi", D("10000"), D("10000"), frozen=True), D("1"), CreditRefusal.FROZEN),
        (CreditLine("mi", D("10000"), D("10000")), D("1.00"), CreditRefusal.EXHAUSTED),
        (CreditLine("mi", D("10000"), D("10500")), D("1.00"), CreditRefusal.EXHAUSTED),
        (CreditLine("mi", D("0"), D("0")), D("1.00"), CreditRefusal.EXHAUSTED),
        (CreditLine("mi", D("10000"), D("9000")), D("1000.01"), CreditRefusal.INSUFFICIENT),
    ],
)
def test_refusals(line: CreditLine, amount: Decimal, refusal: CreditRefusal) -> None:
    with pytest.raises(CreditRefused) as caught:
        check_new_draw(line, amount)
    assert caught.value.refusal is refusal
    assert caught.value.line is line
    assert caught.value.amount == amount
    assert str(caught.value).startswith(refusal.value)
    assert "mi" in str(caught.value)
    assert isinstance(caught.value, ValueError)


money = st.integers(0, 10**9).map(lambda fen: D(fen).scaleb(-2))


@settings(deadline=None)
@given(money, money, st.booleans(), st.integers(1, 10**9).map(lambda f: D(f).scaleb(-2)))
def test_available_is_never_negative_and_guards_draws(
    limit: Decimal, used: Decimal, frozen: bool, amount: Decimal
) -> None:
    line = CreditLine("p", limit, used, frozen)
    assert line.available >= 0
    assert line.available <= limit
    if not frozen:
        assert line.available == max(limit - used, D(0))
    allowed = not frozen and amount <= limit - used
    if allowed:
        check_new_draw(line, amount)
    else:
        with pytest.raises(CreditRefused):
            check_new_draw(line, amount)


# ------------------------------------------------------------ books for the examples

# Plan A: 1200 interest-free over 3, ¥400 due 2025-03-15, 04-15, 05-15 (keys 11-13).
PLAN_A = PlanTerms(D("1200.00"), 3, Method.INTEREST_FREE, D(0), date(2025, 3, 15))
# Plan B: 6000 with a 0.6 % fee over 12, ¥536 due on the 1st from 2025-04-01 (keys 21-32).
PLAN_B = PlanTerms(D("6000.00"), 12, Method.FEE_PER_PERIOD, D("0.006"), date(2025, 4, 1))


def _book(key: int, terms: PlanTerms, receipts: dict[int, list[Receipt]] | None = None):
    receipts = receipts or {}
    return PlanBook(
        key,
        terms,
        tuple(
            InstallmentLedger(key * 10 + item.period, item, tuple(receipts.get(item.period, [])))
            for item in build_schedule(terms)
        ),
    )


def _paid(on: date, amount: str, penalty: str = "0") -> Receipt:
    return Receipt(on, Parts(penalty=D(penalty), principal=D(amount)))


def test_outstanding_principal() -> None:
    receipts = {1: [_paid(date(2025, 3, 15), "400.00")], 2: [_paid(date(2025, 4, 2), "100")]}
    a = _book(1, PLAN_A, receipts)
    assert outstanding_principal([a], date(2025, 3, 14)) == D("1200.00")
    assert outstanding_principal([a], date(2025, 3, 15)) == D("800.00")
    assert outstanding_principal([a], date(2025, 4, 2)) == D("700.00")
    assert outstanding_principal([a, _book(2, PLAN_B)], date(2025, 4, 2)) == D("6700.00")
    assert outstanding_principal([], date(2025, 4, 2)) == 0


def test_credit_record_clean_recovered_overdue() -> None:
    clean = _book(1, PLAN_A, {1: [_paid(date(2025, 3, 17), "400.00")]})  # within grace
    record = credit_record([clean], date(2025, 4, 1))
    assert record == CreditRecord(on_time=1, late=0, overdue_installments=0, overdue_days=0)
    assert record.health is Health.CLEAN
    assert record.bucket is None

    # Period 1 paid 5 days late with its penalty (5 × 400 × 0.05 % = 1.00).
    late = _book(1, PLAN_A, {1: [_paid(date(2025, 3, 20), "400.00", penalty="1.00")]})
    record = credit_record([late], date(2025, 4, 1))
    assert (record.on_time, record.late, record.overdue_installments) == (0, 1, 0)
    assert record.health is Health.RECOVERED

    # On 05-17, A2 (due 04-15) is 32 days overdue and A3 (due 05-15) only in grace;
    # B1 (due 04-01, 46 days) and B2 (due 05-01, 16 days) are overdue too.
    record = credit_record([late, _book(2, PLAN_B)], date(2025, 5, 17))
    assert (record.on_time, record.late) == (0, 1)
    assert record.overdue_installments == 3
    assert record.overdue_days == 46  # the oldest delinquency
    assert record.bucket is Bucket.M2
    assert record.health is Health.OVERDUE


def test_credit_record_value_type() -> None:
    assert CreditRecord(0, 0, 0, 0).health is Health.CLEAN
    assert CreditRecord(3, 1, 0, 0).health is Health.RECOVERED
    assert CreditRecord(3, 0, 1, 95).health is Health.OVERDUE
    assert CreditRecord(3, 0, 1, 95).bucket is Bucket.M3_PLUS
    assert CreditRecord(3, 0, 1, 61).bucket is Bucket.M3
    assert credit_record([], date(2025, 1, 1)) == CreditRecord(0, 0, 0, 0)
    assert {h.value for h in Health} == {"clean", "recovered", "overdue"}


# ------------------------------------------------------------ overview


def test_summarize_hand_worked() -> None:
    books = [_book(1, PLAN_A), _book(2, PLAN_B)]
    summary = summarize(books, date(2025, 4, 1))
    # A1 overdue since 03-15: 17 days × 400 × 0.05 % = 3.40 penalty → 403.40.
    # A2 (due 04-15) and B1 (due today) are in the current bill; A3 and B2-B12 are not.
    assert summary == Summary(
        outstanding=D("7635.40"),  # 403.40 + 400 + 400 + 12 × 536
        current_bill=D("1339.40"),  # 403.40 + 400 + 536
        next_due_date=date(2025, 4, 1),
        next_due_amount=D("536.00"),
        overdue_amount=D("403.40"),
        overdue_days=17,
        penalty=D("3.40"),
    )


def test_summarize_after_catching_up() -> None:
    receipts = {1: [_paid(date(2025, 4, 1), "400.00", penalty="3.40")]}
    b1 = Receipt(date(2025, 4, 1), Parts(fee=D("36.00"), principal=D("500.00")))
    books = [_book(1, PLAN_A, receipts), _book(2, PLAN_B, {1: [b1]})]
    summary = summarize(books, date(2025, 4, 2))
    assert summary.overdue_amount == 0
    assert summary.overdue_days == 0
    assert summary.penalty == 0
    # The current periods: A2 (due 04-15) and B2 (started 04-01, due 05-01).
    assert summary.current_bill == D("936.00")
    assert summary.next_due_date == date(2025, 4, 15)
    assert summary.next_due_amount == D("400.00")
    assert summary.outstanding == D("800.00") + 11 * D("536.00")


def test_summarize_sums_plans_due_the_same_day() -> None:
    same_day = PlanTerms(D("300.00"), 1, Method.INTEREST_FREE, D(0), date(2025, 4, 1))
    summary = summarize([_book(2, PLAN_B), _book(3, same_day)], date(2025, 3, 20))
    assert summary.next_due_date == date(2025, 4, 1)
    assert summary.next_due_amount == D("836.00")


def test_summarize_nothing_owed() -> None:
    paid = _book(1, PLAN_A, {k: [_paid(date(2025, 3, 1), "400.00")] for k in (1, 2, 3)})
    summary = summarize([paid], date(2025, 3, 2))
    assert summary == Summary(D(0), D(0), None, D(0), D(0), 0, D(0))
    assert summarize([], date(2025, 3, 2)).next_due_date is None


def test_a_late_payment_with_its_penalty_still_unpaid_is_not_a_clean_record() -> None:
    """Exposes a core bug: the installment was paid 10 days after its due date (past grace,
    ¥2.00 penalty accrued and unpaid). Its status is DUE (only the penalty is owed), so
    credit_record counts it as neither late nor overdue and reports Health.CLEAN
    ("never late"). §3: only payment within grace or tolerance counts as on time."""
    book = _book(1, PlanTerms(D("400.00"), 1, Method.INTEREST_FREE, D(0), date(2025, 3, 15)))
    ledger = dataclasses.replace(book.ledgers[0], receipts=(_paid(date(2025, 3, 25), "400.00"),))
    book = dataclasses.replace(book, ledgers=(ledger,))
    record = credit_record([book], date(2025, 4, 1))
    assert record.on_time == 0
    assert record.late + record.overdue_installments == 1
    assert record.health is not Health.CLEAN
