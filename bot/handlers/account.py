"""/faq, /support, /export (a CSV document) and /forget (with confirmation)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.callbacks import Action, decode
from bot.deps import deps
from bot.export_csv import export_document
from bot.handlers.common import current_user, show
from bot.keyboards import choice_keyboard
from bot.texts import esc, t
from core.services.clock import local_date
from core.services.errors import PaymentInFlight
from core.services.forget import forget_user, scrub
from core.services.history import export_rows

DEFAULT_GRACE_DAYS = 3


async def faq(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers to the questions the seed journeys raise."""
    user = await current_user(update, context)
    await show(update, t(user.language, "faq.text", grace=DEFAULT_GRACE_DAYS), edit=False)


async def support(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The operator-configured contact."""
    user = await current_user(update, context)
    contact = deps(context).settings.support_contact
    text = t(user.language, "support.text", contact=esc(contact)) if contact else None
    await show(update, text or t(user.language, "support.none"), edit=False)


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Schedules and payments as one CSV document."""
    user = await current_user(update, context)
    d = deps(context)
    async with d.db.uow() as uow:
        rows = await export_rows(uow, user.telegram_id, d.clock())
    if not rows.schedule and not rows.payments:
        await show(update, t(user.language, "export.none"), edit=False)
        return
    message = update.effective_message
    assert message is not None
    today = local_date(d.clock(), user.timezone)  # the reader's date, not UTC's
    await message.reply_document(
        document=export_document(user.language, rows),
        filename=f"repaybot-{today.isoformat()}.csv",
        caption=t(user.language, "export.caption"),
    )


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask before deleting, saying what goes and what the operator keeps."""
    user = await current_user(update, context)
    lang = user.language
    keep = deps(context).settings.forget_keeps_payment_records
    options = [(t(lang, "button.forget_yes"), "yes"), (t(lang, "button.cancel"), "no")]
    text = t(lang, "forget.ask_keep" if keep else "forget.ask")
    await show(update, text, choice_keyboard(Action.FORGET, options), edit=False)


async def forget_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Delete the user's data (or not), including the bot's saved conversation state."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    await query.answer()
    if decode(query.data).args[0] != "yes":
        await show(update, t(user.language, "common.cancelled"))
        return
    d = deps(context)
    keep = d.settings.forget_keeps_payment_records
    try:
        async with d.db.uow() as uow:
            await forget_user(uow, user.telegram_id, d.clock(), keep_payment_records=keep)
    except PaymentInFlight:
        await show(update, t(user.language, "forget.in_flight"))
        return
    await scrub(d.db)
    context.application.drop_user_data(user.telegram_id)
    await show(update, t(user.language, "forget.done_keep" if keep else "forget.done"))
