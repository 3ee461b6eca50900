"""The terms of an installment plan and their validation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from core.domain.dates import add_months
from core.money import MAX_AMOUNT


class Method(StrEnum):
    """How a plan's principal, interest and fees are spread over its periods."""

    FEE_PER_PERIOD = "fee_per_period"  # interest-free, fixed fee per period (Xiaomi/JD style)
    ANNUITY = "annuity"  # 等额本息
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    INTEREST_FREE = "interest_free"  # rate 0


class PlanKind(StrEnum):
    PURCHASE = "purchase"
    CASH_ADVANCE = "cash_advance"  # 备用金


class PayoffPolicy(StrEnum):
    """What an early payoff does with the fees of periods not yet due."""

    WAIVE_FUTURE_FEES = "waive_future_fees"
    CHARGE_FUTURE_FEES = "charge_future_fees"
    EARLY_REPAYMENT_FEE = "early_repayment_fee"  # future fees waived, a fee on remaining principal
    FORBIDDEN = "forbidden"


MAX_PERIODS = 60
RATE_PLACES = 8  # rates are kept exactly, to at most this many decimal places
MAX_APR = Decimal("0.36")  # the upper bound Chinese courts protect; anything above is refused
# The line Chinese regulators draw for consumer credit: a plan whose annualized rate (IRR)
# is above it is flagged as high-cost wherever its rate is shown before it is added.
HIGH_COST_APR = Decimal("0.24")
MAX_FEE_RATE = Decimal("0.03")  # per period
MAX_GRACE_DAYS = 30
# How long a new plan's first period (disbursement to first due date) may be. Interest
# is charged by days whatever the length; these bound what a lender would write: a first
# due date at least 10 days after the money arrives, and at most about two months.
MIN_FIRST_PERIOD_DAYS = 10
MAX_FIRST_PERIOD_DAYS = 62


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """Everything the schedule, penalty and payoff rules need to know about a plan.

    ``rate`` is the annual rate (APR) for ``annuity`` and ``equal_principal`` and
    the per-period fee rate for ``fee_per_period``; it must be 0 for ``interest_free``.
    """

    principal: Decimal
    periods: int
    method: Method
    rate: Decimal
    first_due: date
    repayment_day: int = 0  # 0: the day of ``first_due``
    start_date: date | None = None  # disbursement; default one month before ``first_due``
    grace_days: int = 3
    tolerance: Decimal = Decimal("10.00")
    penalty_daily_rate: Decimal = Decimal("0.0005")
    penalty_cap_rate: Decimal = Decimal("0.30")  # of an installment's amount
    payoff_policy: PayoffPolicy = PayoffPolicy.WAIVE_FUTURE_FEES
    early_repayment_fee_rate: Decimal = Decimal("0")

    @property
    def day(self) -> int:
        return self.repayment_day or self.first_due.day

    @property
    def disbursed_on(self) -> date:
        return self.start_date or add_months(self.first_due, -1)


class TermsProblem(StrEnum):
    PRINCIPAL = "principal"
    PERIODS = "periods"
    RATE = "rate"
    REPAYMENT_DAY = "repayment_day"
    START_DATE = "start_date"
    GRACE = "grace_days"
    TOLERANCE = "tolerance"
    PENALTY = "penalty"
    EARLY_FEE = "early_repayment_fee_rate"


class TermsError(ValueError):
    def __init__(self, problem: TermsProblem, detail: str) -> None:
        super().__init__(f"{problem.value}: {detail}")
        self.problem = problem
        self.detail = detail


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


class RateProblem(StrEnum):
    """Why a plan's rate is refused, whatever the rest of the terms."""

    NEGATIVE = "negative"
    NOT_ZERO = "not_zero"  # an interest-free plan
    ABOVE_MAX_FEE = "above_max_fee"
    ABOVE_MAX_APR = "above_max_apr"
    TOO_MANY_PLACES = "too_many_places"


_RATE_DETAILS = {
    RateProblem.NEGATIVE: "rate must be zero or positive",
    RateProblem.NOT_ZERO: "an interest-free plan has rate 0",
    RateProblem.ABOVE_MAX_FEE: f"fee rate per period above {MAX_FEE_RATE}",
    RateProblem.ABOVE_MAX_APR: f"annual rate above {MAX_APR}",
    RateProblem.TOO_MANY_PLACES: f"a rate has more than {RATE_PLACES} decimal places",
}


def rate_problem(method: Method, rate: Decimal) -> RateProblem | None:
    """What is wrong with ``rate`` for a plan repaid by ``method``, if anything; asked at
    the step where a rate is typed and again when the whole terms are validated."""
    if not rate.is_finite() or rate < 0:
        return RateProblem.NEGATIVE
    if method is Method.INTEREST_FREE and rate != 0:
        return RateProblem.NOT_ZERO
    if method is Method.FEE_PER_PERIOD and rate > MAX_FEE_RATE:
        return RateProblem.ABOVE_MAX_FEE
    if method in (Method.ANNUITY, Method.EQUAL_PRINCIPAL) and rate > MAX_APR:
        return RateProblem.ABOVE_MAX_APR
    if _places(rate) > RATE_PLACES:
        return RateProblem.TOO_MANY_PLACES
    return None


def most_periods(principal: Decimal) -> int:
    """The most periods a principal can be spread over: at least ¥1 of it per period."""
    return max(0, min(MAX_PERIODS, int(principal)))


def validate_terms(terms: PlanTerms) -> PlanTerms:
    """Refuse terms no lender would offer or that the schedule cannot represent."""
    if not 1 <= terms.periods <= MAX_PERIODS:
        raise TermsError(TermsProblem.PERIODS, f"periods must be 1..{MAX_PERIODS}")
    if terms.principal != terms.principal.quantize(Decimal("0.01")) or terms.principal <= 0:
        raise TermsError(TermsProblem.PRINCIPAL, "principal must be positive, in fen")
    if terms.principal > MAX_AMOUNT:
        raise TermsError(TermsProblem.PRINCIPAL, "principal over the maximum")
    if terms.periods > most_periods(terms.principal):
        raise TermsError(TermsProblem.PRINCIPAL, "principal must be at least ¥1 per period")
    problem = rate_problem(terms.method, terms.rate)
    if problem is not None:
        raise TermsError(TermsProblem.RATE, _RATE_DETAILS[problem])
    rates = (terms.penalty_daily_rate, terms.penalty_cap_rate, terms.early_repayment_fee_rate)
    if any(_places(rate) > RATE_PLACES for rate in rates):
        raise TermsError(TermsProblem.RATE, f"a rate has more than {RATE_PLACES} decimal places")
    if not 0 <= terms.repayment_day <= 31:
        raise TermsError(TermsProblem.REPAYMENT_DAY, "repayment day must be 1..31")
    if add_months(terms.first_due, 0, terms.day) != terms.first_due:
        # first_due is the first due date: a repayment day may differ from its day only
        # when it falls back to the month's end (day 31 in a 30-day month).
        raise TermsError(TermsProblem.REPAYMENT_DAY, "first due date is not on the repayment day")
    if terms.disbursed_on >= terms.first_due:
        raise TermsError(TermsProblem.START_DATE, "the plan must start before its first due date")
    if not 0 <= terms.grace_days <= MAX_GRACE_DAYS:
        raise TermsError(TermsProblem.GRACE, f"grace days must be 0..{MAX_GRACE_DAYS}")
    if terms.tolerance < 0:
        raise TermsError(TermsProblem.TOLERANCE, "tolerance must not be negative")
    if terms.penalty_daily_rate < 0 or terms.penalty_cap_rate < 0:
        raise TermsError(TermsProblem.PENALTY, "penalty rates must not be negative")
    if terms.early_repayment_fee_rate < 0:
        raise TermsError(TermsProblem.EARLY_FEE, "early repayment fee must not be negative")
    return terms


def validate_new_terms(terms: PlanTerms) -> PlanTerms:
    """``validate_terms``, and the bounds only a new plan must meet: the length of its
    first period. Plans already stored are read as they were written."""
    validate_terms(terms)
    days = (terms.first_due - terms.disbursed_on).days
    if not MIN_FIRST_PERIOD_DAYS <= days <= MAX_FIRST_PERIOD_DAYS:
        raise TermsError(
            TermsProblem.START_DATE,
            f"the first period must be {MIN_FIRST_PERIOD_DAYS} to {MAX_FIRST_PERIOD_DAYS}"
            f" days long (it is {days})",
        )
    return terms
