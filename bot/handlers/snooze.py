"""Snoozing a reminder from its buttons: it comes back once, in an hour, tonight or tomorrow."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.callbacks import decode
from bot.deps import deps
from bot.handlers.common import current_user, stale_button
from bot.sweep_messages import reminder_keyboard
from bot.texts import moment, t
from core.services.snooze import SnoozeChoice, SnoozeStatus, snooze


async def snooze_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A snooze button under a reminder: the reminder is the message the button is on."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    lang, d = user.language, deps(context)
    try:
        choice = SnoozeChoice(decode(query.data).args[0])
    except ValueError:
        choice = None
    if choice is None or query.message is None:
        await stale_button(update, lang)
        return
    async with d.db.uow() as uow:
        result = await snooze(uow, user.telegram_id, query.message.message_id, choice, d.clock())
    when = moment(result.until, lang, user.timezone) if result.until else ""
    if result.status is SnoozeStatus.UNKNOWN:
        await stale_button(update, lang)
    elif result.status is SnoozeStatus.SNOOZED:
        await query.answer(t(lang, "snooze.done", when=when), show_alert=True)
        await query.edit_message_reply_markup(reminder_keyboard(lang, snooze=False))
    else:
        await query.answer(t(lang, f"snooze.{result.status.value}", when=when), show_alert=True)
