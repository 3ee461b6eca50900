"""/autopay per plan with its method (F5) and /remind: on/off, days, time, zone (F7)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.callbacks import Action, decode
from bot.deps import deps
from bot.fit import page_of
from bot.handlers import awaiting
from bot.handlers.common import current_user, show, stale_button
from bot.keyboards import button_row, method_label, page_nav
from bot.method_use import debited, paid_from
from bot.texts import esc, t
from core.services.errors import InvalidInput, ServiceError
from core.services.methods import MethodView, list_methods, set_autopay
from core.services.plans import PlanView, get_plan, list_plans
from core.services.reminders import (
    ReminderSettings,
    get_reminder_settings,
    parse_days,
    parse_time,
    update_reminder_settings,
)

TIME, ZONE = "remind_time", "remind_zone"
DAY_PRESETS = ("3-1-0", "7-3-1-0", "1-0", "0")


async def autopay(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every plan that still owes something, with its auto-repay state (a page of them)."""
    user = await current_user(update, context)
    lang, d, query, page = user.language, deps(context), update.callback_query, 1
    if query:
        data = decode(query.data)
        page = data.int_arg(0) if data.action is Action.AUTOPAY and data.args else 1
        await query.answer()
    async with d.db.uow() as uow:
        plans = [p for p in await list_plans(uow, user.telegram_id, d.clock()) if p.outstanding]
        methods = await list_methods(uow, user.telegram_id)
    if not plans:
        await show(update, t(lang, "autopay.none"), edit=update.callback_query is not None)
        return
    shown = page_of(plans, page)
    rows = []
    for p in shown.items:
        # Button texts are plain (no HTML): the method's own label, unescaped.
        first = next(iter(debited(p, methods)), None)
        if not p.autopay:
            text = t(lang, "autopay.row_off", title=p.title)
        elif first is None:
            text = t(lang, "autopay.row_no_method", title=p.title)
        else:
            own = first.method_id == p.autopay_method_id
            key = "autopay.row_on" if own else "autopay.row_default"
            text = t(lang, key, title=p.title, method=method_label(lang, first))
        rows.append(button_row(text, Action.AUTOPAY_PLAN, p.plan_id))
    time = d.settings.autopay_time.strftime("%H:%M")
    keyboard = InlineKeyboardMarkup(rows + page_nav(lang, shown, Action.AUTOPAY))
    await show(
        update,
        t(lang, "autopay.title", time=time),
        keyboard,
        edit=update.callback_query is not None,
    )


async def autopay_plan(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One plan: turn auto-repay on or off, or choose the method it pays from."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    lang, data, d = user.language, decode(query.data), deps(context)
    plan_id = data.int_arg(0)
    try:
        async with d.db.uow() as uow:
            plan = await get_plan(uow, user.telegram_id, plan_id, d.clock())
            methods = await list_methods(uow, user.telegram_id)
            if data.action is Action.AUTOPAY_TOGGLE:
                await set_autopay(uow, user.telegram_id, plan_id, not plan.autopay)
            elif data.action is Action.AUTOPAY_METHOD:
                await set_autopay(uow, user.telegram_id, plan_id, True, data.int_arg(1))
            elif data.action is Action.AUTOPAY_FALLBACK:
                await set_autopay(
                    uow,
                    user.telegram_id,
                    plan_id,
                    plan.autopay,
                    fallback_to_default=not plan.autopay_fallback,
                )
            plan = await get_plan(uow, user.telegram_id, plan_id, d.clock())
    except ServiceError:
        await stale_button(update, lang)
        return
    await query.answer()
    toggle = "button.autopay_off" if plan.autopay else "button.autopay_on"
    rows = [button_row(t(lang, toggle), Action.AUTOPAY_TOGGLE, plan_id)]
    text = _autopay_detail(lang, plan, methods)
    own = next((m for m in methods if m.method_id == plan.autopay_method_id), None)
    default = next((m for m in methods if m.is_default), None)
    if plan.autopay and own is not None and default is not None and own != default:
        key = "button.fallback_off" if plan.autopay_fallback else "button.fallback_on"
        label = method_label(lang, default)
        rows.append(button_row(t(lang, key, method=label), Action.AUTOPAY_FALLBACK, plan_id))
    others = [m for m in methods if m.method_id != plan.autopay_method_id]
    page = data.int_arg(1) if data.action is Action.AUTOPAY_PLAN and len(data.args) > 1 else 1
    shown = page_of(others, page)
    rows += [
        button_row(
            t(lang, "button.pay_with", method=method_label(lang, m)),
            Action.AUTOPAY_METHOD,
            plan_id,
            m.method_id,
        )
        for m in shown.items
    ]
    rows += page_nav(lang, shown, Action.AUTOPAY_PLAN, plan_id)
    rows.append(button_row(t(lang, "button.back"), Action.AUTOPAY))
    await show(update, text, InlineKeyboardMarkup(rows))


def _autopay_detail(lang: str, plan: PlanView, methods: list[MethodView]) -> str:
    """On, and what it debits (and whether the default method is tried if that fails);
    on with nothing to debit; or off."""
    title = esc(plan.title)
    if not plan.autopay:
        return t(lang, "autopay.detail_off", title=title)
    order = debited(plan, methods)
    if not order:
        return t(lang, "autopay.detail_no_method", title=title)
    text = t(lang, "autopay.detail_on", title=title, method=paid_from(lang, plan, methods))
    if len(order) > 1:
        text += "\n" + t(lang, "autopay.detail_fallback", method=esc(method_label(lang, order[1])))
    return text


async def remind(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The reminder settings, and buttons to change them."""
    user = await current_user(update, context)
    lang, d = user.language, deps(context)
    query = update.callback_query
    data = decode(query.data) if query and query.data else None
    try:
        async with d.db.uow() as uow:
            current = await get_reminder_settings(uow, user.telegram_id)
            if data is not None and data.action is Action.REMIND_DAYS:
                days = parse_days(data.args[0].replace("-", ","))
                current = await update_reminder_settings(uow, user.telegram_id, days_before=days)
            elif data is not None and data.args[0] in ("toggle", "overdue"):
                current = await update_reminder_settings(
                    uow,
                    user.telegram_id,
                    enabled=not current.enabled if data.args[0] == "toggle" else None,
                    overdue_daily=not current.overdue_daily if data.args[0] == "overdue" else None,
                )
    except InvalidInput:
        await stale_button(update, lang)
        return
    if query:
        await query.answer()
    if data is not None and data.action is Action.REMIND and data.args[0] in ("time", "zone"):
        question = TIME if data.args[0] == "time" else ZONE
        awaiting.expect(context, question, d.clock())
        await show(update, t(lang, "remind.ask_time" if question == TIME else "remind.ask_zone"))
        return
    await show(update, _remind_text(lang, current), _remind_keyboard(lang), edit=query is not None)


def _remind_text(lang: str, s: ReminderSettings) -> str:
    on, off = t(lang, "remind.on"), t(lang, "remind.off")
    return t(
        lang,
        "remind.title",
        state=on if s.enabled else off,
        days=t(lang, "remind.days_value", days=" / ".join(str(d) for d in s.days_before)),
        time=s.at.strftime("%H:%M"),
        zone=esc(s.timezone),
        overdue=on if s.overdue_daily else off,
    )


def _remind_keyboard(lang: str) -> InlineKeyboardMarkup:
    rows = [
        button_row(t(lang, "button.remind_toggle"), Action.REMIND, "toggle"),
        button_row(t(lang, "button.remind_overdue"), Action.REMIND, "overdue"),
    ]
    rows += [
        button_row(t(lang, "button.remind_days", days=p.replace("-", "/")), Action.REMIND_DAYS, p)
        for p in DAY_PRESETS
    ]
    rows.append(button_row(t(lang, "button.remind_time"), Action.REMIND, "time"))
    rows.append(button_row(t(lang, "button.remind_zone"), Action.REMIND, "zone"))
    return InlineKeyboardMarkup(rows)


async def typed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: dict[str, str]
) -> None:
    """A typed reminder time or zone; a bad one is explained and asked again."""
    user = await current_user(update, context)
    lang, d = user.language, deps(context)
    message = update.effective_message
    assert message is not None
    text = (message.text or "").strip()
    try:
        async with d.db.uow() as uow:
            if question["what"] == TIME:
                current = await update_reminder_settings(uow, user.telegram_id, at=parse_time(text))
            else:
                current = await update_reminder_settings(uow, user.telegram_id, timezone=text)
    except InvalidInput:
        key = "remind.bad_time" if question["what"] == TIME else "remind.bad_zone"
        await show(update, t(lang, key), edit=False)
        return
    awaiting.done(context)
    await show(update, _remind_text(lang, current), _remind_keyboard(lang), edit=False)


QUESTIONS = (TIME, ZONE)
