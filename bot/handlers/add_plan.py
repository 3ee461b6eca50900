"""/add: a guided conversation that builds a plan, previews its schedule and APR, then saves.

Every answer is validated and a bad one re-prompts with the reason. The state lives in
the database (persistent conversation), so a restart of the bot continues where it was.
"""

from __future__ import annotations

import warnings
from datetime import date
from decimal import Decimal, InvalidOperation

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.callbacks import Action, decode
from bot.deps import deps
from bot.handlers.awaiting import timeout_minutes
from bot.handlers.common import current_user, show
from bot.keyboards import choice_keyboard
from bot.texts import day, esc, money, t
from core.domain.credit import CreditRefused
from core.domain.dates import DateError, parse_date
from core.domain.terms import Method, PlanKind
from core.money import AmountError, parse_amount
from core.services.errors import InvalidInput, NoCreditLine
from core.services.plans import PlanDraft, add_plan, preview_plan

PROVIDER, TITLE, KIND, PRINCIPAL, PERIODS, METHOD, RATE, FIRST_DUE, CONFIRM = range(9)
NAME = "add_plan"  # the conversation's name in the persisted states


def _draft(context: ContextTypes.DEFAULT_TYPE) -> dict[str, str]:
    assert context.user_data is not None
    found: dict[str, str] = context.user_data.setdefault("add", {})
    return found


async def _ask(update: Update, context: ContextTypes.DEFAULT_TYPE, key: str, state: int) -> int:
    user = await current_user(update, context)
    lang = user.language
    markup = None
    if state == KIND:
        options = [(t(lang, f"kind.{k.value}"), k.value) for k in PlanKind]
        markup = choice_keyboard(Action.ADD_KIND, options)
    elif state == METHOD:
        options = [(t(lang, f"plans.method.{m.value}"), m.value) for m in Method]
        markup = choice_keyboard(Action.ADD_METHOD, options)
    await show(update, t(lang, key), markup, edit=update.callback_query is not None)
    return state


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Begin: who is the lender?"""
    assert context.user_data is not None
    context.user_data["add"] = {}
    return await _ask(update, context, "add.ask_provider", PROVIDER)


async def _text(update: Update, context: ContextTypes.DEFAULT_TYPE, limit: int) -> str | None:
    message = update.effective_message
    assert message is not None
    text = (message.text or "").strip()
    if 1 <= len(text) <= limit:
        return text
    user = await current_user(update, context)
    await show(update, t(user.language, "add.text_length", limit=limit), edit=False)
    return None


async def provider(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Lender's name, then the plan's title."""
    text = await _text(update, context, 64)
    if text is None:
        return PROVIDER
    _draft(context)["provider"] = text
    return await _ask(update, context, "add.ask_title", TITLE)


async def title(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Plan's title, then purchase or cash advance."""
    text = await _text(update, context, 128)
    if text is None:
        return TITLE
    _draft(context)["title"] = text
    return await _ask(update, context, "add.ask_kind", KIND)


async def kind(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Purchase or cash advance (a button), then the principal."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    _draft(context)["kind"] = PlanKind(decode(update.callback_query.data).args[0]).value
    return await _ask(update, context, "add.ask_principal", PRINCIPAL)


async def principal(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The principal as typed; a bad amount is explained and asked again."""
    user = await current_user(update, context)
    message = update.effective_message
    assert message is not None
    try:
        amount = parse_amount(message.text or "")
    except AmountError as exc:
        typed = esc((message.text or "")[:40])
        reason = t(user.language, f"amount.{exc.problem.value}", text=typed)
        await show(update, f"{reason}\n{t(user.language, 'add.ask_principal')}", edit=False)
        return PRINCIPAL
    _draft(context)["principal"] = str(amount)
    return await _ask(update, context, "add.ask_periods", PERIODS)


async def periods(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Number of periods, 1-60."""
    message = update.effective_message
    assert message is not None
    text = (message.text or "").strip()
    if not (text.isdecimal() and 1 <= int(text) <= 60):
        user = await current_user(update, context)
        await show(update, t(user.language, "add.bad_periods"), edit=False)
        return PERIODS
    _draft(context)["periods"] = str(int(text))
    return await _ask(update, context, "add.ask_method", METHOD)


async def method(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Repayment method (a button); an interest-free plan skips the rate."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    chosen = Method(decode(update.callback_query.data).args[0])
    _draft(context)["method"] = chosen.value
    if chosen is Method.INTEREST_FREE:
        _draft(context)["rate"] = "0"
        return await _ask(update, context, "add.ask_first_due", FIRST_DUE)
    return await _ask(update, context, f"add.ask_rate.{chosen.value}", RATE)


def parse_rate(text: str) -> Decimal:
    """``0.6%`` → 0.006, ``18 %`` → 0.18, ``0.006`` → 0.006."""
    raw = text.strip().replace("％", "%").replace(" ", "")
    percent = raw.endswith("%")
    value = Decimal(raw.rstrip("%"))
    if not value.is_finite() or value < 0:
        raise InvalidOperation(text)
    return value / 100 if percent else value


async def rate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The rate as typed, as a percentage or a fraction."""
    message = update.effective_message
    assert message is not None
    try:
        value = parse_rate(message.text or "")
    except (InvalidOperation, ValueError):
        user = await current_user(update, context)
        await show(update, t(user.language, "add.bad_rate"), edit=False)
        return RATE
    _draft(context)["rate"] = str(value)
    return await _ask(update, context, "add.ask_first_due", FIRST_DUE)


def _plan_draft(data: dict[str, str], first_due: date) -> PlanDraft:
    return PlanDraft(
        provider=data["provider"],
        title=data["title"],
        principal=Decimal(data["principal"]),
        periods=int(data["periods"]),
        method=Method(data["method"]),
        rate=Decimal(data["rate"]),
        first_due=first_due,
        kind=PlanKind(data["kind"]),
    )


async def first_due(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The first due date; then the schedule preview with its APR."""
    user = await current_user(update, context)
    lang, message = user.language, update.effective_message
    assert message is not None
    try:
        due = parse_date(message.text or "")
        draft = _plan_draft(_draft(context), due)
        preview = preview_plan(draft.terms())
    except DateError as exc:
        await show(update, t(lang, f"add.bad_date.{exc.problem.value}"), edit=False)
        return FIRST_DUE
    except InvalidInput as exc:
        text = t(lang, "add.bad_terms", problem=esc(exc.problem))
        await show(update, f"{text}\n{t(lang, 'add.ask_first_due')}", edit=False)
        return FIRST_DUE
    _draft(context)["first_due"] = due.isoformat()
    first = preview.schedule[0]
    text = t(
        lang,
        "add.preview",
        title=esc(draft.title),
        provider=esc(draft.provider),
        kind=t(lang, f"kind.{draft.kind.value}"),
        principal=money(draft.principal),
        periods=draft.periods,
        method=t(lang, f"plans.method.{draft.method.value}"),
        first_due=day(first.due_date, lang),
        first_amount=money(first.total),
        interest=money(preview.totals.interest),
        fee=money(preview.totals.fee),
        total=money(preview.totals.total),
        apr=f"{preview.apr * 100:.2f}%",
    )
    options = [(t(lang, "button.save"), "save"), (t(lang, "button.cancel"), "cancel")]
    await show(update, text, choice_keyboard(Action.ADD_SAVE, options), edit=False)
    return CONFIRM


async def save(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Save (credit-line check included) or cancel."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    user = await current_user(update, context)
    lang, data = user.language, _draft(context)
    if decode(query.data).args[0] != "save":
        return await _end(update, context, t(lang, "common.cancelled"))
    draft = _plan_draft(data, date.fromisoformat(data["first_due"]))
    d = deps(context)
    try:
        async with d.db.uow() as uow:
            await add_plan(uow, user.telegram_id, draft, d.clock())
    except CreditRefused as exc:
        key = f"add.refused.{exc.refusal.value}"
        available = money(exc.line.available)
        text = t(lang, key, provider=esc(draft.provider), available=available)
        return await _end(update, context, text)
    except NoCreditLine:
        text = t(lang, "add.refused.no_credit_line", provider=esc(draft.provider))
        return await _end(update, context, text)
    return await _end(update, context, t(lang, "add.saved"))


async def _end(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> int:
    assert context.user_data is not None
    context.user_data.pop("add", None)
    await show(update, text)
    return ConversationHandler.END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/cancel inside the conversation."""
    user = await current_user(update, context)
    assert context.user_data is not None
    context.user_data.pop("add", None)
    await show(update, t(user.language, "common.cancelled"), edit=False)
    return ConversationHandler.END


async def timed_out(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ten minutes without an answer. With several instances each one that handled a step
    has a timer running; only the one holding the latest step ends the conversation and
    says so (the others' timers count from older steps)."""
    assert update.effective_chat is not None
    assert update.effective_user is not None
    user = await current_user(update, context)
    if context.user_data is not None:
        context.user_data.pop("add", None)
    minutes = timeout_minutes(deps(context).settings)
    text = t(user.language, "add.timeout", minutes=minutes)
    await context.bot.send_message(update.effective_chat.id, text)


def _is(action: Action, values: list[str]) -> str:
    return f"^{action.value}:({'|'.join(values)})$"


def conversation(timeout_seconds: float) -> ConversationHandler:  # type: ignore[type-arg]
    # Answers are typed or tapped and tracked per user and chat, not per message, which
    # is what PTB's per_message warning is about.
    warnings.filterwarnings("ignore", "If 'per_message=False'", PTBUserWarning)
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("add", start)],
        states={
            PROVIDER: [MessageHandler(text, provider)],
            TITLE: [MessageHandler(text, title)],
            KIND: [CallbackQueryHandler(kind, pattern=_is(Action.ADD_KIND, list(PlanKind)))],
            PRINCIPAL: [MessageHandler(text, principal)],
            PERIODS: [MessageHandler(text, periods)],
            METHOD: [CallbackQueryHandler(method, pattern=_is(Action.ADD_METHOD, list(Method)))],
            RATE: [MessageHandler(text, rate)],
            FIRST_DUE: [MessageHandler(text, first_due)],
            CONFIRM: [CallbackQueryHandler(save, pattern=_is(Action.ADD_SAVE, ["save", "cancel"]))],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name=NAME,
        persistent=False,
        conversation_timeout=timeout_seconds,
    )
