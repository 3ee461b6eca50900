"""core.domain.quotes: bill, next period, custom amount and early payoff (foreclosure)."""

from __future__ import annotations

import calendar
import dataclasses
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.allocation import AllocationLine, OverpaymentError
from core.domain.ledger import InstallmentLedger, Parts, PlanBook, Receipt
from core.domain.quotes import (
    Adjustment,
    EarlyFee,
    NothingDue,
    PayoffForbidden,
    Quote,
    QuoteKind,
    ReachesPayoff,
    open_positions,
    quote_bill,
    quote_custom,
    quote_early_payoff,
    quote_next_period,
    total_owed,
)
from core.domain.schedule import build_schedule
from core.domain.terms import Method, PayoffPolicy, PlanTerms

D = Decimal
P = PayoffPolicy


def _book(terms: PlanTerms, key: int = 1, paid: int = 0, base: int = 100) -> PlanBook:
    """A plan whose first ``paid`` periods were paid in full on their due dates."""
    ledgers = []
    for item in build_schedule(terms):
        receipts = ()
        if item.period <= paid:
            parts = Parts(D(0), item.fee, item.interest, item.principal)
            receipts = (Receipt(item.due_date, parts),)
        ledgers.append(InstallmentLedger(base + item.period, item, receipts))
    return PlanBook(key, terms, tuple(ledgers))


# 6000 over 12 at 18 %: 550.08 a month (460.08 + 90.00 first), due on the 15th from Feb.
ANNUITY = PlanTerms(D("6000.00"), 12, Method.ANNUITY, D("0.18"), date(2025, 2, 15))
# 6000 over 12 with a 0.6 % fee: 500.00 + 36.00 a month, due on the 15th from Feb.
FEES = PlanTerms(D("6000.00"), 12, Method.FEE_PER_PERIOD, D("0.006"), date(2025, 2, 15))
# 1200 over 3 interest-free: 400.00 a month, due on the 1st from March.
FREE = PlanTerms(D("1200.00"), 3, Method.INTEREST_FREE, D(0), date(2025, 3, 1))


def _fees(policy: PayoffPolicy, rate: str = "0") -> PlanTerms:
    return dataclasses.replace(FEES, payoff_policy=policy, early_repayment_fee_rate=D(rate))


def test_quote_value_types() -> None:
    line = AllocationLine(1, Parts(D("1.00"), D("2.00"), D("3.00"), D("4.00")))
    quote = Quote(QuoteKind.CUSTOM, (line, line))
    assert quote.breakdown == Parts(D("2.00"), D("4.00"), D("6.00"), D("8.00"))
    assert quote.total == D("20.00")
    assert quote.adjustments == ()
    assert Quote(QuoteKind.BILL, ()).total == 0
    assert Adjustment(3, D("1.00"), D("2.00")).fee == D("2.00")
    assert {k.value for k in QuoteKind} == {"bill", "period", "payoff", "custom"}


def test_payoff_of_an_annuity_pro_rates_the_current_interest() -> None:
    quote = quote_early_payoff(_book(ANNUITY), date(2025, 1, 25))
    # 10 of the 31 days of period 1 have elapsed: 90.00 × 10 / 31 = 29.03.
    assert quote.kind is QuoteKind.PAYOFF
    assert quote.breakdown == Parts(D(0), D(0), D("29.03"), D("6000.00"))
    assert quote.total == D("6029.03")
    assert len(quote.lines) == 12
    assert quote.adjustments[0] == Adjustment(101, D("29.03"), D("0.00"))
    assert all(adj.interest == 0 for adj in quote.adjustments[1:])


def test_payoff_with_an_overdue_installment() -> None:
    quote = quote_early_payoff(_book(ANNUITY), date(2025, 2, 25))
    # Period 1 in full with 10 days of penalty (550.08 × 0.05 % × 10 = 2.75); period 2:
    # 10 of 28 days of 83.10 interest = 29.68; the rest of the principal.
    assert quote.lines[0] == AllocationLine(101, Parts(D("2.75"), D(0), D("90.00"), D("460.08")))
    assert quote.lines[1].parts == Parts(D(0), D(0), D("29.68"), D("466.98"))
    assert quote.total == D("6122.43")
    assert [adj.key for adj in quote.adjustments] == list(range(102, 113))


@pytest.mark.parametrize(
    ("policy", "rate", "fresh", "after_one"),
    [
        # The current period is billed: its 36.00 fee is owed whatever the policy.
        (P.WAIVE_FUTURE_FEES, "0", "6036.00", "5536.00"),
        (P.CHARGE_FUTURE_FEES, "0", "6432.00", "5896.00"),  # + 12 (then 11) × 36.00
        (P.EARLY_REPAYMENT_FEE, "0.01", "6096.00", "5591.00"),  # + 1 % of the principal
    ],
)
def test_payoff_of_a_fee_plan_follows_the_policy(
    policy: PayoffPolicy, rate: str, fresh: str, after_one: str
) -> None:
    terms = _fees(policy, rate)
    assert quote_early_payoff(_book(terms), date(2025, 1, 25)).total == D(fresh)
    quote = quote_early_payoff(_book(terms, paid=1), date(2025, 2, 25))
    assert quote.total == D(after_one)
    assert [line.key for line in quote.lines] == list(range(102, 113))


def test_early_repayment_fee_lands_on_the_first_installment_not_yet_due() -> None:
    quote = quote_early_payoff(
        _book(_fees(P.EARLY_REPAYMENT_FEE, "0.02"), paid=1), date(2025, 3, 1)
    )
    # Period 2 is billed (its 36.00 fee owed) and takes 2 % of the 5500 not yet due.
    assert quote.lines[0].parts == Parts(D(0), D("146.00"), D(0), D("500.00"))
    assert quote.adjustments[0] == Adjustment(102, D(0), D("146.00"))
    assert quote.early_fee == EarlyFee(D("0.02"), D("5500.00"))
    assert all(adj.fee == 0 for adj in quote.adjustments[1:])


def test_payoff_on_a_due_date_charges_that_installment_in_full() -> None:
    quote = quote_early_payoff(_book(_fees(P.WAIVE_FUTURE_FEES)), date(2025, 2, 15))
    assert quote.lines[0].parts == Parts(D(0), D("36.00"), D(0), D("500.00"))
    assert quote.total == D("6036.00")
    assert len(quote.adjustments) == 11


def test_payoff_never_charges_less_interest_than_already_paid() -> None:
    book = _book(ANNUITY)
    ahead = Receipt(date(2025, 1, 20), Parts(interest=D("50.00")))
    first = dataclasses.replace(book.ledgers[0], receipts=(ahead,))
    book = dataclasses.replace(book, ledgers=(first, *book.ledgers[1:]))
    quote = quote_early_payoff(book, date(2025, 1, 25))
    assert quote.adjustments[0].interest == D("50.00")  # not the pro-rated 29.03
    assert quote.lines[0].parts.interest == 0
    assert quote.total == D("6000.00")


def test_payoff_refusals() -> None:
    with pytest.raises(PayoffForbidden):
        quote_early_payoff(_book(_fees(P.FORBIDDEN)), date(2025, 1, 25))
    with pytest.raises(NothingDue):
        quote_early_payoff(_book(FREE, paid=3), date(2025, 6, 1))


def test_bill_across_plans_oldest_first() -> None:
    annuity, free = _book(ANNUITY, key=1, base=100), _book(FREE, key=2, base=200)
    quote = quote_bill([free, annuity], date(2025, 2, 25))
    assert quote.kind is QuoteKind.BILL
    # Annuity period 1 overdue (552.83), free period 1 due 03-01, annuity period 2 due 03-15.
    assert [line.key for line in quote.lines] == [101, 201, 102]
    assert [line.parts.total for line in quote.lines] == [D("552.83"), D("400.00"), D("550.08")]
    assert quote.total == D("1502.91")


def test_next_period_and_custom() -> None:
    annuity, free = _book(ANNUITY, base=100), _book(FREE, key=2, base=200)
    on = date(2025, 2, 25)
    nxt = quote_next_period(annuity, on)
    assert nxt.kind is QuoteKind.PERIOD
    assert nxt.lines == (AllocationLine(101, Parts(D("2.75"), D(0), D("90.00"), D("460.08"))),)
    custom = quote_custom(D("600.00"), [annuity, free], on)
    assert custom.kind is QuoteKind.CUSTOM
    assert custom.lines[1] == AllocationLine(201, Parts(principal=D("47.17")))
    assert custom.total == D("600.00")
    # Custom amounts may pay future periods ahead, but not as far as a plan's payoff
    # (issue 11 §2), and never beyond everything owed.
    everything = sum((p.owed.total for p in open_positions([annuity, free], on)), D(0))
    with pytest.raises(ReachesPayoff) as reached:
        quote_custom(everything, [annuity, free], on)
    assert reached.value.plan_key == 1
    assert reached.value.payoff == quote_early_payoff(annuity, on).total
    with pytest.raises(OverpaymentError):
        quote_custom(everything + D("0.01"), [annuity, free], on)


def test_next_period_skips_paid_installments() -> None:
    quote = quote_next_period(_book(FREE, paid=1), date(2025, 3, 5))
    assert quote.lines == (AllocationLine(102, Parts(principal=D("400.00"))),)


def test_nothing_due() -> None:
    before = date(2025, 1, 10)  # both plans' first periods have not started
    with pytest.raises(NothingDue):
        quote_bill([_book(ANNUITY), _book(FREE, base=200)], before)
    paid_off = _book(FREE, paid=3)
    for call in (
        lambda: quote_next_period(paid_off, date(2025, 6, 1)),
        lambda: quote_custom(D("1.00"), [paid_off], date(2025, 6, 1)),
        lambda: quote_bill([paid_off], date(2025, 6, 1)),
    ):
        with pytest.raises(NothingDue):
            call()


def test_open_positions_are_sorted_and_exclude_paid() -> None:
    positions = open_positions([_book(FREE, paid=1, base=200), _book(ANNUITY)], date(2025, 3, 5))
    keys = [p.ledger.key for p in positions]
    assert 201 not in keys
    assert keys[:3] == [101, 102, 202]
    dues = [p.ledger.installment.due_date for p in positions]
    assert dues == sorted(dues)
    assert len(keys) == 12 + 2


def test_total_owed() -> None:
    annuity, free = _book(ANNUITY, base=100), _book(FREE, key=2, base=200)
    on = date(2025, 2, 25)
    # Annuity: 12 × 550.08 − 0.01 (last period 550.07) + 2.75 penalty; free: 1200.00.
    assert total_owed([annuity], on) == D("6603.70")
    assert total_owed([annuity, free], on) == D("7803.70")
    assert total_owed([_book(FREE, paid=3)], date(2025, 6, 1)) == 0
    assert total_owed([], on) == 0


# ------------------------------------------------------------ property


@st.composite
def payoff_cases(draw: st.DrawFn) -> tuple[PlanTerms, int, int]:
    method = draw(st.sampled_from(list(Method)))
    periods = draw(st.integers(1, 36))
    principal = D(draw(st.integers(100 * periods, 100_000_000))).scaleb(-2)
    rate = {
        Method.FEE_PER_PERIOD: D(draw(st.integers(0, 300))).scaleb(-4),
        Method.INTEREST_FREE: D(0),
    }.get(method, D(draw(st.integers(0, 3600))).scaleb(-4))
    first_due = draw(st.dates(date(2020, 1, 1), date(2040, 12, 31)))
    last = calendar.monthrange(first_due.year, first_due.month)[1]
    policy = draw(
        st.sampled_from([P.WAIVE_FUTURE_FEES, P.CHARGE_FUTURE_FEES, P.EARLY_REPAYMENT_FEE])
    )
    terms = PlanTerms(
        principal,
        periods,
        method,
        rate,
        first_due,
        repayment_day=draw(st.sampled_from([0, 31])) if first_due.day == last else 0,
        payoff_policy=policy,
        early_repayment_fee_rate=D(draw(st.integers(0, 500))).scaleb(-4),
    )
    k = draw(st.integers(0, periods - 1))
    elapsed = draw(st.integers(1, 27))  # every month has at least 28 days
    return terms, k, elapsed


@settings(max_examples=200, deadline=None)
@given(payoff_cases())
def test_payoff_after_k_periods(case: tuple[PlanTerms, int, int]) -> None:
    terms, k, elapsed = case
    schedule = build_schedule(terms)
    current = schedule[k]
    on = current.start_date + timedelta(days=elapsed)
    assert current.start_date < on < current.due_date
    remaining = schedule[k:]
    principal = sum((item.principal for item in remaining), D(0))
    length = (current.due_date - current.start_date).days
    interest = (current.interest * elapsed / length).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    # The current period is billed: its fee is owed; later ones follow the policy.
    if terms.payoff_policy is P.CHARGE_FUTURE_FEES:
        fee = sum((item.fee for item in remaining), D(0))
    elif terms.payoff_policy is P.EARLY_REPAYMENT_FEE:
        early = (terms.early_repayment_fee_rate * principal).quantize(D("0.01"), ROUND_HALF_UP)
        fee = current.fee + early
    else:
        fee = current.fee
    # Never cheaper than the bill it contains (the current period): the unearned part
    # of its interest is charged as far as the bill needs.
    interest += max(D(0), current.total - (principal + interest + fee))

    quote = quote_early_payoff(_book(terms, paid=k), on)
    assert quote.breakdown == Parts(D(0), fee, interest, principal)
    assert quote.total == principal + interest + fee
    assert [line.key for line in quote.lines] == [100 + item.period for item in remaining]
    assert [adj.key for adj in quote.adjustments] == [100 + item.period for item in remaining]
    assert quote.adjustments[0].interest == interest
    assert all(adj.interest == 0 for adj in quote.adjustments[1:])
