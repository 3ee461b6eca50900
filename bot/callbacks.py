"""Callback data: a short action prefix and the ids of server-side objects, never amounts.

Every value is ``action:arg:arg`` within Telegram's 64-byte limit. Parsing refuses
anything malformed, so a forged button fails before any handler runs: an argument out of
its alphabet (a trailing newline included), an integer beyond the id columns' range
or an id that is not positive, a word the action does not know. Whether the ids belong to
the person pressing is checked by the services.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from core.domain.terms import Method, PlanKind
from core.services.methods import MethodKind
from core.services.users import LANGUAGES

MAX_BYTES = 64
_ARG = re.compile(r"[A-Za-z0-9_-]{1,24}")  # always fullmatch: "$" would accept a "\n"
# PostgreSQL's INTEGER, the type of every id column (SQLite's are 64-bit): a larger number
# makes asyncpg refuse the query ("value out of int32 range"), a page number included.
MAX_INT = 2**31 - 1


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
    # /add's buttons: the run of /add and the step they answer, so an older one is stale
    ADD_KIND = "ak"  # run, step, purchase | cash_advance
    ADD_METHOD = "am"  # run, step, a repayment method
    ADD_RATE = "ar"  # run, step, which reading of an ambiguous rate (its index)
    ADD_PICK = "aq"  # run, step, which quick answer (its index): a lender, periods, a date
    ADD_EDIT = "ae"  # run, step (, which field of the preview to change: its step)
    ADD_SAVE = "as"  # run, step
    ADD_BACK = "ab"  # run, step
    ADD_CANCEL = "ax"  # run, step
    FORGET = "fg"  # yes | no
    CARDS = "cl"  # (page)
    CARD_VIEW = "cv"  # method id
    CARD_DEFAULT = "cf"  # method id
    CARD_REMOVE = "cr"  # method id: asks first
    CARD_REMOVE_CONFIRM = "ck"  # method id
    CARD_TOPUP = "ct"  # method id
    CARD_ADD = "ca"  # (kind)
    AUTOPAY = "al"  # (page)
    AUTOPAY_PLAN = "ap"  # plan id (, page of its methods)
    AUTOPAY_TOGGLE = "at"  # plan id
    AUTOPAY_METHOD = "ac"  # plan id, method id
    AUTOPAY_FALLBACK = "af"  # plan id: toggle trying the default method when its own fails
    REMIND = "rm"  # toggle | overdue | time | zone
    REMIND_DAYS = "rd"  # a preset such as 3-1-0
    SNOOZE = "sz"  # hour | tonight | tomorrow (the reminder is the message pressed)
    CREDIT = "kl"  # (page): the credit lines
    CREDIT_VIEW = "kv"  # line id
    CREDIT_FREEZE = "kf"  # line id: freeze or unfreeze
    CREDIT_LIMIT = "kk"  # line id: asks the new limit
    CREDIT_ADD = "ka"
    PLAN_RENAME = "pn"  # plan id: asks the new title
    PLAN_DELETE = "pd"  # plan id: asks first
    PLAN_DELETE_CONFIRM = "pk"  # plan id
    ELSEWHERE = "ew"  # plan id: record a payment made in the lender's app
    ELSEWHERE_KIND = "ek"  # plan id, period | payoff
    ELSEWHERE_DATE = "ed"  # plan id, period | payoff | custom, amount in fen, days ago
    ELSEWHERE_UNDO = "eu"  # payment id
    ELSEWHERE_PICK = "ep"  # (page): which plan was paid in the lender's app
    ADVICE = "av"  # (avalanche | snowball)
    ADVICE_EXTRA = "aw"  # avalanche | snowball: "what if I pay ¥X extra each month"
    CALENDAR = "cd"  # (page of months)
    CALENDAR_FILE = "ci"  # the .ics file
    CALENDAR_LINK = "cu"  # (new): the subscription link, or a new one replacing it
    CALENDAR_REVOKE = "cz"  # (c: pressed on the /calendar screen) stop the subscription link
    ADD_START = "ad"  # start /add (a person with no plan yet)


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
    Action.ADD_KIND: (3,),
    Action.ADD_METHOD: (3,),
    Action.ADD_RATE: (3,),
    Action.ADD_PICK: (3,),
    Action.ADD_EDIT: (2, 3),
    Action.ADD_SAVE: (2,),
    Action.ADD_BACK: (2,),
    Action.ADD_CANCEL: (2,),
    Action.FORGET: (1,),
    Action.CARD_VIEW: (1,),
    Action.CARD_DEFAULT: (1,),
    Action.CARD_REMOVE: (1,),
    Action.CARD_REMOVE_CONFIRM: (1,),
    Action.CARD_TOPUP: (1,),
    Action.CARD_ADD: (0, 1),
    Action.CARDS: (0, 1),
    Action.AUTOPAY: (0, 1),
    Action.AUTOPAY_PLAN: (1, 2),
    Action.AUTOPAY_TOGGLE: (1,),
    Action.AUTOPAY_METHOD: (2,),
    Action.AUTOPAY_FALLBACK: (1,),
    Action.REMIND: (1,),
    Action.REMIND_DAYS: (1,),
    Action.SNOOZE: (1,),
    Action.CALENDAR: (0, 1),
    Action.CALENDAR_LINK: (0, 1),
    Action.CALENDAR_REVOKE: (0, 1),
    Action.CREDIT: (0, 1),
    Action.CREDIT_VIEW: (1,),
    Action.CREDIT_FREEZE: (1,),
    Action.CREDIT_LIMIT: (1,),
    Action.PLAN_RENAME: (1,),
    Action.PLAN_DELETE: (1,),
    Action.PLAN_DELETE_CONFIRM: (1,),
    Action.ELSEWHERE: (1,),
    Action.ELSEWHERE_KIND: (2,),
    Action.ELSEWHERE_DATE: (4,),
    Action.ELSEWHERE_UNDO: (1,),
    Action.ELSEWHERE_PICK: (0, 1),
    Action.ADVICE: (0, 1),
    Action.ADVICE_EXTRA: (1,),
}
_PLAN_OR_LIST_PAGE = (Action.REPAY_PERIOD, Action.REPAY_PAYOFF)
# Integer arguments (ids and pages), each within MAX_INT: a larger one overflows the
# database driver. Ids of rows are 1 and up; pages, and the plan 0 meaning "every plan"
# or "the list", 0 and up.
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
    Action.CARD_REMOVE_CONFIRM: (0,),
    Action.CARD_TOPUP: (0,),
    Action.AUTOPAY_PLAN: (0, 1),
    Action.AUTOPAY_TOGGLE: (0,),
    Action.AUTOPAY_METHOD: (0, 1),
    Action.AUTOPAY_FALLBACK: (0,),
    Action.ADD_RATE: (2,),
    Action.ADD_PICK: (2,),
    Action.CALENDAR: (0,),
    Action.CREDIT: (0,),
    Action.ELSEWHERE_DATE: (2, 3),
    Action.ELSEWHERE_PICK: (0,),
}
_IDS = {
    Action.QUOTE_METHOD: (1,),
    Action.PLAN_VIEW: (0,),
    Action.CARD_VIEW: (0,),
    Action.CARD_DEFAULT: (0,),
    Action.CARD_REMOVE: (0,),
    Action.CARD_REMOVE_CONFIRM: (0,),
    Action.CARD_TOPUP: (0,),
    Action.AUTOPAY_PLAN: (0,),
    Action.AUTOPAY_TOGGLE: (0,),
    Action.AUTOPAY_METHOD: (0, 1),
    Action.AUTOPAY_FALLBACK: (0,),
    Action.CREDIT_VIEW: (0,),
    Action.CREDIT_FREEZE: (0,),
    Action.CREDIT_LIMIT: (0,),
    Action.PLAN_RENAME: (0,),
    Action.PLAN_DELETE: (0,),
    Action.PLAN_DELETE_CONFIRM: (0,),
    Action.ELSEWHERE: (0,),
    Action.ELSEWHERE_KIND: (0,),
    Action.ELSEWHERE_DATE: (0,),
    Action.ELSEWHERE_UNDO: (0,),
}
# Arguments that are one of a few words: (index, the words).
_WORDS: dict[Action, tuple[int, frozenset[str]]] = {
    Action.LANGUAGE: (0, frozenset(LANGUAGES)),
    Action.FORGET: (0, frozenset({"yes", "no"})),
    Action.CARD_ADD: (0, frozenset(MethodKind)),
    Action.REMIND: (0, frozenset({"toggle", "overdue", "time", "zone"})),
    Action.ADD_KIND: (2, frozenset(PlanKind)),
    Action.ADD_METHOD: (2, frozenset(Method)),
    Action.CALENDAR_LINK: (0, frozenset({"new"})),
    Action.CALENDAR_REVOKE: (0, frozenset({"c"})),
    Action.ELSEWHERE_KIND: (1, frozenset({"period", "payoff"})),
    Action.ELSEWHERE_DATE: (1, frozenset({"period", "payoff", "custom"})),
    Action.ADVICE: (0, frozenset({"avalanche", "snowball"})),
    Action.ADVICE_EXTRA: (0, frozenset({"avalanche", "snowball"})),
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
    if len(args) not in _ARITY.get(action, (0,)) or not all(_ARG.fullmatch(a) for a in args):
        raise BadCallback(data)
    if not all(_in_range(args, i, 1) for i in _IDS.get(action, ())):
        raise BadCallback(data)
    if not all(_in_range(args, i, 0) for i in _INT_ARGS.get(action, ())):
        raise BadCallback(data)
    index, words = _WORDS.get(action, (0, None))
    if words is not None and index < len(args) and args[index] not in words:
        raise BadCallback(data)
    if action in _PLAN_OR_LIST_PAGE and len(args) == 2 and args[0] != "0":
        raise BadCallback(data)  # a page of the plan list is plan id 0 and the page
    return Callback(action, tuple(args))


def _in_range(args: list[str], index: int, lowest: int) -> bool:
    """An absent optional argument, or ASCII digits of an integer in lowest..MAX_INT."""
    if index >= len(args):
        return True
    text = args[index]
    return text.isascii() and text.isdigit() and lowest <= int(text) <= MAX_INT


def pattern_of(*actions: Action) -> Callable[[object], bool]:
    """A callback-data pattern for a handler: well-formed data of one of ``actions``."""

    def matches(data: object) -> bool:
        try:
            return isinstance(data, str) and decode(data).action in actions
        except BadCallback:
            return False

    return matches
