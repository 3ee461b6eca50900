"""Callback data: a short action prefix and the ids of server-side objects, never amounts.

Every value is ``action:arg:arg`` within Telegram's 64-byte limit. Parsing refuses
anything malformed, so a forged button fails before any handler runs; whether the
ids belong to the person pressing is checked by the services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_BYTES = 64
_ARG = re.compile(r"^[A-Za-z0-9_-]{1,24}$")


class Action(StrEnum):
    MENU_REPAY = "mr"
    MENU_PLANS = "mp"  # (page)
    MENU_HISTORY = "mh"
    REPAY_BILL = "rb"
    REPAY_PERIOD = "rp"  # then a plan id; plan id 0 and a page: a page of the plan list
    REPAY_PAYOFF = "ro"  # then a plan id
    REPAY_CUSTOM = "rc"
    QUOTE_METHOD = "qm"  # quote id, method id: the same choice paid with that method
    QUOTE_METHODS = "qs"  # quote id (, page): list the methods again
    QUOTE_CONFIRM = "qc"  # quote id
    QUOTE_CANCEL = "qx"  # quote id
    LANGUAGE = "lg"  # zh | en
    PLAN_VIEW = "pv"  # plan id, page
    HISTORY_PAGE = "hp"  # page, plan id (0: all plans)
    ADD_KIND = "ak"  # purchase | cash_advance
    ADD_METHOD = "am"  # a repayment method
    ADD_SAVE = "as"  # save | cancel
    FORGET = "fg"  # yes | no
    CARDS = "cl"  # (page)
    CARD_VIEW = "cv"  # method id
    CARD_DEFAULT = "cf"  # method id
    CARD_REMOVE = "cr"  # method id
    CARD_TOPUP = "ct"  # method id
    CARD_ADD = "ca"  # (kind)
    AUTOPAY = "al"  # (page)
    AUTOPAY_PLAN = "ap"  # plan id (, page of its methods)
    AUTOPAY_TOGGLE = "at"  # plan id
    AUTOPAY_METHOD = "ac"  # plan id, method id
    REMIND = "rm"  # toggle | overdue | time | zone
    REMIND_DAYS = "rd"  # a preset such as 3-1-0
    SNOOZE = "sz"  # hour | tonight | tomorrow (the reminder is the message pressed)


@dataclass(frozen=True, slots=True)
class Callback:
    action: Action
    args: tuple[str, ...] = ()

    def int_arg(self, index: int) -> int:
        return int(self.args[index])


class BadCallback(ValueError):
    """Callback data this bot did not make (forged, or from an older version)."""


# A trailing page number is optional on every list that can outgrow one keyboard.
_ARITY = {
    Action.MENU_PLANS: (0, 1),
    Action.REPAY_PERIOD: (0, 1, 2),
    Action.REPAY_PAYOFF: (0, 1, 2),
    Action.QUOTE_METHOD: (2,),
    Action.QUOTE_METHODS: (1, 2),
    Action.QUOTE_CONFIRM: (1,),
    Action.QUOTE_CANCEL: (1,),
    Action.LANGUAGE: (1,),
    Action.PLAN_VIEW: (2,),
    Action.HISTORY_PAGE: (2,),
    Action.ADD_KIND: (1,),
    Action.ADD_METHOD: (1,),
    Action.ADD_SAVE: (1,),
    Action.FORGET: (1,),
    Action.CARD_VIEW: (1,),
    Action.CARD_DEFAULT: (1,),
    Action.CARD_REMOVE: (1,),
    Action.CARD_TOPUP: (1,),
    Action.CARD_ADD: (0, 1),
    Action.CARDS: (0, 1),
    Action.AUTOPAY: (0, 1),
    Action.AUTOPAY_PLAN: (1, 2),
    Action.AUTOPAY_TOGGLE: (1,),
    Action.AUTOPAY_METHOD: (2,),
    Action.REMIND: (1,),
    Action.REMIND_DAYS: (1,),
    Action.SNOOZE: (1,),
}
_PLAN_OR_LIST_PAGE = (Action.REPAY_PERIOD, Action.REPAY_PAYOFF)
_INT_ARGS = {
    Action.MENU_PLANS: (0,),
    Action.REPAY_PERIOD: (0, 1),
    Action.REPAY_PAYOFF: (0, 1),
    Action.QUOTE_METHOD: (1,),
    Action.QUOTE_METHODS: (1,),
    Action.CARDS: (0,),
    Action.AUTOPAY: (0,),
    Action.PLAN_VIEW: (0, 1),
    Action.HISTORY_PAGE: (0, 1),
    Action.CARD_VIEW: (0,),
    Action.CARD_DEFAULT: (0,),
    Action.CARD_REMOVE: (0,),
    Action.CARD_TOPUP: (0,),
    Action.AUTOPAY_PLAN: (0, 1),
    Action.AUTOPAY_TOGGLE: (0,),
    Action.AUTOPAY_METHOD: (0, 1),
}


def encode(action: Action, *args: object) -> str:
    data = ":".join([action.value, *(str(a) for a in args)])
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    decode(data)  # what we make, we must be able to read
    return data


def decode(data: str | None) -> Callback:
    if not data or len(data.encode()) > MAX_BYTES:
        raise BadCallback(data)
    head, *args = data.split(":")
    try:
        action = Action(head)
    except ValueError as exc:
        raise BadCallback(data) from exc
    if len(args) not in _ARITY.get(action, (0,)) or not all(_ARG.match(a) for a in args):
        raise BadCallback(data)
    if any(not args[i].isdigit() for i in _INT_ARGS.get(action, ()) if i < len(args)):
        raise BadCallback(data)
    if action in _PLAN_OR_LIST_PAGE and len(args) == 2 and args[0] != "0":
        raise BadCallback(data)  # a page of the plan list is plan id 0 and the page
    return Callback(action, tuple(args))
