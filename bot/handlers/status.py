"""/status: the overview of everything owed, with buttons to repay, plans and history."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.deps import deps
from bot.handlers.common import current_user, show
from bot.keyboards import status_keyboard
from bot.screens import status_screen
from bot.texts import t
from core.services.overview import status_overview


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the overview (F1)."""
    user = await current_user(update, context)
    d = deps(context)
    async with d.db.uow() as uow:
        view = await status_overview(uow, user.telegram_id, d.clock())
    if not view.open_plans and not view.summary.outstanding:
        await show(update, t(user.language, "status.no_plans"), edit=False)
        return
    await show(
        update, status_screen(user.language, view), status_keyboard(user.language), edit=False
    )
