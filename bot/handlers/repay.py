"""/repay: choose what → choose the method → confirm the breakdown → receipt (F3, F4)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import ContextTypes

from bot.callbacks import Action, decode
from bot.deps import Deps, deps
from bot.handlers import awaiting
from bot.handlers.common import current_user, show, stale_button
from bot.keyboards import (
    confirm_keyboard,
    method_label,
    methods_keyboard,
    outcome_keyboard,
    payoff_offer_keyboard,
    plans_keyboard,
    repay_keyboard,
)
from bot.quote_extras import with_extras
from bot.screens import outcome_screen, quote_screen
from bot.texts import esc, money, t
from core.domain.quotes import QuoteKind
from core.money import AmountError, parse_amount
from core.services.confirm import confirm_quote
from core.services.errors import (
    AbovePayoff,
    NoPaymentMethod,
    NotFound,
    NothingToPay,
    Overpayment,
    PayoffNotAllowed,
    QuoteClosed,
    ServiceError,
)
from core.services.methods import list_methods
from core.services.overview import read_overview
from core.services.payment_receipts import receipt_shown
from core.services.payments import Outcome
from core.services.plans import list_plans
from core.services.quotes import (
    QuoteRequest,
    QuoteView,
    create_quote,
    get_quote,
    requote_with_method,
)
from core.services.users import UserView

log = logging.getLogger(__name__)
AWAITING_AMOUNT = "custom_amount"


async def repay(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer the four choices, the current bill with its amount."""
    user = await current_user(update, context)
    if update.callback_query:
        await update.callback_query.answer()
    d = deps(context)
    async with d.db.uow() as uow:
        books = await read_overview(uow, user.telegram_id, d.clock())
    # As /status does: computed after the transaction and off the event loop (an account
    # at the limits has 1,200 installments, issue 10 §3).
    view = await asyncio.to_thread(books.overview)
    if not view.summary.outstanding:
        await show(update, t(user.language, "repay.nothing_due"), edit=False)
        return
    bill = view.summary.current_bill
    await show(
        update, t(user.language, "repay.choose"), repay_keyboard(user.language, bill), edit=False
    )


async def repay_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What to pay: the bill, a plan's next period or payoff (a plan list first), or an amount."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    choice = decode(query.data)
    kind = {
        Action.REPAY_BILL: QuoteKind.BILL,
        Action.REPAY_PERIOD: QuoteKind.PERIOD,
        Action.REPAY_PAYOFF: QuoteKind.PAYOFF,
    }.get(choice.action)
    if kind is None:
        await query.answer()
        awaiting.expect(context, AWAITING_AMOUNT, deps(context).clock())
        await show(update, t(user.language, "repay.ask_amount"))
        return
    plan_id = choice.int_arg(0) if choice.args else 0
    if kind is QuoteKind.BILL or plan_id:
        await offer(update, context, user, QuoteRequest(kind, plan_id or None))
        return
    await query.answer()
    page = choice.int_arg(1) if len(choice.args) > 1 else 1
    await plan_choice(update, context, user, choice.action, page)


async def plan_choice(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    user: UserView,
    action: Action,
    page: int = 1,
) -> None:
    """The user's plans that still owe something, as buttons for ``action`` (a page)."""
    d = deps(context)
    async with d.db.uow() as uow:
        plans = [p for p in await list_plans(uow, user.telegram_id, d.clock()) if p.outstanding]
    if not plans:
        await show(update, t(user.language, "repay.no_plans"))
        return
    keyboard = plans_keyboard(user.language, plans, action, page)
    await show(update, t(user.language, "repay.choose_plan"), keyboard)


async def custom_amount(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The amount typed after "custom amount"; a bad one is explained and asked again."""
    user = await current_user(update, context)
    message = update.effective_message
    assert message is not None
    assert message.text is not None
    try:
        amount = parse_amount(message.text)
    except AmountError as exc:
        text = t(user.language, f"amount.{exc.problem.value}", text=esc(message.text[:40]))
        await show(update, f"{text}\n{t(user.language, 'repay.ask_amount')}", edit=False)
        return
    if await offer(update, context, user, QuoteRequest(QuoteKind.CUSTOM, amount=amount)):
        awaiting.done(context)


async def offer(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    user: UserView,
    request: QuoteRequest,
) -> bool:
    """Price the choice, then ask for the method (several) or go straight to confirmation."""
    lang, d = user.language, deps(context)
    query = update.callback_query
    try:
        async with d.db.uow() as uow:
            quote = await create_quote(uow, user.telegram_id, request, d.clock(), ttl=_ttl(context))
            methods = await list_methods(uow, user.telegram_id)
    except NotFound:
        await stale_button(update, lang)
        return False
    except AbovePayoff as exc:
        if query:
            await query.answer()
        text = t(lang, "repay.above_payoff", payoff=money(exc.payoff))
        await show(update, text, payoff_offer_keyboard(lang, exc.plan_id), edit=query is not None)
        return True
    except ServiceError as exc:
        if query:
            await query.answer()
        await show(update, _refusal(lang, exc), edit=query is not None)
        return isinstance(exc, (NoPaymentMethod, NothingToPay, PayoffNotAllowed))
    if query:
        await query.answer()
    if len(methods) > 1:
        text = t(lang, "repay.choose_method", amount=money(quote.amount))
        await show(update, text, methods_keyboard(lang, quote.quote_id, methods))
    else:
        await confirm_screen(update, context, user, quote)
    return True


def _refusal(lang: str, exc: ServiceError) -> str:
    if isinstance(exc, NoPaymentMethod):
        return t(lang, "repay.no_method")
    if isinstance(exc, NothingToPay):
        return t(lang, "repay.nothing_due")
    if isinstance(exc, Overpayment):
        return t(lang, "repay.overpayment", amount=money(exc.owed))
    if isinstance(exc, PayoffNotAllowed):
        reason = esc(exc.reason) if exc.reason else t(lang, "repay.payoff_forbidden_default")
        return t(lang, "repay.payoff_forbidden", reason=reason)
    raise exc


def _ttl(context: ContextTypes.DEFAULT_TYPE) -> timedelta:
    return timedelta(seconds=deps(context).settings.quote_ttl_seconds)


async def confirm_screen(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    user: UserView,
    quote: QuoteView,
    *,
    edit: bool = True,
) -> None:
    """The breakdown with Confirm / Change method / Cancel."""
    d = deps(context)
    async with d.db.uow() as uow:
        methods = await list_methods(uow, user.telegram_id)
        plans = await list_plans(uow, user.telegram_id, d.clock())
    method = next(m for m in methods if m.method_id == quote.method_id)
    title = next((p.title for p in plans if p.plan_id == quote.request.plan_id), "")
    text = quote_screen(
        user.language, quote, method, method_label(user.language, method), title, user.timezone
    )
    text = with_extras(user.language, text, quote, plans)
    short = method.method_id if method.balance < quote.amount else None
    keyboard = confirm_keyboard(user.language, quote.quote_id, len(methods) > 1, short)
    await show(update, text, keyboard, edit=edit)


async def quote_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Change method, choose a method, or cancel, for one of the user's quotes."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    data = decode(query.data)
    quote_id, d = data.args[0], deps(context)
    try:
        async with d.db.uow() as uow:
            if data.action is Action.QUOTE_METHOD:
                quote = await requote_with_method(
                    uow, user.telegram_id, quote_id, data.int_arg(1), d.clock()
                )
            else:
                quote = await get_quote(uow, user.telegram_id, quote_id)
            methods = await list_methods(uow, user.telegram_id)
    except ServiceError:
        await stale_button(update, user.language)
        return
    await query.answer()
    if data.action is Action.QUOTE_CANCEL:
        await show(update, t(user.language, "common.cancelled"))
    elif data.action is Action.QUOTE_METHODS:
        text = t(user.language, "repay.choose_method", amount=money(quote.amount))
        page = data.int_arg(1) if len(data.args) > 1 else 1
        keyboard = methods_keyboard(user.language, quote.quote_id, methods, page)
        await show(update, text, keyboard)
    else:
        await confirm_screen(update, context, user, quote)


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pay the quote exactly once; a repeated tap shows the same receipt. Once shown, the
    receipt queued with the payment is withheld (else the sweep sends it)."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    lang, d = user.language, deps(context)
    quote_id = decode(query.data).args[0]
    grace = timedelta(seconds=d.settings.send_lease_seconds)  # see payment_receipts
    try:
        async with d.db.uow() as uow:
            outcome = await confirm_quote(
                uow, user.telegram_id, quote_id, d.clock(), receipt_grace=grace
            )
            quote = await get_quote(uow, user.telegram_id, quote_id)
            methods = {m.method_id: m for m in await list_methods(uow, user.telegram_id)}
    except QuoteClosed:
        await query.answer(t(lang, "repay.closed"), show_alert=True)
        return
    except NotFound:
        await stale_button(update, lang)
        return
    await query.answer()
    if outcome.outcome in (Outcome.SUCCEEDED, Outcome.FAILED) and not outcome.repeated:
        kind = "payoff" if quote.request.kind is QuoteKind.PAYOFF else "manual"
        d.metrics.payments.labels(kind=kind, status=outcome.outcome.value).inc()
    if outcome.outcome in (Outcome.EXPIRED, Outcome.CHANGED):
        key = "repay.expired" if outcome.outcome is Outcome.EXPIRED else "repay.changed"
        if outcome.fresh_quote is None:
            await show(update, t(lang, "repay.gone"))
            return
        await show(update, t(lang, key))
        await confirm_screen(update, context, user, outcome.fresh_quote, edit=False)
        return
    method = methods.get(quote.method_id)
    label = method_label(lang, method) if method else ""
    after = outcome_keyboard(lang, outcome.failure_reason, quote.method_id)
    await show(update, outcome_screen(lang, outcome, label), after)
    settled = outcome.outcome is not Outcome.PROCESSING
    if settled and outcome.payment_id is not None:  # shown (a repeat too): not sent again
        await _receipt_shown(d, user.telegram_id, outcome.payment_id)


async def _receipt_shown(d: Deps, user_id: int, payment_id: int) -> None:
    try:
        async with d.db.uow() as uow:
            await receipt_shown(uow, user_id, payment_id)
    except SQLAlchemyError:
        # The receipt is on the screen: no apology for this. The sweep sends it again later.
        log.warning("receipt of payment %s shown but not recorded", payment_id, exc_info=True)


async def bad_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Buttons whose data this bot did not make."""
    user = await current_user(update, context)
    await stale_button(update, user.language)
