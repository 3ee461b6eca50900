"""Refusals that services raise; each carries a code the bot turns into a message."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class ServiceError(Exception):
    code = "error"


class NotFound(ServiceError):
    """The object does not exist or belongs to someone else (never say which)."""

    code = "not_found"


class InvalidInput(ServiceError):
    code = "invalid_input"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class NoPaymentMethod(ServiceError):
    code = "no_payment_method"


class NoCreditLine(ServiceError):
    """A cash advance needs a credit line with its provider."""

    code = "no_credit_line"


class NothingToPay(ServiceError):
    code = "nothing_to_pay"


class PayoffNotAllowed(ServiceError):
    code = "payoff_not_allowed"

    def __init__(self, reason: str | None) -> None:
        super().__init__(reason or "early payoff is not allowed for this plan")
        self.reason = reason


class Overpayment(ServiceError):
    """More than everything owed; refused before any debit."""

    code = "overpayment"

    def __init__(self, owed: Decimal) -> None:
        super().__init__(f"more than the {owed} owed")
        self.owed = owed


class AbovePayoff(ServiceError):
    """A payment would put on ``plan_id`` at least what paying it off costs today
    (``payoff``): no payment may exceed the payoff, which is offered instead."""

    code = "above_payoff"

    def __init__(self, plan_id: int, payoff: Decimal) -> None:
        super().__init__(f"plan {plan_id}: reaches the payoff of {payoff}")
        self.plan_id = plan_id
        self.payoff = payoff


class MethodRemoved(ServiceError):
    code = "method_removed"


class ProviderUnreachable(ServiceError):
    """The payment provider did not answer; nothing is known to have changed."""


class PaymentInFlight(ServiceError):
    """A payment is with the provider, its outcome not yet known."""


class QuoteClosed(ServiceError):
    """The quote was replaced by a fresher one (expired or stale); confirm that one instead."""

    code = "quote_closed"


class Limit(StrEnum):
    """The per-user limits of ``core.limits`` a service enforces."""

    OPEN_PLANS = "open_plans"
    PAYMENT_METHODS = "payment_methods"
    PLAN_PERIODS = "plan_periods"
    CREDIT_LINES = "credit_lines"


class LimitReached(ServiceError):
    """The account already holds the most ``limit`` allows (``maximum``); nothing changed."""

    code = "limit_reached"

    def __init__(self, limit: Limit, maximum: int) -> None:
        super().__init__(f"{limit.value}: at most {maximum}")
        self.limit = limit
        self.maximum = maximum
