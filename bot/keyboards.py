"""Inline keyboards; every button's data comes from ``bot.callbacks.encode``.

A list of plans or methods shows one page (``bot.fit.page_of``) with ◀ ▶ under it, so no
keyboard nears Telegram's 100 buttons whatever the account holds."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Action, encode
from bot.fit import Page, page_of
from bot.texts import money, t
from core.services.methods import MethodKind, MethodView
from core.services.plans import PlanView


def button(text: str, action: Action, *args: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=encode(action, *args))


def button_row(text: str, action: Action, *args: object) -> list[InlineKeyboardButton]:
    """A keyboard row of one button."""
    return [button(text, action, *args)]


def status_keyboard(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(t(lang, "button.repay"), Action.MENU_REPAY)],
            [
                button(t(lang, "button.plans"), Action.MENU_PLANS),
                button(t(lang, "button.history"), Action.MENU_HISTORY),
            ],
            [button(t(lang, "button.paid_elsewhere"), Action.ELSEWHERE_PICK)],
        ]
    )


def repay_keyboard(lang: str, bill: Decimal) -> InlineKeyboardMarkup:
    bill_text = t(lang, "button.bill", amount=money(bill)) if bill else t(lang, "button.bill_none")
    return InlineKeyboardMarkup(
        [
            [button(bill_text, Action.REPAY_BILL)],
            [button(t(lang, "button.period"), Action.REPAY_PERIOD)],
            [button(t(lang, "button.payoff"), Action.REPAY_PAYOFF)],
            [button(t(lang, "button.custom"), Action.REPAY_CUSTOM)],
        ]
    )


def payoff_offer_keyboard(lang: str, plan_id: int) -> InlineKeyboardMarkup:
    """The payoff of a plan, offered when a payment would reach it (issue 11 §2)."""
    return InlineKeyboardMarkup([[button(t(lang, "button.payoff"), Action.REPAY_PAYOFF, plan_id)]])


def page_nav(
    lang: str, shown: Page[object], action: Action, *args: object
) -> list[list[InlineKeyboardButton]]:
    """◀ ▶ under a list longer than one page; the page number ends the callback data."""
    row = []
    if shown.page > 1:
        row.append(button(t(lang, "button.prev"), action, *args, shown.page - 1))
    if shown.page < shown.pages:
        row.append(button(t(lang, "button.next"), action, *args, shown.page + 1))
    return [row] if row else []


def plans_keyboard(
    lang: str, plans: Sequence[PlanView], action: Action, page: int = 1
) -> InlineKeyboardMarkup:
    """Plans to choose for ``action``; other pages through ``action`` with plan id 0."""
    shown = page_of(plans, page)
    rows = [
        button_row(
            t(lang, "repay.plan_button", title=p.title, amount=money(p.outstanding)),
            action,
            p.plan_id,
        )
        for p in shown.items
    ]
    return InlineKeyboardMarkup(rows + page_nav(lang, shown, action, 0))


def methods_keyboard(
    lang: str, quote_id: str, methods: Sequence[MethodView], page: int = 1
) -> InlineKeyboardMarkup:
    shown = page_of(methods, page)
    rows = [
        button_row(
            f"{method_label(lang, m)} · {money(m.balance)}",
            Action.QUOTE_METHOD,
            quote_id,
            m.method_id,
        )
        for m in shown.items
    ]
    rows += page_nav(lang, shown, Action.QUOTE_METHODS, quote_id)
    rows.append([button(t(lang, "button.cancel"), Action.QUOTE_CANCEL, quote_id)])
    return InlineKeyboardMarkup(rows)


def confirm_keyboard(
    lang: str, quote_id: str, can_change: bool, short_of: int | None = None
) -> InlineKeyboardMarkup:
    """Confirm, change method, cancel — and, when the method ``short_of`` holds less than
    the amount, a way to top it up first."""
    rows = [[button(t(lang, "button.confirm"), Action.QUOTE_CONFIRM, quote_id)]]
    if short_of is not None:
        rows.append([button(t(lang, "button.top_up"), Action.CARD_TOPUP, short_of)])
    if can_change:
        rows.append([button(t(lang, "button.change_method"), Action.QUOTE_METHODS, quote_id)])
    rows.append([button(t(lang, "button.cancel"), Action.QUOTE_CANCEL, quote_id)])
    return InlineKeyboardMarkup(rows)


def outcome_keyboard(lang: str, failure: str | None, method_id: int | None) -> InlineKeyboardMarkup:
    """What to do after a payment: see it in the history and the plans; after a failure,
    top up the method when it was short, or pay again (another method, another amount)."""
    if failure is None:
        return InlineKeyboardMarkup(
            [
                button_row(t(lang, "button.history"), Action.MENU_HISTORY),
                button_row(t(lang, "button.plans"), Action.MENU_PLANS),
            ]
        )
    rows = []
    if failure == "insufficient_balance" and method_id is not None:
        rows.append(button_row(t(lang, "button.top_up"), Action.CARD_TOPUP, method_id))
    rows.append(button_row(t(lang, "button.repay_again"), Action.MENU_REPAY))
    return InlineKeyboardMarkup(rows)


def language_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(t("zh", "button.lang_zh"), Action.LANGUAGE, "zh"),
                button(t("en", "button.lang_en"), Action.LANGUAGE, "en"),
            ]
        ]
    )


def method_label(lang: str, method: MethodView) -> str:
    """How a method is named to its owner; a wallet label that already names it stays as is."""
    kind_name = t(lang, f"kind_method.{method.kind.value}")
    if method.kind is not MethodKind.BANK_CARD and kind_name.lower() in method.label.lower():
        return method.label
    return t(lang, f"method.{method.kind.value}", label=method.label, last4=method.last4 or "")


def plan_list_keyboard(lang: str, plans: Sequence[PlanView], page: int = 1) -> InlineKeyboardMarkup:
    shown = page_of(plans, page)
    rows = [
        button_row(
            t(lang, "plans.button", title=p.title, paid=p.paid_periods, periods=p.periods),
            Action.PLAN_VIEW,
            p.plan_id,
            1,
        )
        for p in shown.items
    ]
    return InlineKeyboardMarkup(rows + page_nav(lang, shown, Action.MENU_PLANS))


def pager_rows(
    lang: str, action: Action, page: int, pages: int, *, first: int
) -> list[list[InlineKeyboardButton]]:
    """◀ ▶ between pages (no row on a single page); ``first`` is the id that leads the
    callback arguments."""
    if action is Action.PLAN_VIEW:

        def data(p: int) -> tuple[object, ...]:
            return (first, p)
    else:

        def data(p: int) -> tuple[object, ...]:
            return (p, first)

    row = []
    if page > 1:
        row.append(button(t(lang, "button.prev"), action, *data(page - 1)))
    if page < pages:
        row.append(button(t(lang, "button.next"), action, *data(page + 1)))
    return [row] if row else []


def choice_keyboard(action: Action, options: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """One button per (label, value) for a question in a conversation."""
    return InlineKeyboardMarkup([[button(label, action, value)] for label, value in options])
