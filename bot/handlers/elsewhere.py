""" "I paid it in the app": from a plan's schedule, record a payment made outside RepayBot —
its next period, the payoff, or a typed amount — and the day it was paid (today,
yesterday, or typed); the confirmation can undo it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot.callbacks import Action, decode, pattern_of
from bot.deps import deps
from bot.fit import page_of
from bot.handlers import awaiting
from bot.handlers.common import current_user, show, stale_button
from bot.keyboards import button, button_row, page_nav
from bot.texts import day, esc, money, t
from core.domain.dates import DateError, parse_date
from core.domain.quotes import QuoteKind
from core.money import AmountError, from_fen, parse_amount, to_fen
from core.services.books import load_plans
from core.services.clock import local_date
from core.services.errors import AbovePayoff, InvalidInput, ServiceError
from core.services.plans import list_plans
from core.services.quotes import QuoteRequest, price
from core.services.self_reported import record_paid_elsewhere, undo_paid_elsewhere

AMOUNT, WHEN = "elsewhere_amount", "elsewhere_date"
QUESTIONS = (AMOUNT, WHEN)
KINDS = {"period": QuoteKind.PERIOD, "payoff": QuoteKind.PAYOFF, "custom": QuoteKind.CUSTOM}


def register(app: Application) -> None:  # type: ignore[type-arg]
    actions = (Action.ELSEWHERE, Action.ELSEWHERE_KIND, Action.ELSEWHERE_DATE)
    app.add_handler(CallbackQueryHandler(pressed, pattern=pattern_of(*actions)))
    app.add_handler(CallbackQueryHandler(undo, pattern=pattern_of(Action.ELSEWHERE_UNDO)))
    app.add_handler(CallbackQueryHandler(pick, pattern=pattern_of(Action.ELSEWHERE_PICK)))


async def pick(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """From /status or a reminder: which plan was paid (a page of the open ones)."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    lang, data, d = user.language, decode(query.data), deps(context)
    await query.answer()
    async with d.db.uow() as uow:
        plans = [p for p in await list_plans(uow, user.telegram_id, d.clock()) if p.outstanding]
    if not plans:
        await show(update, t(lang, "repay.nothing_due"), edit=False)
        return
    shown = page_of(plans, data.int_arg(0) if data.args else 1)
    rows = [button_row(p.title, Action.ELSEWHERE, p.plan_id) for p in shown.items]
    rows += page_nav(lang, shown, Action.ELSEWHERE_PICK)
    await show(update, t(lang, "elsewhere.pick"), InlineKeyboardMarkup(rows))


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    lang, data, d = user.language, decode(query.data), deps(context)
    plan_id = data.int_arg(0)
    on = local_date(d.clock(), user.timezone)
    options: list[tuple[str, Decimal]] = []  # (kind, amount) the plan can be paid now
    async with d.db.uow() as uow:
        plans = await load_plans(uow.session, user.telegram_id)
        plan = next((p for p in plans if p.row.id == plan_id), None)
        title = esc(plan.row.title) if plan is not None else ""
        for kind in ("period", "payoff"):
            try:
                options.append((kind, price(QuoteRequest(KINDS[kind], plan_id), plans, on).total))
            except ServiceError:
                continue  # nothing due, or no payoff on these terms
    if plan is None:
        await stale_button(update, lang)
        return
    await query.answer()
    if data.action is Action.ELSEWHERE:  # what was paid
        rows = [
            button_row(
                t(lang, f"button.elsewhere_{kind}", amount=money(amount)),
                Action.ELSEWHERE_KIND,
                plan_id,
                kind,
            )
            for kind, amount in options
        ]
        awaiting.expect(context, AMOUNT, d.clock(), plan=str(plan_id))
        await show(update, t(lang, "elsewhere.ask_what", title=title), InlineKeyboardMarkup(rows))
    elif data.action is Action.ELSEWHERE_KIND:
        await _ask_when(update, context, plan_id, data.args[1], 0)
    else:  # the day, from its button: record
        kind, fen, days_ago = data.args[1], data.int_arg(2), data.int_arg(3)
        paid_on = on - timedelta(days=days_ago)
        key = f"elsewhere:{user.telegram_id}:{query.message.message_id if query.message else 0}"
        await _record(update, context, plan_id, kind, fen, paid_on, key)


async def _ask_when(
    update: Update, context: ContextTypes.DEFAULT_TYPE, plan_id: int, kind: str, fen: int
) -> None:
    """Today, yesterday, or a typed day."""
    user = await current_user(update, context)
    lang, d = user.language, deps(context)
    awaiting.expect(context, WHEN, d.clock(), plan=str(plan_id), kind=kind, fen=str(fen))
    keyboard = InlineKeyboardMarkup(
        [
            [
                button(t(lang, "button.today"), Action.ELSEWHERE_DATE, plan_id, kind, fen, 0),
                button(t(lang, "button.yesterday"), Action.ELSEWHERE_DATE, plan_id, kind, fen, 1),
            ]
        ]
    )
    await show(update, t(lang, "elsewhere.ask_when"), keyboard, edit=False)


async def _record(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    plan_id: int,
    kind: str,
    fen: int,
    paid_on: date,
    key: str,
) -> None:
    user = await current_user(update, context)
    lang, d = user.language, deps(context)
    amount = from_fen(fen) if kind == "custom" else None
    try:
        async with d.db.uow() as uow:
            done = await record_paid_elsewhere(
                uow, user.telegram_id, plan_id, KINDS[kind], amount, paid_on, key, d.clock()
            )
    except InvalidInput as exc:
        if exc.field == "paid_on":  # ask the day again
            await show(update, t(lang, f"elsewhere.bad_day.{exc.problem}"), edit=False)
            return
        awaiting.done(context)
        await show(update, t(lang, "common.stale_button"), edit=False)
        return
    except AbovePayoff as exc:
        awaiting.done(context)
        await show(update, t(lang, "elsewhere.above_payoff", payoff=money(exc.payoff)), edit=False)
        return
    except ServiceError:
        awaiting.done(context)
        await show(update, t(lang, "repay.nothing_due"), edit=False)
        return
    awaiting.done(context)
    text = t(
        lang,
        "elsewhere.recorded",
        amount=money(done.amount),
        day=day(done.paid_on, lang),
        outstanding=money(done.outstanding_after),
    )
    undo_row = button_row(t(lang, "button.undo"), Action.ELSEWHERE_UNDO, done.payment_id)
    await show(update, text, InlineKeyboardMarkup([undo_row]), edit=False)


async def typed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: dict[str, str]
) -> None:
    """A typed amount, or a typed day."""
    user = await current_user(update, context)
    lang = user.language
    message = update.effective_message
    assert message is not None
    text = (message.text or "").strip()
    plan_id = int(question["plan"])
    if question["what"] == AMOUNT:
        try:
            amount: Decimal = parse_amount(text)
        except AmountError as exc:
            await show(
                update, t(lang, f"amount.{exc.problem.value}", text=esc(text[:40])), edit=False
            )
            return
        await _ask_when(update, context, plan_id, "custom", to_fen(amount))
        return
    try:
        paid_on = parse_date(text)
    except DateError:
        await show(update, t(lang, "elsewhere.bad_day.not_a_date"), edit=False)
        return
    key = f"elsewhere:{user.telegram_id}:{question['since']}"
    await _record(update, context, plan_id, question["kind"], int(question["fen"]), paid_on, key)


async def undo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    lang, d = user.language, deps(context)
    try:
        async with d.db.uow() as uow:
            done = await undo_paid_elsewhere(uow, user.telegram_id, decode(query.data).int_arg(0))
    except InvalidInput as exc:
        await query.answer(t(lang, f"elsewhere.cannot_undo.{exc.problem}"), show_alert=True)
        return
    except ServiceError:
        await stale_button(update, lang)
        return
    await query.answer()
    text = t(
        lang,
        "elsewhere.undone",
        amount=money(done.amount),
        outstanding=money(done.outstanding_after),
    )
    await show(update, text, edit=False)
