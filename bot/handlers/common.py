"""Handlers every chat goes through: private-only guard, who is writing, errors, blocking."""

from __future__ import annotations

import logging
import secrets

from telegram import ChatMember, InlineKeyboardMarkup, MaybeInaccessibleMessage, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, RetryAfter
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.callbacks import Action
from bot.deps import deps
from bot.fit import visible_text
from bot.jobs import retry_after
from bot.texts import t
from bot.update_flow import expect_second_answer
from core.db.faults import is_transient
from core.services.users import UserView, ensure_user, normalize_language, set_active

log = logging.getLogger(__name__)


async def current_user(update: Update, context: ContextTypes.DEFAULT_TYPE) -> UserView:
    """The person writing, registered on first contact."""
    sender = update.effective_user
    assert sender is not None
    d = deps(context)
    async with d.db.uow() as uow:
        return await ensure_user(
            uow,
            sender.id,
            d.clock(),
            language_code=sender.language_code,
            default_language=d.settings.default_language,
            default_timezone=d.settings.default_timezone,
        )


def guess_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    sender = update.effective_user
    code = sender.language_code if sender else None
    return normalize_language(code, deps(context).settings.default_language)


async def refuse_groups(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Financial data stays private: answer politely in groups and channels, then stop."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    lang = guess_language(update, context)
    if update.callback_query:
        await update.callback_query.answer(t(lang, "common.private_only"), show_alert=True)
    elif update.effective_message and chat.type != ChatType.CHANNEL:
        await update.effective_message.reply_text(t(lang, "common.private_only"))
    raise ApplicationHandlerStop


async def track_membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A user who blocks the bot is marked inactive; unblocking makes them active again."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.PRIVATE:
        return
    active = change.new_chat_member.status not in (ChatMember.BANNED, ChatMember.LEFT)
    async with deps(context).db.uow() as uow:
        await set_active(uow, change.from_user.id, active)
    log.info("chat %s active=%s", change.chat.id, active)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the traceback with the update id; tell the user briefly, with a reference.
    The update's later handlers do not run, and its chat state is not written: a failed
    update changes nothing."""
    if isinstance(context.error, RetryAfter):
        # A flood limit on a reply: pause the sweep's sending too, and do not answer with
        # yet another message that would only meet the same limit.
        d = deps(context)
        d.sending.paused_until = d.clock() + retry_after(context.error)
        log.warning("flood limit on a reply: sending paused until %s", d.sending.paused_until)
    else:
        await _apologise(update, context)
    if isinstance(update, Update):
        raise ApplicationHandlerStop


async def _apologise(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    ref = secrets.token_hex(4)
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error %s in update %s", ref, update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    lang = guess_language(update, context)
    try:
        if update.callback_query:
            expect_second_answer()  # the failed handler may have answered it already
            await update.callback_query.answer()
        passing = context.error is not None and is_transient(context.error)
        key = "common.busy" if passing else "common.error"
        await context.bot.send_message(
            update.effective_chat.id, t(lang, key, ref=ref), parse_mode=ParseMode.HTML
        )
    except BadRequest:
        log.warning("could not tell chat %s about error %s", update.effective_chat.id, ref)


async def show(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None, *, edit: bool = True
) -> None:
    """Answer a button press by editing its message (a reminder excepted: see
    ``_is_screen``), or a command by a new message.

    The same screen pressed again is left as it is: Telegram refuses an edit that changes
    nothing ("message is not modified"), which still counts as success if the message
    changed meanwhile.
    """
    query = update.callback_query
    if edit and query is not None and query.message is not None and _is_screen(query.message):
        if _already_shows(query.message, text, markup):
            return
        try:
            await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise
        return
    message = update.effective_message
    assert message is not None
    await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


# How the messages that record something begin — a payment's outcome (✅ ❌), a reminder
# (🔔), a receipt sent later (🧾) — so the texts of every such message start with one.
RECORD_MARKS = ("✅", "❌", "🔔", "🧾")


def _is_screen(message: MaybeInaccessibleMessage) -> bool:
    """Whether a pressed message is a screen to replace, not a record to keep: a payment's
    outcome, a receipt, or a reminder (which keeps its snooze buttons) stays, and what
    its buttons open comes as a new message."""
    if not isinstance(message, Message) or message.reply_markup is None:
        return True
    if (message.text or "").startswith(RECORD_MARKS):
        return False
    snooze = f"{Action.SNOOZE.value}:"
    return not any(
        isinstance(b.callback_data, str) and b.callback_data.startswith(snooze)
        for row in message.reply_markup.inline_keyboard
        for b in row
    )


def _already_shows(
    message: MaybeInaccessibleMessage, text: str, markup: InlineKeyboardMarkup | None
) -> bool:
    """Whether ``message`` (as the press found it) shows ``text`` with ``markup``."""
    if not isinstance(message, Message):
        return False
    same_markup = (message.reply_markup or None) == markup
    return same_markup and message.text == visible_text(text).strip()


async def stale_button(update: Update, lang: str) -> None:
    """A forged, outdated or someone else's button: an alert, and nothing changes."""
    assert update.callback_query is not None
    await update.callback_query.answer(t(lang, "common.stale_button"), show_alert=True)
