"""Renaming or deleting a plan, from its schedule: deleting asks first, and says when the
plan stays because money was paid on it through RepayBot."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot.callbacks import Action, decode, pattern_of
from bot.deps import deps
from bot.handlers import awaiting
from bot.handlers.common import current_user, show, stale_button
from bot.keyboards import button_row
from bot.texts import esc, t
from core.limits import MAX_TITLE_CHARS
from core.services.errors import InvalidInput, ServiceError
from core.services.plan_edits import can_delete, delete_plan, rename_plan
from core.services.plans import get_plan

RENAME = "plan_rename"
QUESTIONS = (RENAME,)


def register(app: Application) -> None:  # type: ignore[type-arg]
    actions = (Action.PLAN_RENAME, Action.PLAN_DELETE, Action.PLAN_DELETE_CONFIRM)
    app.add_handler(CallbackQueryHandler(pressed, pattern=pattern_of(*actions)))


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    lang, data, d = user.language, decode(query.data), deps(context)
    plan_id = data.int_arg(0)
    try:
        async with d.db.uow() as uow:
            plan = await get_plan(uow, user.telegram_id, plan_id, d.clock())
            deletable = await can_delete(uow, plan_id)
            if data.action is Action.PLAN_DELETE_CONFIRM and deletable:
                await delete_plan(uow, user.telegram_id, plan_id)
    except ServiceError:
        await stale_button(update, lang)
        return
    await query.answer()
    title = esc(plan.title)
    if data.action is Action.PLAN_RENAME:
        awaiting.expect(context, RENAME, d.clock(), plan=str(plan_id))
        await show(update, t(lang, "plan.ask_title", title=title), edit=False)
    elif not deletable:
        await show(update, t(lang, "plan.kept", title=title), _back(lang, plan_id))
    elif data.action is Action.PLAN_DELETE:
        keyboard = InlineKeyboardMarkup(
            [
                button_row(t(lang, "button.delete_confirm"), Action.PLAN_DELETE_CONFIRM, plan_id),
                button_row(t(lang, "button.cancel"), Action.PLAN_VIEW, plan_id, 1),
            ]
        )
        await show(update, t(lang, "plan.ask_delete", title=title), keyboard)
    else:
        plans = InlineKeyboardMarkup([button_row(t(lang, "button.all_plans"), Action.MENU_PLANS)])
        await show(update, t(lang, "plan.deleted", title=title), plans)


def _back(lang: str, plan_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [button_row(t(lang, "button.back_to_plan"), Action.PLAN_VIEW, plan_id, 1)]
    )


async def typed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: dict[str, str]
) -> None:
    """The new title."""
    user = await current_user(update, context)
    lang, d = user.language, deps(context)
    message = update.effective_message
    assert message is not None
    text = (message.text or "").strip()
    plan_id = int(question["plan"])
    try:
        async with d.db.uow() as uow:
            await rename_plan(uow, user.telegram_id, plan_id, text)
    except InvalidInput:
        await show(update, t(lang, "add.text_length", limit=MAX_TITLE_CHARS), edit=False)
        return
    except ServiceError:
        awaiting.done(context)
        await show(update, t(lang, "common.stale_button"), edit=False)
        return
    awaiting.done(context)
    await show(update, t(lang, "plan.renamed", title=esc(text)), _back(lang, plan_id), edit=False)
