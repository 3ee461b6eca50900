"""core.domain.penalty: grace, tolerance, simple daily accrual and the cap."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.ledger import InstallmentLedger, Parts, Receipt
from core.domain.penalty import accrued_penalty, grace_end, penalty_cap, went_late
from core.domain.schedule import ScheduledInstallment
from core.domain.terms import Method, PlanTerms

DUE = date(2025, 3, 15)
ITEM = ScheduledInstallment(
    1, date(2025, 2, 15), DUE, Decimal("400.00"), Decimal("0.00"), Decimal("0.00")
)
# Defaults: grace 3 days, tolerance ¥10, 0.05 %/day, cap 30 % of the installment.
TERMS = PlanTerms(Decimal("400.00"), 1, Method.INTEREST_FREE, Decimal(0), DUE)


def _day(offset: int) -> date:
    """The date ``offset`` days after the due date."""
    return DUE + timedelta(days=offset)


def _ledger(*receipts: tuple[int, Parts], item: ScheduledInstallment = ITEM) -> InstallmentLedger:
    return InstallmentLedger(1, item, tuple(Receipt(_day(o), p) for o, p in receipts))


def _principal(amount: str) -> Parts:
    return Parts(principal=Decimal(amount))


def test_grace_end_and_cap() -> None:
    assert grace_end(_ledger(), TERMS) == date(2025, 3, 18)
    assert grace_end(_ledger(), dataclasses.replace(TERMS, grace_days=0)) == DUE
    assert penalty_cap(_ledger(), TERMS) == Decimal("120.00")
    item = dataclasses.replace(ITEM, principal=Decimal("333.35"))
    assert penalty_cap(_ledger(item=item), TERMS) == Decimal("100.01")  # 100.005 half up


def test_nothing_accrues_within_grace() -> None:
    for offset in range(-5, 4):
        assert accrued_penalty(_ledger(), TERMS, _day(offset)) == 0


def test_after_grace_penalty_counts_from_the_day_after_due() -> None:
    # Day 4 after due: 4 days × ¥400 × 0.05 % = ¥0.80.
    assert accrued_penalty(_ledger(), TERMS, _day(4)) == Decimal("0.80")
    assert accrued_penalty(_ledger(), TERMS, _day(10)) == Decimal("2.00")


def test_zero_grace() -> None:
    terms = dataclasses.replace(TERMS, grace_days=0)
    assert accrued_penalty(_ledger(), terms, DUE) == 0
    assert accrued_penalty(_ledger(), terms, _day(1)) == Decimal("0.20")


def test_paid_within_grace_is_not_late() -> None:
    ledger = _ledger((3, _principal("400.00")))  # the last day of grace
    assert not went_late(ledger, TERMS)
    assert accrued_penalty(ledger, TERMS, _day(30)) == 0


def test_paid_the_day_after_grace_is_late() -> None:
    ledger = _ledger((4, _principal("400.00")))
    assert went_late(ledger, TERMS)
    assert accrued_penalty(ledger, TERMS, _day(4)) == Decimal("0.80")
    assert accrued_penalty(ledger, TERMS, _day(40)) == Decimal("0.80")  # stops once paid


def test_short_by_at_most_the_tolerance_is_on_time() -> None:
    ledger = _ledger((2, _principal("390.00")))  # short by exactly ¥10
    assert not went_late(ledger, TERMS)
    assert accrued_penalty(ledger, TERMS, _day(60)) == 0


def test_short_by_more_than_the_tolerance_is_late() -> None:
    ledger = _ledger((2, _principal("389.99")))  # short by ¥10.01
    assert went_late(ledger, TERMS)
    # Days 1-2 at ¥400, days 3-4 at ¥10.01: (800 + 20.02) × 0.0005 = 0.41001.
    assert accrued_penalty(ledger, TERMS, _day(4)) == Decimal("0.41")


def test_partial_payment_after_grace_reduces_the_base_from_the_next_day() -> None:
    ledger = _ledger((5, _principal("200.00")))
    # Days 1-5 at ¥400, days 6-10 at ¥200: 3000 × 0.0005 = 1.50.
    assert accrued_penalty(ledger, TERMS, _day(10)) == Decimal("1.50")


def test_a_late_remainder_keeps_accruing_however_small() -> None:
    """Tolerance is judged once, when grace ends (SPEC §3): once late, every unpaid fen
    accrues until paid, even a remainder within the tolerance (issue 11 §1)."""
    ledger = _ledger((5, _principal("395.00")))
    # Days 1-5 at ¥400 (1.00), then ¥5 for 195 days (0.4875): 1.4875.
    assert accrued_penalty(ledger, TERMS, _day(5)) == Decimal("1.00")
    assert accrued_penalty(ledger, TERMS, _day(200)) == Decimal("1.49")


def test_the_issue_s_minimal_case() -> None:
    """¥100 due 2026-12-05; ¥90.50 on 12-15 (penalty 0.50, principal 90.00): ¥10.00 left
    accrues 30 days more by 2027-01-14."""
    due = date(2026, 12, 5)
    item = ScheduledInstallment(
        1, date(2026, 11, 5), due, Decimal("100.00"), Decimal("0"), Decimal("0")
    )
    terms = PlanTerms(Decimal("100.00"), 1, Method.INTEREST_FREE, Decimal(0), due)
    paid = Parts(penalty=Decimal("0.50"), principal=Decimal("90.00"))
    ledger = InstallmentLedger(1, item, (Receipt(date(2026, 12, 15), paid),))
    assert accrued_penalty(ledger, terms, date(2027, 1, 14)) == Decimal("0.65")


def test_penalty_is_capped() -> None:
    # ¥0.20 a day; the cap of ¥120 is reached after 600 days.
    assert accrued_penalty(_ledger(), TERMS, _day(599)) == Decimal("119.80")
    assert accrued_penalty(_ledger(), TERMS, _day(600)) == Decimal("120.00")
    assert accrued_penalty(_ledger(), TERMS, _day(900)) == Decimal("120.00")


def test_penalty_accrues_on_fee_and_interest_too() -> None:
    item = dataclasses.replace(ITEM, interest=Decimal("30.00"), fee=Decimal("6.00"))
    # ¥436 × 0.0005 × 4 days = 0.872.
    assert accrued_penalty(_ledger(item=item), TERMS, _day(4)) == Decimal("0.87")


def test_paying_penalties_does_not_reduce_the_base() -> None:
    with_penalty_paid = _ledger((6, Parts(penalty=Decimal("1.20"))))
    assert accrued_penalty(with_penalty_paid, TERMS, _day(10)) == Decimal("2.00")


# ------------------------------------------------------------ properties


def _fen(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda fen: Decimal(fen).scaleb(-2))


@st.composite
def cases(draw: st.DrawFn) -> tuple[InstallmentLedger, PlanTerms]:
    item = dataclasses.replace(
        ITEM,
        principal=draw(_fen(100, 500_000)),
        interest=draw(_fen(0, 20_000)),
        fee=draw(_fen(0, 5_000)),
    )
    terms = dataclasses.replace(
        TERMS,
        grace_days=draw(st.integers(0, 10)),
        tolerance=draw(_fen(0, 2_000)),
        penalty_daily_rate=Decimal(draw(st.integers(0, 50))).scaleb(-4),
        penalty_cap_rate=Decimal(draw(st.integers(0, 100))).scaleb(-2),
    )
    receipt = st.tuples(
        st.integers(-20, 80),
        st.builds(Parts, _fen(0, 500), _fen(0, 2_000), _fen(0, 2_000), _fen(0, 200_000)),
    )
    return _ledger(*draw(st.lists(receipt, max_size=5)), item=item), terms


def _expected(ledger: InstallmentLedger, terms: PlanTerms, on: date) -> Decimal:
    """Day by day, written independently of core.domain.penalty."""
    item = ledger.installment
    total = item.principal + item.interest + item.fee

    def unpaid_at_start(day: date) -> Decimal:
        paid = Decimal(0)
        for r in ledger.receipts:
            if r.on < day:
                paid += r.parts.fee + r.parts.interest + r.parts.principal
        return total - paid

    end_of_grace = item.due_date + timedelta(days=terms.grace_days)
    if on <= end_of_grace or unpaid_at_start(end_of_grace + timedelta(days=1)) <= terms.tolerance:
        return Decimal(0)
    accrued = Decimal(0)
    day = item.due_date + timedelta(days=1)
    while day <= on:
        accrued += max(unpaid_at_start(day), Decimal(0)) * terms.penalty_daily_rate
        day += timedelta(days=1)
    cap = (total * terms.penalty_cap_rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return min(accrued.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), cap)


@settings(max_examples=300, deadline=None)
@given(cases(), st.integers(-10, 150))
def test_penalty_matches_a_day_by_day_sum(
    case: tuple[InstallmentLedger, PlanTerms], offset: int
) -> None:
    ledger, terms = case
    on = _day(offset)
    penalty = accrued_penalty(ledger, terms, on)
    assert penalty == _expected(ledger, terms, on)
    assert 0 <= penalty <= penalty_cap(ledger, terms)
    if offset <= terms.grace_days:
        assert penalty == 0
    if not went_late(ledger, terms):
        assert penalty == 0


@settings(max_examples=200, deadline=None)
@given(cases(), st.lists(st.tuples(st.integers(-20, 100), _fen(1, 10_000)), max_size=4))
def test_penalty_receipts_never_change_the_penalty(
    case: tuple[InstallmentLedger, PlanTerms], penalty_receipts: list[tuple[int, Decimal]]
) -> None:
    ledger, terms = case
    extra = tuple(Receipt(_day(o), Parts(penalty=amount)) for o, amount in penalty_receipts)
    with_penalties = dataclasses.replace(ledger, receipts=ledger.receipts + extra)
    assert went_late(with_penalties, terms) == went_late(ledger, terms)
    for offset in (0, 5, 30, 120):
        assert accrued_penalty(with_penalties, terms, _day(offset)) == accrued_penalty(
            ledger, terms, _day(offset)
        )


@settings(max_examples=150, deadline=None)
@given(cases())
def test_penalty_is_monotone_in_the_date(case: tuple[InstallmentLedger, PlanTerms]) -> None:
    ledger, terms = case
    previous = Decimal(0)
    for offset in range(-3, 100, 3):
        current = accrued_penalty(ledger, terms, _day(offset))
        assert current >= previous
        previous = current


# ------------------------------------------- bounded by receipts, not days (issue 10 §3)


@dataclasses.dataclass(frozen=True)
class _CountingLedger(InstallmentLedger):
    """Counts how often the unpaid base is computed: the penalty's unit of work."""

    looked_up: list[date] = dataclasses.field(default_factory=list)

    def unpaid_base_before(self, day: date) -> Decimal:
        self.looked_up.append(day)
        return super().unpaid_base_before(day)


def test_penalty_work_grows_with_receipts_not_with_days_overdue() -> None:
    receipts = tuple(Receipt(_day(10 * n), _principal("10.00")) for n in range(1, 6))
    for days in (30, 1_860, 100_000):
        ledger = _CountingLedger(1, ITEM, receipts)
        accrued_penalty(ledger, TERMS, _day(days))
        # went_late once, then one stretch per change of the unpaid base and the last one.
        assert len(ledger.looked_up) <= len(receipts) + 2
