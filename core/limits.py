"""Per-user limits: what one account may hold, sized so every screen and every reminder
still fits Telegram's limits (4096 characters, 100 buttons) for the largest account.

Services refuse what would pass a limit (``LimitReached``); the chat says so in the
user's language; screens page or summarise against these numbers.
"""

from __future__ import annotations

from core.domain.terms import MAX_PERIODS

MAX_OPEN_PLANS = 20  # plans not yet paid off, per user
MAX_PAYMENT_METHODS = 10  # payment methods not removed, per user
MAX_CREDIT_LINES = 20  # credit lines (额度), per user: one per lender at most
MAX_PLAN_PERIODS = MAX_PERIODS  # installments per plan
MAX_PROVIDER_CHARS = 64
MAX_TITLE_CHARS = 64  # a plan title as typed in /add or imported
MAX_METHOD_LABEL_CHARS = 32
# A first due date typed or imported: no earlier than a plan of the most periods could
# still be running, and no more than a year ahead.
MAX_FIRST_DUE_PAST_DAYS = 31 * MAX_PERIODS
MAX_FIRST_DUE_AHEAD_DAYS = 366

__all__ = [
    "MAX_CREDIT_LINES",
    "MAX_FIRST_DUE_AHEAD_DAYS",
    "MAX_FIRST_DUE_PAST_DAYS",
    "MAX_METHOD_LABEL_CHARS",
    "MAX_OPEN_PLANS",
    "MAX_PAYMENT_METHODS",
    "MAX_PLAN_PERIODS",
    "MAX_PROVIDER_CHARS",
    "MAX_TITLE_CHARS",
]
