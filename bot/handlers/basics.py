"""/start, /help, /lang, /cancel and messages the bot does not understand."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.calendar_screen import add_first_keyboard
from bot.callbacks import decode
from bot.deps import deps
from bot.handlers import awaiting
from bot.handlers.common import current_user, show
from bot.keyboards import language_keyboard
from bot.texts import esc, t
from core.services.users import has_plans, set_language


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Register the user and greet them."""
    user = await current_user(update, context)
    name = update.effective_user.first_name if update.effective_user else ""
    async with deps(context).db.uow() as uow:
        new = not await has_plans(uow, user.telegram_id)
    markup = add_first_keyboard(user.language) if new else None
    await show(update, t(user.language, "start.welcome", name=esc(name)), markup, edit=False)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the commands."""
    user = await current_user(update, context)
    await show(update, t(user.language, "help.text"), edit=False)


async def language_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer the two languages."""
    user = await current_user(update, context)
    await show(update, t(user.language, "lang.choose"), language_keyboard(), edit=False)


async def language_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Switch the user's language."""
    query = update.callback_query
    assert query is not None
    await current_user(update, context)
    language = decode(query.data).args[0]
    await query.answer()
    async with deps(context).db.uow() as uow:
        user = await set_language(uow, query.from_user.id, language)
    await show(update, t(user.language, "lang.set"))


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Leave whatever conversation is in progress."""
    user = await current_user(update, context)
    had = awaiting.done(context)
    key = "common.cancelled" if had else "common.nothing_to_cancel"
    await show(update, t(user.language, key), edit=False)


async def unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command or text the bot has no handler for."""
    user = await current_user(update, context)
    message = update.effective_message
    is_command = bool(message and message.text and message.text.startswith("/"))
    key = "common.unknown_command" if is_command else "common.not_understood"
    assert message is not None
    await message.reply_text(t(user.language, key), parse_mode=ParseMode.HTML)
