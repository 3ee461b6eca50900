"""Whole screens composed from catalog texts: the overview, a quote to confirm, a receipt."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from bot.fit import BUDGET, fit
from bot.keyboards import method_label
from bot.texts import breakdown_text, day, esc, moment, money, near_day, t
from core.domain.credit import CreditLine, Health
from core.services.methods import MethodKind, MethodView
from core.services.overview import Overview
from core.services.payment_receipts import PaymentReceipt
from core.services.payments import Outcome, PaymentOutcome
from core.services.quotes import QuoteView


def status_screen(
    lang: str, view: Overview, *, today: date | None = None, paid_off: Sequence[str] = ()
) -> str:
    """The overview; ``today`` (the user's date) makes near dates "today" and "tomorrow",
    ``paid_off`` are the titles of the plans paid off (marked 已结清 / paid off)."""
    s = view.summary
    lines = [t(lang, "status.title"), t(lang, "status.outstanding", amount=money(s.outstanding))]
    lines.append(t(lang, "status.current_bill", amount=money(s.current_bill)))
    if view.in_flight:
        lines.append(t(lang, "status.in_flight", amount=money(view.in_flight)))
    if s.next_due_date is not None:
        when = (
            day(s.next_due_date, lang) if today is None else near_day(s.next_due_date, today, lang)
        )
        lines.append(t(lang, "status.next_due", date=when, amount=money(s.next_due_amount)))
    else:
        lines.append(t(lang, "status.no_next_due"))
    if s.overdue_amount:
        bucket = view.record.bucket.value if view.record.bucket else ""
        lines.append(
            t(
                lang,
                "status.overdue",
                days=s.overdue_days,
                bucket=bucket,
                amount=money(s.overdue_amount),
                penalty=money(s.penalty),
            )
        )
    # Credit lines and auto-repay plans are lists that grow with the account: the credit
    # lines get at most a third of the message, the auto-repay lines what is left.
    credit = [_credit_line(lang, line) for line in view.credit_lines]
    if credit:
        summary = lambda n: t(lang, "fit.more", count=n)  # noqa: E731
        lines.append(fit([], credit, more=summary, budget=BUDGET // 3))
    if paid_off:  # closed plans pile up over the years: a sixth of the message at most
        done = [t(lang, "status.paid_off", title=esc(title)) for title in paid_off]
        more = lambda n: t(lang, "fit.more", count=n)  # noqa: E731
        lines.append(fit([], done, more=more, budget=BUDGET // 6))
    return fit(
        lines,
        _autopay_lines(lang, view),
        [_health(lang, view)],
        more=lambda n: t(lang, "fit.more_at", count=n, where="/autopay"),
    )


def _credit_line(lang: str, line: CreditLine) -> str:
    if line.frozen:
        return t(lang, "status.credit_frozen", provider=esc(line.provider), used=money(line.used))
    return t(
        lang,
        "status.credit_line",
        provider=esc(line.provider),
        limit=money(line.limit),
        used=money(line.used),
        available=money(line.available),
    )


def _autopay_lines(lang: str, view: Overview) -> list[str]:
    on = [a for a in view.autopay if a.enabled]
    if not on:
        return [t(lang, "status.autopay_none")]
    lines = []
    for a in on:
        if a.method_label is None:
            lines.append(t(lang, "status.autopay_no_method", title=esc(a.title)))
            continue
        method = esc(a.method_label)
        if a.via_default:
            method = t(lang, "autopay.via_default", method=method)
        lines.append(t(lang, "status.autopay_on", title=esc(a.title), method=method))
    return lines


def _health(lang: str, view: Overview) -> str:
    record = view.record
    key = f"status.health.{record.health.value}"
    if record.health is Health.OVERDUE:
        return t(lang, key, days=record.overdue_days)
    return t(lang, key, on_time=record.on_time, late=record.late)


def quote_screen(
    lang: str, quote: QuoteView, method: MethodView, method_text: str, title: str, timezone: str
) -> str:
    kind = quote.request.kind
    what = t(lang, f"repay.what.{kind.value}", title=esc(title))
    parts = quote.breakdown
    breakdown = breakdown_text(lang, parts)
    text = t(
        lang,
        "repay.confirm",
        what=what,
        amount=money(quote.amount),
        breakdown=breakdown,
        method=esc(method_text),
        balance=money(method.balance),
        expires=moment(quote.expires_at, lang, timezone),
    )
    fee = quote.early_fee
    if fee is not None and fee.amount > 0:
        percent = f"{format((fee.rate * 100).normalize(), 'f')}%"
        text += "\n" + t(
            lang, "repay.early_fee", fee=money(fee.amount), percent=percent, base=money(fee.base)
        )
    if method.balance < quote.amount:
        text += "\n" + t(lang, "repay.low_balance")
    return text


def outcome_screen(lang: str, outcome: PaymentOutcome, method_text: str) -> str:
    balance = money(outcome.method_balance or Decimal("0"))
    if outcome.outcome is Outcome.PROCESSING:
        return t(lang, "repay.processing", amount=money(outcome.amount), method=esc(method_text))
    if outcome.outcome is Outcome.SUCCEEDED:
        return t(
            lang,
            "repay.succeeded",
            amount=money(outcome.amount),
            method=esc(method_text),
            balance=balance,
            outstanding=money(outcome.outstanding_after or Decimal("0")),
        )
    return t(
        lang,
        f"repay.failed.{outcome.failure_reason}",
        method=esc(method_text),
        balance=balance,
        amount=money(outcome.amount),
    )


def later_receipt_screen(lang: str, receipt: PaymentReceipt, timezone: str) -> str:
    """A confirm's receipt sent by the sweep, because the confirm's own reply did not show
    it: when it was confirmed, then the outcome as that reply says it."""
    outcome = PaymentOutcome(
        Outcome.SUCCEEDED if receipt.succeeded else Outcome.FAILED,
        receipt.amount,
        receipt.payment_id,
        receipt.failure_reason,
        receipt.balance,
        receipt.outstanding,
    )
    method = MethodView(
        0,
        MethodKind(receipt.method_kind),
        receipt.method_label,
        receipt.method_last4,
        receipt.balance or Decimal("0"),
        is_default=False,
    )
    when = t(lang, "repay.receipt_later", time=moment(receipt.confirmed_at, lang, timezone))
    return f"{when}\n{outcome_screen(lang, outcome, method_label(lang, method))}"
