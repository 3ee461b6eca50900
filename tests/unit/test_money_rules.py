"""The money rules a lender would sign (SPEC §3, issue 11), one property each, over random
plans and random sequences of payments made through the quotes a user can choose."""

from __future__ import annotations

import calendar
import dataclasses
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.apr import annualized_rate
from core.domain.ledger import InstallmentLedger, PlanBook, Receipt
from core.domain.penalty import accrued_penalty, grace_end, penalty_cap
from core.domain.quotes import (
    NothingDue,
    PayoffForbidden,
    Quote,
    QuoteKind,
    ReachesPayoff,
    payoff_amount,
    quote_bill,
    quote_custom,
    quote_early_payoff,
    quote_next_period,
)
from core.domain.schedule import build_schedule
from core.domain.status import InstallmentStatus, position
from core.domain.terms import (
    MAX_FIRST_PERIOD_DAYS,
    MIN_FIRST_PERIOD_DAYS,
    Method,
    PayoffPolicy,
    PlanTerms,
    TermsError,
    validate_new_terms,
)

D = Decimal
CENT = D("0.01")


def _fen(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda n: D(n).scaleb(-2))


@st.composite
def plans(draw: st.DrawFn) -> PlanTerms:
    method = draw(st.sampled_from(list(Method)))
    periods = draw(st.integers(1, 18))
    rate = {
        Method.FEE_PER_PERIOD: D(draw(st.integers(0, 300))).scaleb(-4),
        Method.INTEREST_FREE: D(0),
    }.get(method, D(draw(st.integers(0, 3600))).scaleb(-4))
    first_due = draw(st.dates(date(2025, 1, 1), date(2028, 12, 31)))
    days = draw(st.integers(MIN_FIRST_PERIOD_DAYS, MAX_FIRST_PERIOD_DAYS))
    start = draw(st.sampled_from([None, first_due - timedelta(days=days)]))
    return validate_new_terms(
        PlanTerms(
            draw(st.integers(100 * periods, 5_000_000).map(lambda n: D(n).scaleb(-2))),
            periods,
            method,
            rate,
            first_due,
            start_date=start,
            grace_days=draw(st.integers(0, 10)),
            tolerance=draw(_fen(0, 2_000)),
            penalty_daily_rate=D(draw(st.integers(1, 50))).scaleb(-4),
            penalty_cap_rate=D(draw(st.integers(1, 100))).scaleb(-2),
            payoff_policy=draw(st.sampled_from(list(PayoffPolicy))),
            early_repayment_fee_rate=D(draw(st.integers(0, 500))).scaleb(-4),
        )
    )


def _fresh(terms: PlanTerms) -> PlanBook:
    return PlanBook(
        1, terms, tuple(InstallmentLedger(item.period, item) for item in build_schedule(terms))
    )


def _apply(book: PlanBook, quote: Quote, on: date) -> PlanBook:
    """What a succeeded payment of ``quote`` on ``on`` leaves, as core/services/payments
    writes it: the payoff's adjustments, then one receipt per allocation line."""
    adjusted = {adj.key: adj for adj in quote.adjustments}
    paid = {line.key: line.parts for line in quote.lines}
    ledgers = []
    for ledger in book.ledgers:
        item = ledger.installment
        if ledger.key in adjusted:
            adj = adjusted[ledger.key]
            item = dataclasses.replace(item, interest=adj.interest, fee=adj.fee)
        receipts = ledger.receipts
        if ledger.key in paid:
            receipts = (*receipts, Receipt(on, paid[ledger.key]))
        ledgers.append(InstallmentLedger(ledger.key, item, receipts))
    return dataclasses.replace(book, ledgers=tuple(ledgers))


@st.composite
def histories(draw: st.DrawFn) -> tuple[PlanBook, list[tuple[date, QuoteKind, Quote]]]:
    """A plan and the payments made on it: on random days, the bill, the next period, a
    custom amount or the payoff, each only if the domain accepts it that day."""
    terms = draw(plans())
    book = _fresh(terms)
    span = (book.ledgers[-1].installment.due_date - terms.disbursed_on).days + 120
    days = sorted(draw(st.lists(st.integers(1, span), max_size=6)))
    made: list[tuple[date, QuoteKind, Quote]] = []
    for offset in days:
        on = terms.disbursed_on + timedelta(days=offset)
        kind = draw(st.sampled_from(list(QuoteKind)))
        try:
            if kind is QuoteKind.BILL:
                quote = quote_bill([book], on)
            elif kind is QuoteKind.PERIOD:
                quote = quote_next_period(book, on)
            elif kind is QuoteKind.PAYOFF:
                quote = quote_early_payoff(book, on)
            else:
                amount = draw(_fen(1, 6_000_000))
                choice = draw(st.integers(0, 3))
                if choice in (1, 2):
                    # The next period less a little: a remainder of at least ¥1 and
                    # within the tolerance, or anything up to ¥30.
                    most = max(100, int(terms.tolerance * 100))
                    short = draw(st.one_of(_fen(100, most), _fen(0, 3_000)))
                    amount = quote_next_period(book, on).total - short
                elif choice == 3 and (payoff := payoff_amount(book, on)) is not None:
                    # Around the payoff: at it, or a little above.
                    amount = payoff + draw(_fen(0, 50_000))
                quote = quote_custom(amount, [book], on)
        except (NothingDue, PayoffForbidden, ReachesPayoff, ValueError):
            continue
        made.append((on, kind, quote))
        book = _apply(book, quote, on)
    return book, made


def _replay(book: PlanBook, made: list[tuple[date, QuoteKind, Quote]]) -> list[PlanBook]:
    """The book as it stood before each payment."""
    current, before = _fresh(book.terms), []
    for on, _, quote in made:
        before.append(current)
        current = _apply(current, quote, on)
    return before


# ---------------------------------------------- §1 tolerance once; late ⇔ accruing


@settings(max_examples=400, deadline=None)
@given(histories(), st.integers(0, 500))
def test_tolerance_is_judged_once_and_late_means_accruing(
    history: tuple[PlanBook, list[tuple[date, QuoteKind, Quote]]], offset: int
) -> None:
    book, _ = history
    terms = book.terms
    random_day = terms.disbursed_on + timedelta(days=offset)
    for ledger in book.ledgers:
        end = grace_end(ledger, terms)
        late_at_end = ledger.unpaid_base_before(end + timedelta(days=1)) > terms.tolerance
        # Checked on a random day and on every day a payment left something unpaid.
        for on in (random_day, *(r.on for r in ledger.receipts)):
            late = on > end and late_at_end
            pos = position(ledger, terms, on)
            if ledger.unpaid_base_before(on + timedelta(days=1)) > 0:
                # Overdue exactly when more than the tolerance was unpaid as grace ended.
                assert (pos.status is InstallmentStatus.OVERDUE) == late
            later = on + timedelta(days=400)
            now, then = accrued_penalty(ledger, terms, on), accrued_penalty(ledger, terms, later)
            if not late_at_end:
                # On time: never any penalty, however long a remainder stays unpaid.
                assert then == 0
            elif (
                on > end
                and ledger.unpaid_base_before(later + timedelta(days=1)) >= 1
                and then < penalty_cap(ledger, terms)
            ):
                # Late: whatever is unpaid accrues until paid, even within the tolerance.
                assert then > now


# ---------------------------------------------- §2 no payment above that day's payoff


@settings(max_examples=200, deadline=None)
@given(histories())
def test_every_accepted_payment_is_at_most_the_payoff_of_that_day(
    history: tuple[PlanBook, list[tuple[date, QuoteKind, Quote]]],
) -> None:
    book, made = history
    for before, (on, kind, quote) in zip(_replay(book, made), made, strict=True):
        payoff = payoff_amount(before, on)
        if payoff is None:  # payoff forbidden: capped by everything owed (allocation)
            continue
        assert quote.total <= payoff
        if kind is QuoteKind.CUSTOM:
            assert quote.total < payoff  # reaching it offers the payoff instead


# ---------------------------------------------- §3 a payoff is never cheaper than its bill


@settings(max_examples=200, deadline=None)
@given(histories(), st.integers(0, 700))
def test_a_payoff_is_never_cheaper_than_the_bill_it_contains(
    history: tuple[PlanBook, list[tuple[date, QuoteKind, Quote]]], offset: int
) -> None:
    book, _ = history
    on = book.terms.disbursed_on + timedelta(days=offset)
    try:
        payoff = quote_early_payoff(book, on)
        bill = quote_bill([book], on)
    except (NothingDue, PayoffForbidden):
        return
    assert payoff.total >= bill.total
    # Only fees of periods not yet billed are waived, charged or replaced.
    billed = {line.key for line in bill.lines}
    owed_fee = {line.key: line.parts.fee for line in bill.lines}
    for line in payoff.lines:
        if line.key in billed:
            assert line.parts.fee >= owed_fee[line.key]


# ---------------------------------------------- §4 interest by days; APR of real dates


def _months(start: date, end: date) -> Decimal:
    """Months of the repayment calendar from ``start`` to ``end``, counted otherwise than
    core.domain.dates: walk back a month at a time from ``end`` with calendar.monthrange,
    then the days left over the days of the month they fall in."""
    months, anchor = 0, end
    while True:
        year, month = (anchor.year, anchor.month - 1) if anchor.month > 1 else (anchor.year - 1, 12)
        back = date(year, month, min(end.day, calendar.monthrange(year, month)[1]))
        if back < start:
            return months + D((anchor - start).days) / D((anchor - back).days)
        months, anchor = months + 1, back


def _irr_by_bisection(principal: Decimal, flows: list[tuple[Decimal, Decimal]]) -> Decimal:
    """The monthly rate r with Σ amount·(1+r)^-t = principal, by bisection."""
    with localcontext() as ctx:
        ctx.prec = 40
        low, high = D(0), D(10)

        def value(rate: Decimal) -> Decimal:
            return sum((amount * (1 + rate) ** -t for t, amount in flows), D(0))

        if value(low) <= principal:
            return D(0)
        for _ in range(120):
            middle = (low + high) / 2
            low, high = (middle, high) if value(middle) > principal else (low, middle)
        return (low + high) / 2


@settings(max_examples=150, deadline=None)
@given(plans())
def test_interest_is_by_days_and_the_rate_is_the_irr_of_the_real_dates(
    terms: PlanTerms,
) -> None:
    schedule = build_schedule(terms)
    first = schedule[0]
    months = _months(terms.disbursed_on, first.due_date)
    if terms.method in (Method.ANNUITY, Method.EQUAL_PRINCIPAL):
        # One month's interest on the principal × the months the first period lasts.
        exact = terms.principal * terms.rate / 12 * months
        assert first.interest == exact.quantize(CENT, rounding=ROUND_HALF_UP)
    else:
        assert all(item.interest == 0 for item in schedule)
    flows = [(months + k, item.total) for k, item in enumerate(schedule)]
    expected = (_irr_by_bisection(terms.principal, flows) * 12).quantize(D("0.0001"))
    assert abs(annualized_rate(terms.principal, schedule) - expected) <= D("0.0001")


def test_a_one_day_first_period_is_refused_and_a_short_one_charged_for_its_days() -> None:
    """The issue's case: ¥10,000 at 24 % from one day before the first due date."""
    due = date(2026, 12, 15)
    terms = PlanTerms(D("10000.00"), 12, Method.ANNUITY, D("0.24"), due, start_date=due)
    for start in (due - timedelta(days=1), due - timedelta(days=MAX_FIRST_PERIOD_DAYS + 1)):
        with pytest.raises(TermsError, match="first period must be"):
            validate_new_terms(dataclasses.replace(terms, start_date=start))
    short = dataclasses.replace(terms, start_date=due - timedelta(days=15))
    schedule = build_schedule(validate_new_terms(short))
    assert schedule[0].interest == D("100.00")  # 15 of November's 30 days of ¥200
    # Half a month of simple interest against monthly compounding: a hair above 24 %.
    assert annualized_rate(short.principal, schedule) == D("0.2401")
