"""/plans with each plan's schedule (F2) and /history with pages and a plan filter (F8)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.browse_screens import history_screen, plan_screen, schedule_pages
from bot.callbacks import Action, decode
from bot.deps import deps
from bot.handlers.common import current_user, show, stale_button
from bot.keyboards import button, button_row, pager_rows, plan_list_keyboard
from bot.texts import t
from core.services.errors import NotFound
from core.services.history import list_payments
from core.services.plans import get_plan, list_plans

HISTORY_PAGE = 5


async def plans(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The list of plans, each a button to its schedule (a page of them, if many)."""
    user = await current_user(update, context)
    query = update.callback_query
    page = 1
    if query:
        data = decode(query.data)
        page = data.int_arg(0) if data.args else 1
        await query.answer()
    d = deps(context)
    async with d.db.uow() as uow:
        found = await list_plans(uow, user.telegram_id, d.clock())
    if not found:
        await show(update, t(user.language, "plans.none"))
        return
    keyboard = plan_list_keyboard(user.language, found, page)
    await show(update, t(user.language, "plans.title"), keyboard)


async def plan_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One page of one plan's schedule; someone else's plan id is refused."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    data, d = decode(query.data), deps(context)
    try:
        async with d.db.uow() as uow:
            plan = await get_plan(uow, user.telegram_id, data.int_arg(0), d.clock())
    except NotFound:
        await stale_button(update, user.language)
        return
    await query.answer()
    pages = schedule_pages(plan)
    page = min(max(data.int_arg(1), 1), pages)
    lang = user.language
    rows = pager_rows(lang, Action.PLAN_VIEW, page, pages, first=plan.plan_id)
    if plan.outstanding:  # what to do next, from the schedule itself
        pay = [button(t(lang, "button.pay_period"), Action.REPAY_PERIOD, plan.plan_id)]
        if plan.payoff_allowed:
            pay.append(button(t(lang, "button.payoff"), Action.REPAY_PAYOFF, plan.plan_id))
        rows.append(pay)
        rows.append(button_row(t(lang, "button.paid_elsewhere"), Action.ELSEWHERE, plan.plan_id))
    rows.append(button_row(t(lang, "button.plan_history"), Action.HISTORY_PAGE, 1, plan.plan_id))
    rows.append(
        [
            button(t(lang, "button.rename"), Action.PLAN_RENAME, plan.plan_id),
            button(t(lang, "button.delete"), Action.PLAN_DELETE, plan.plan_id),
        ]
    )
    rows.append(button_row(t(lang, "button.all_plans"), Action.MENU_PLANS))
    await show(update, plan_screen(lang, plan, page), InlineKeyboardMarkup(rows))


async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Payment attempts, newest first: /history, the status button, or a page button."""
    user = await current_user(update, context)
    query = update.callback_query
    data = decode(query.data) if query and query.data else None
    page, plan_id = (1, 0)
    if data is not None and data.action is Action.HISTORY_PAGE:
        page, plan_id = data.int_arg(0), data.int_arg(1)
    d = deps(context)
    try:
        async with d.db.uow() as uow:
            found = await list_payments(
                uow, user.telegram_id, page=page, per_page=HISTORY_PAGE, plan_id=plan_id or None
            )
            plan = await get_plan(uow, user.telegram_id, plan_id, d.clock()) if plan_id else None
    except NotFound:
        await stale_button(update, user.language)
        return
    if query:
        await query.answer()
    lang = user.language
    rows = pager_rows(lang, Action.HISTORY_PAGE, found.page, found.pages, first=plan_id)
    if plan is not None:  # one plan's payments: back to its schedule, or to all payments
        rows.append(button_row(t(lang, "button.back_to_plan"), Action.PLAN_VIEW, plan_id, 1))
        rows.append(button_row(t(lang, "button.all_payments"), Action.HISTORY_PAGE, 1, 0))
    text = history_screen(lang, found, plan.title if plan else None, user.timezone, plan_id or None)
    await show(update, text, InlineKeyboardMarkup(rows) if rows else None)
