"""/cards: bank cards, WeChat Pay and Alipay — add, remove, make default, top up (F6)."""

from __future__ import annotations

import re

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.callbacks import Action, decode
from bot.deps import deps
from bot.fit import fit, page_of
from bot.handlers import awaiting
from bot.handlers.common import current_user, show, stale_button
from bot.keyboards import button_row, choice_keyboard, method_label, page_nav
from bot.method_use import removal_effects
from bot.texts import esc, limit_text, money, t
from core.money import AmountError, parse_amount
from core.services.errors import InvalidInput, LimitReached, ProviderUnreachable, ServiceError
from core.services.limits import ensure_room_for_method
from core.services.methods import (
    MethodKind,
    MethodView,
    add_method,
    list_methods,
    normalize_last4,
    refresh_balances,
    remove_method,
    set_default,
    top_up,
)
from core.services.plans import list_plans

LABEL, LAST4, TOPUP = "card_label", "card_last4", "topup"


async def cards(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The list of methods with their balances (a page of them, if many)."""
    user = await current_user(update, context)
    lang, query, page = user.language, update.callback_query, 1
    if query:
        data = decode(query.data)
        page = data.int_arg(0) if data.action is Action.CARDS and data.args else 1
        await query.answer()
    async with deps(context).db.uow() as uow:
        fresh = await refresh_balances(uow, user.telegram_id)  # as the provider holds them
        methods = await list_methods(uow, user.telegram_id)
    shown = page_of(methods, page)
    rows = [button_row(_line(lang, m), Action.CARD_VIEW, m.method_id) for m in shown.items]
    rows += page_nav(lang, shown, Action.CARDS)
    rows.append(button_row(t(lang, "button.add_method"), Action.CARD_ADD))
    text = t(lang, "cards.title") if methods else t(lang, "cards.none")
    if not fresh:
        text += "\n" + t(lang, "cards.balances_stale")
    await show(update, text, InlineKeyboardMarkup(rows), edit=update.callback_query is not None)


def _line(lang: str, m: MethodView) -> str:
    default = t(lang, "cards.default_mark") if m.is_default else ""
    return t(
        lang, "cards.row", label=method_label(lang, m), balance=money(m.balance), default=default
    )


async def card_action(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """View, make default, remove (after saying which auto-repay it changes) or top up
    one of the user's methods."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    lang, data, d = user.language, decode(query.data), deps(context)
    method_id = data.int_arg(0)
    try:
        async with d.db.uow() as uow:
            methods = await list_methods(uow, user.telegram_id)
            method = next(m for m in methods if m.method_id == method_id)
            effects: list[str] = []
            if data.action in (Action.CARD_REMOVE, Action.CARD_REMOVE_CONFIRM):
                plans = await list_plans(uow, user.telegram_id, d.clock())
                effects = removal_effects(lang, method, plans, methods)
            if data.action is Action.CARD_DEFAULT:
                await set_default(uow, user.telegram_id, method_id)
            elif data.action is Action.CARD_REMOVE_CONFIRM:
                await remove_method(uow, user.telegram_id, method_id, d.clock())
    except (StopIteration, ServiceError):
        await stale_button(update, lang)
        return
    await query.answer()
    label = esc(method_label(lang, method))
    if data.action is Action.CARD_VIEW:
        default = t(lang, "cards.default_mark") if method.is_default else ""
        keyboard = InlineKeyboardMarkup(
            [
                button_row(t(lang, "button.top_up"), Action.CARD_TOPUP, method_id),
                button_row(t(lang, "button.make_default"), Action.CARD_DEFAULT, method_id),
                button_row(t(lang, "button.remove"), Action.CARD_REMOVE, method_id),
                button_row(t(lang, "button.back"), Action.CARDS),
            ]
        )
        text = t(lang, "cards.detail", label=label, balance=money(method.balance), default=default)
        await show(update, text, keyboard)
    elif data.action is Action.CARD_TOPUP:
        awaiting.expect(context, TOPUP, d.clock(), method=str(method_id))
        limit = money(d.settings.max_topup)
        # A new message: the screen it was asked from (a confirm short of money) stays.
        await show(update, t(lang, "cards.ask_topup", label=label, limit=limit), edit=False)
    elif data.action is Action.CARD_REMOVE:  # ask first, saying what changes
        keyboard = InlineKeyboardMarkup(
            [
                button_row(t(lang, "button.remove_confirm"), Action.CARD_REMOVE_CONFIRM, method_id),
                button_row(t(lang, "button.cancel"), Action.CARD_VIEW, method_id),
            ]
        )
        head = [t(lang, "cards.remove_confirm", label=label)]
        await show(update, _with_effects(lang, head, effects), keyboard)
    else:
        key = "cards.default_set" if data.action is Action.CARD_DEFAULT else "cards.removed"
        text = _with_effects(lang, [t(lang, key, label=label)], effects)
        await show(update, text, _after_change(lang))


def _with_effects(lang: str, head: list[str], effects: list[str]) -> str:
    """``head``, then the plans whose auto-repay the removal changes (as many as fit)."""
    if not effects:
        return "\n".join(head)
    lines = [*head, "", t(lang, "cards.remove_effects_head")]
    return fit(lines, effects, more=lambda n: t(lang, "cards.remove_effects_more", count=n))


def _after_change(lang: str) -> InlineKeyboardMarkup:
    """Where to go after a method changed: the methods, and what auto-repay debits."""
    return InlineKeyboardMarkup(
        [
            button_row(t(lang, "button.my_methods"), Action.CARDS),
            button_row(t(lang, "button.autopay_settings"), Action.AUTOPAY),
        ]
    )


async def add_card(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Choose the kind, then the name is typed (and a bank card's last 4 digits) — unless
    the user already has the most methods: then say so before asking anything."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    lang, data = user.language, decode(query.data)
    kind = MethodKind(data.args[0]) if data.args and data.args[0] in set(MethodKind) else None
    if data.args and kind is None:
        await stale_button(update, lang)  # answers the query: not a second time below
        return
    await query.answer()
    try:
        async with deps(context).db.uow() as uow:
            await ensure_room_for_method(uow, user.telegram_id)
    except LimitReached as exc:
        await show(update, limit_text(lang, exc))
        return
    if kind is None:
        options = [(t(lang, f"kind_method.{k.value}"), k.value) for k in MethodKind]
        await show(update, t(lang, "cards.choose_kind"), choice_keyboard(Action.CARD_ADD, options))
        return
    awaiting.expect(context, LABEL, deps(context).clock(), kind=kind.value)
    await show(update, t(lang, "cards.ask_label"))


async def typed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: dict[str, str]
) -> None:
    """A typed answer to one of this module's questions."""
    user = await current_user(update, context)
    lang, d = user.language, deps(context)
    message = update.effective_message
    assert message is not None
    text = (message.text or "").strip()
    if question["what"] == LABEL:
        if not 1 <= len(text) <= 64:
            await show(update, t(lang, "add.text_length", limit=64), edit=False)
            return
        if question["kind"] == MethodKind.BANK_CARD.value:
            awaiting.expect(context, LAST4, d.clock(), kind=question["kind"], label=text)
            await show(update, t(lang, "cards.ask_last4"), edit=False)
            return
        await _save(update, context, question["kind"], text, None)
    elif question["what"] == LAST4:
        text = normalize_last4(text) or ""
        if not re.fullmatch(r"[0-9]{4}", text):
            await show(update, t(lang, "cards.bad_last4"), edit=False)
            return
        await _save(update, context, question["kind"], question["label"], text)
    else:
        await _top_up(update, context, int(question["method"]), text)


async def _save(
    update: Update, context: ContextTypes.DEFAULT_TYPE, kind: str, label: str, last4: str | None
) -> None:
    user = await current_user(update, context)
    d = deps(context)
    try:
        async with d.db.uow() as uow:
            method = await add_method(
                uow, user.telegram_id, MethodKind(kind), label, last4, d.clock()
            )
    except LimitReached as exc:  # another device added the last one meanwhile
        awaiting.done(context)
        await show(update, limit_text(user.language, exc), edit=False)
        return
    except InvalidInput:  # the same method is bound already: nothing added
        awaiting.done(context)
        await show(update, t(user.language, "cards.duplicate", label=esc(label)), edit=False)
        return
    awaiting.done(context)
    text = t(user.language, "cards.added", label=esc(method_label(user.language, method)))
    await show(update, text, edit=False)


async def _top_up(
    update: Update, context: ContextTypes.DEFAULT_TYPE, method_id: int, text: str
) -> None:
    user = await current_user(update, context)
    lang, d = user.language, deps(context)
    try:
        amount = parse_amount(text)
    except AmountError as exc:
        await show(update, t(lang, f"amount.{exc.problem.value}", text=esc(text[:40])), edit=False)
        return
    try:
        async with d.db.uow() as uow:
            method = await top_up(uow, user.telegram_id, method_id, amount, d.settings.max_topup)
    except InvalidInput:
        limit = money(d.settings.max_topup)
        await show(update, t(lang, "cards.topup_too_large", limit=limit), edit=False)
        return
    except ProviderUnreachable:
        await show(update, t(lang, "common.provider_unreachable"), edit=False)
        return
    except ServiceError:
        awaiting.done(context)
        await show(update, t(lang, "common.stale_button"), edit=False)
        return
    awaiting.done(context)
    label = esc(method_label(lang, method))
    await show(
        update, t(lang, "cards.topped_up", label=label, balance=money(method.balance)), edit=False
    )


QUESTIONS = (LABEL, LAST4, TOPUP)
