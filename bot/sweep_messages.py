"""What a sweep's message says and which buttons it carries: the reminders due for one
user (what does not fit is summarised), an auto-repay receipt, and the receipt of a
confirmed payment the chat could not show."""

from __future__ import annotations

from decimal import Decimal

from telegram import InlineKeyboardMarkup

from bot.callbacks import Action
from bot.fit import fit
from bot.keyboards import button, button_row
from bot.screens import later_receipt_screen
from bot.texts import day, esc, money, t
from core.domain.reminders import ReminderKind
from core.services.autopay_sweep import AutopayReceipt
from core.services.payment_receipts import PaymentReceipt
from core.services.reminder_items import ReminderItem
from core.services.reminder_sweep import ReminderBatch
from core.services.snooze import SnoozeChoice


def reminder_text(batch: ReminderBatch) -> str:
    """Everything due in one message; what does not fit is counted and totalled in a last
    line that points to /status, so nothing is refused and nothing is lost."""
    lang, items = batch.language, batch.items

    def more(count: int) -> str:
        # An installment can be in a batch twice (its auto-repay notice and its reminder):
        # the total counts what is owed on each once; the amount includes its penalty.
        owed = {item.installment_id: item.amount for item in items[len(items) - count :]}
        amount = sum(owed.values(), Decimal("0"))
        return t(lang, "reminder.more", count=count, amount=money(amount))

    lines = [_line(lang, item) for item in items]
    return fit([t(lang, "reminder.title")], lines, more=more)


def _line(lang: str, item: ReminderItem) -> str:
    values = {
        "title": esc(item.plan_title),
        "date": day(item.due_date, lang),
        "amount": money(item.amount),
        "penalty": money(item.penalty),
        "days": item.days_overdue,
        "method": esc(item.method_label) if item.method_label else t(lang, "reminder.no_card"),
        "count": item.count,
    }
    mark = t(lang, "reminder.snoozed") if item.snoozed else ""
    if item.kind is ReminderKind.BEFORE_DUE:
        if item.offset < 0:
            return mark + t(lang, "reminder.in_grace", **values)
        when = (
            t(lang, "reminder.when.0")
            if item.offset == 0
            else t(lang, "reminder.when.n", days=item.offset)
        )
        return mark + t(lang, "reminder.before_due", when=when, **values)
    if item.kind is ReminderKind.OVERDUE and item.count > 1:  # a plan late on several
        return mark + t(lang, "reminder.overdue_plan", **values)
    line = mark + t(lang, f"reminder.{item.kind.value}", **values)
    if item.kind is ReminderKind.AUTOPAY_NOTICE and item.balance_short:
        line += "\n  " + t(lang, "reminder.autopay_short")
    return line


def reminder_keyboard(lang: str, *, snooze: bool = True) -> InlineKeyboardMarkup:
    """Repay now, details and, until it has been used, a row of snooze choices."""
    rows = [
        button_row(t(lang, "button.repay"), Action.MENU_REPAY),
        button_row(t(lang, "button.details"), Action.MENU_PLANS),
        button_row(t(lang, "button.paid_elsewhere"), Action.ELSEWHERE_PICK),
    ]
    if snooze:
        rows.append(
            [
                button(t(lang, f"button.snooze.{choice.value}"), Action.SNOOZE, choice.value)
                for choice in SnoozeChoice
            ]
        )
    return InlineKeyboardMarkup(rows)


def receipt_text(receipt: AutopayReceipt) -> str:
    lang = receipt.language
    values = {
        "title": esc(receipt.plan_title),
        "amount": money(receipt.amount),
        "method": esc(receipt.method_label or ""),
        "balance": money(receipt.balance or Decimal("0")),
        "outstanding": money(receipt.outstanding),
    }
    if receipt.succeeded:
        return t(lang, "autopay.receipt.ok", **values)
    reason = t(lang, f"history.reason.{receipt.failure_reason}")
    follow = t(lang, "autopay.next.last" if receipt.last_attempt else "autopay.next.retry")
    return t(lang, "autopay.receipt.failed", reason=reason, next=follow, **values)


def receipt_keyboard(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            button_row(t(lang, "button.repay"), Action.MENU_REPAY),
            button_row(t(lang, "button.change_card"), Action.AUTOPAY),
            button_row(t(lang, "button.top_up"), Action.CARDS),
        ]
    )


def message_text(batch: ReminderBatch) -> str:
    if isinstance(batch.receipt, PaymentReceipt):
        return later_receipt_screen(batch.language, batch.receipt, batch.timezone)
    return reminder_text(batch) if batch.receipt is None else receipt_text(batch.receipt)


def message_markup(batch: ReminderBatch) -> InlineKeyboardMarkup:
    if isinstance(batch.receipt, PaymentReceipt):  # what to do next, as after a reminder
        return reminder_keyboard(batch.language, snooze=False)
    if batch.receipt is None:
        return reminder_keyboard(batch.language)
    return receipt_keyboard(batch.language)
