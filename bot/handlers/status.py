"""/status: the overview of everything owed, with buttons to repay, plans and history."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import ContextTypes

from bot.calendar_screen import add_first_keyboard
from bot.deps import deps
from bot.handlers.common import current_user, show
from bot.keyboards import status_keyboard
from bot.screens import status_screen
from bot.texts import t
from core.services.overview import read_overview


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the overview (F1)."""
    user = await current_user(update, context)
    d = deps(context)
    async with d.db.uow() as uow:
        books = await read_overview(uow, user.telegram_id, d.clock())
    # Computed once the transaction is over (not holding SQLite's one writer's lock) and
    # off the event loop: an account at the limits has 1,200 installments (issue 10 §3).
    lang = user.language
    if not books.plans:
        await show(update, t(lang, "status.no_plans"), add_first_keyboard(lang), edit=False)
        return
    view = await asyncio.to_thread(books.overview)
    paid_off = [p.title for p in books.plans if not p.open]
    text = status_screen(lang, view, today=books.on, paid_off=paid_off)
    await show(update, text, status_keyboard(lang), edit=False)
