"""The JobQueue ticker: every few seconds a sweep runs the auto-debits that are due (and
tells each user the outcome), then claims the reminders due now and sends one message per
user. The database decides what is due; the job only ticks.

A reminder counts as sent only after Telegram accepted it. A blocked user is marked
inactive and gets nothing more; "chat not found" is not retried; a claim whose send
failed for a passing reason (flood limit, timeout) is left to its lease and retried.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import ContextTypes

from bot.callbacks import Action
from bot.deps import deps
from bot.keyboards import button_row
from bot.texts import day, esc, money, t
from core.domain.reminders import ReminderKind
from core.services.autopay_sweep import AutopayReceipt, run_due_autopays
from core.services.reminder_sweep import (
    ReminderBatch,
    ReminderItem,
    claim_due_reminders,
    record_outcome,
)
from core.services.users import set_active

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30


def reminder_text(batch: ReminderBatch) -> str:
    lang = batch.language
    return "\n".join([t(lang, "reminder.title"), *(_line(lang, item) for item in batch.items)])


def _line(lang: str, item: ReminderItem) -> str:
    values = {
        "title": esc(item.plan_title),
        "date": day(item.due_date, lang),
        "amount": money(item.amount),
        "penalty": money(item.penalty),
        "days": item.days_overdue,
        "method": esc(item.method_label) if item.method_label else t(lang, "reminder.no_card"),
    }
    if item.kind is ReminderKind.BEFORE_DUE:
        when = (
            t(lang, "reminder.when.0")
            if item.offset == 0
            else t(lang, "reminder.when.n", days=item.offset)
        )
        return t(lang, "reminder.before_due", when=when, **values)
    line = t(lang, f"reminder.{item.kind.value}", **values)
    if item.kind is ReminderKind.AUTOPAY_NOTICE and item.balance_short:
        line += "\n  " + t(lang, "reminder.autopay_short")
    return line


def reminder_keyboard(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            button_row(t(lang, "button.repay"), Action.MENU_REPAY),
            button_row(t(lang, "button.details"), Action.MENU_PLANS),
        ]
    )


async def sweep(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Run the auto-debits that are due, then claim and send the reminders that are due."""
    d = deps(context)
    async with d.db.uow() as uow:
        receipts = await run_due_autopays(uow, d.clock(), d.settings.autopay_time)
    for receipt in receipts:
        await _tell(context, receipt)
    async with d.db.uow() as uow:
        batches = await claim_due_reminders(uow, d.clock())
    for batch in batches:
        await _send(context, batch)


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


async def _tell(context: ContextTypes.DEFAULT_TYPE, receipt: AutopayReceipt) -> None:
    """The receipt of an auto-debit; the payment is already recorded whatever happens here."""
    try:
        await context.bot.send_message(
            receipt.user_id,
            receipt_text(receipt),
            parse_mode=ParseMode.HTML,
            reply_markup=receipt_keyboard(receipt.language),
        )
    except Forbidden:
        async with deps(context).db.uow() as uow:
            await set_active(uow, receipt.user_id, False)
    except (BadRequest, RetryAfter, NetworkError) as exc:
        log.warning("auto-repay receipt to %s not sent: %s", receipt.user_id, type(exc).__name__)


async def _send(context: ContextTypes.DEFAULT_TYPE, batch: ReminderBatch) -> None:
    d = deps(context)
    failure: str | None = None
    message_id: int | None = None
    try:
        message = await context.bot.send_message(
            batch.user_id,
            reminder_text(batch),
            parse_mode=ParseMode.HTML,
            reply_markup=reminder_keyboard(batch.language),
        )
        message_id = message.message_id
    except Forbidden:
        failure = "blocked"
        async with d.db.uow() as uow:
            await set_active(uow, batch.user_id, False)
    except BadRequest as exc:
        failure = "chat_not_found" if "chat not found" in str(exc).lower() else "bad_request"
        log.warning("reminder to %s refused: %s", batch.user_id, exc)
    except (RetryAfter, NetworkError) as exc:
        # Not recorded: the claim's lease runs out and the next sweep tries again.
        log.warning("reminder to %s not sent yet: %s", batch.user_id, type(exc).__name__)
        return
    async with d.db.uow() as uow:
        await record_outcome(uow, batch.log_ids, d.clock(), message_id=message_id, failure=failure)
