"""/credit: the user's credit lines (额度) — see what each has left, add one for a lender,
change its limit, freeze or unfreeze it. Without one, a cash advance (备用金) cannot be
added: this is where a new user makes it."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.callbacks import Action, decode, pattern_of
from bot.deps import deps
from bot.fit import page_of
from bot.handlers import awaiting
from bot.handlers.common import current_user, show, stale_button
from bot.keyboards import button_row, page_nav
from bot.texts import esc, limit_text, money, t
from core.limits import MAX_PROVIDER_CHARS
from core.money import AmountError, parse_amount
from core.services.credit_lines import LineView, add_line, list_lines, set_frozen, set_limit
from core.services.errors import InvalidInput, LimitReached, ServiceError

PROVIDER, LIMIT, NEW_LIMIT = "line_provider", "line_limit", "line_new_limit"
QUESTIONS = (PROVIDER, LIMIT, NEW_LIMIT)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("credit", lines))
    app.add_handler(CallbackQueryHandler(lines, pattern=pattern_of(Action.CREDIT)))
    app.add_handler(
        CallbackQueryHandler(
            line_action,
            pattern=pattern_of(
                Action.CREDIT_VIEW, Action.CREDIT_FREEZE, Action.CREDIT_LIMIT, Action.CREDIT_ADD
            ),
        )
    )


async def lines(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every line with its limit, use and what is left (a page of them), and Add."""
    user = await current_user(update, context)
    lang, d, query, page = user.language, deps(context), update.callback_query, 1
    if query:
        data = decode(query.data)
        page = data.int_arg(0) if data.args else 1
        await query.answer()
    async with d.db.uow() as uow:
        found = await list_lines(uow, user.telegram_id, d.clock())
    shown = page_of(found, page)
    rows = [button_row(_row(lang, v), Action.CREDIT_VIEW, v.line_id) for v in shown.items]
    rows += page_nav(lang, shown, Action.CREDIT)
    rows.append(button_row(t(lang, "button.credit_add"), Action.CREDIT_ADD))
    text = t(lang, "credit.title") if found else t(lang, "credit.none")
    await show(update, text, InlineKeyboardMarkup(rows), edit=query is not None)


def _row(lang: str, view: LineView) -> str:
    line = view.line
    if line.frozen:
        return t(lang, "credit.row_frozen", provider=line.provider, used=money(line.used))
    return t(
        lang,
        "credit.row",
        provider=line.provider,
        limit=money(line.limit),
        left=money(line.available),
    )


async def line_action(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Add a line (asks the lender, then the limit); or one line: view, freeze or
    unfreeze, change its limit (asks the new one)."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    lang, data, d = user.language, decode(query.data), deps(context)
    if data.action is Action.CREDIT_ADD:
        await query.answer()
        awaiting.expect(context, PROVIDER, d.clock())
        await show(update, t(lang, "credit.ask_provider"), edit=False)
        return
    line_id = data.int_arg(0)
    try:
        async with d.db.uow() as uow:
            found = await list_lines(uow, user.telegram_id, d.clock())
            view = next(v for v in found if v.line_id == line_id)
            if data.action is Action.CREDIT_FREEZE:
                await set_frozen(uow, user.telegram_id, line_id, not view.line.frozen)
                found = await list_lines(uow, user.telegram_id, d.clock())
                view = next(v for v in found if v.line_id == line_id)
    except (StopIteration, ServiceError):
        await stale_button(update, lang)
        return
    await query.answer()
    if data.action is Action.CREDIT_LIMIT:
        provider = view.line.provider
        awaiting.expect(context, NEW_LIMIT, d.clock(), line=str(line_id), provider=provider)
        await show(update, t(lang, "credit.ask_new_limit", provider=esc(provider)), edit=False)
        return
    await show(update, _detail(lang, view), _detail_keyboard(lang, view))


def _detail(lang: str, view: LineView) -> str:
    line, provider = view.line, esc(view.line.provider)
    state = t(lang, "credit.frozen_note") if line.frozen else ""
    return t(
        lang,
        "credit.detail",
        provider=provider,
        limit=money(line.limit),
        used=money(line.used),
        left=money(line.available),
        state=state,
    )


def _detail_keyboard(lang: str, view: LineView) -> InlineKeyboardMarkup:
    freeze = "button.credit_unfreeze" if view.line.frozen else "button.credit_freeze"
    return InlineKeyboardMarkup(
        [
            button_row(t(lang, "button.credit_limit"), Action.CREDIT_LIMIT, view.line_id),
            button_row(t(lang, freeze), Action.CREDIT_FREEZE, view.line_id),
            button_row(t(lang, "button.back"), Action.CREDIT),
        ]
    )


async def typed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: dict[str, str]
) -> None:
    """A typed lender, limit or new limit."""
    user = await current_user(update, context)
    lang, d = user.language, deps(context)
    message = update.effective_message
    assert message is not None
    text = (message.text or "").strip()
    if question["what"] == PROVIDER:
        if not 1 <= len(text) <= MAX_PROVIDER_CHARS:
            await show(update, t(lang, "add.text_length", limit=MAX_PROVIDER_CHARS), edit=False)
            return
        awaiting.expect(context, LIMIT, d.clock(), provider=text)
        await show(update, t(lang, "credit.ask_limit", provider=esc(text)), edit=False)
        return
    try:
        amount = parse_amount(text)
    except AmountError as exc:
        await show(update, t(lang, f"amount.{exc.problem.value}", text=esc(text[:40])), edit=False)
        return
    try:
        async with d.db.uow() as uow:
            if question["what"] == LIMIT:
                await add_line(uow, user.telegram_id, question["provider"], amount)
            else:
                await set_limit(uow, user.telegram_id, int(question["line"]), amount)
    except LimitReached as exc:
        awaiting.done(context)
        await show(update, limit_text(lang, exc), edit=False)
        return
    except InvalidInput as exc:
        awaiting.done(context)
        key = "credit.exists" if exc.problem == "exists" else "common.stale_button"
        await show(update, t(lang, key, provider=esc(question.get("provider", ""))), edit=False)
        return
    except ServiceError:
        awaiting.done(context)
        await show(update, t(lang, "common.stale_button"), edit=False)
        return
    awaiting.done(context)
    key = "credit.added" if question["what"] == LIMIT else "credit.limit_set"
    done = t(lang, key, provider=esc(question.get("provider", "")), limit=money(amount))
    keyboard = InlineKeyboardMarkup([button_row(t(lang, "button.credit_lines"), Action.CREDIT)])
    await show(update, done, keyboard, edit=False)
