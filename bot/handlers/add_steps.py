"""/add's steps: their order (and the way back), the question each one asks with its
buttons, and the draft of answers kept in the user data between them.

The draft holds strings only (JSON, persisted with the user data); a step's answer stays
in it when the person goes back, and is shown under the question asked again.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Action, encode
from bot.texts import day, esc, money, t
from core.domain.rates import RateReading, RateUnit
from core.domain.terms import Method, PlanKind
from core.services.plans import PlanDraft

AWAITING = "add_plan"  # the awaited question's "what"; its "step" and "run" say which
DRAFT = "add"  # the user data's key for the answers so far


class Step(StrEnum):
    PROVIDER = "provider"
    TITLE = "title"
    KIND = "kind"
    PRINCIPAL = "principal"
    PERIODS = "periods"
    METHOD = "method"
    RATE = "rate"
    READING = "reading"  # which reading of a rate typed without "%"
    FIRST_DUE = "first_due"
    CONFIRM = "confirm"


ORDER = (
    Step.PROVIDER,
    Step.TITLE,
    Step.KIND,
    Step.PRINCIPAL,
    Step.PERIODS,
    Step.METHOD,
    Step.RATE,
    Step.FIRST_DUE,
    Step.CONFIRM,
)
BUTTON_STEPS = (Step.KIND, Step.METHOD, Step.READING, Step.CONFIRM)
# What "Edit" on the preview offers: each answer, by the step that asks it.
EDITABLE = (
    Step.PROVIDER,
    Step.TITLE,
    Step.KIND,
    Step.PRINCIPAL,
    Step.PERIODS,
    Step.METHOD,
    Step.FIRST_DUE,
)
EDITING = "editing"  # the draft's key: the step being changed from the preview


def previous(step: Step, draft: dict[str, Any]) -> Step | None:
    """Where Back goes: the step before, skipping the rate of an interest-free plan."""
    if step is Step.PROVIDER:
        return None
    if step is Step.READING:
        return Step.RATE
    before = ORDER[ORDER.index(step) - 1]
    if before is Step.RATE and draft.get("method") == Method.INTEREST_FREE.value:
        return Step.METHOD
    return before


def percent(rate: Decimal) -> str:
    """0.18 → "18%", 0.0216 → "2.16%": a rate as people write it."""
    return f"{format((rate * 100).normalize(), 'f')}%"


def reading_label(lang: str, reading: RateReading, method: Method) -> str:
    if method is Method.FEE_PER_PERIOD:
        return t(lang, "add.reading.period", rate=percent(reading.rate))
    if reading.unit in (RateUnit.MONTHLY_PERCENT, RateUnit.DAILY_PERCENT):
        typed = format(reading.typed.normalize(), "f")
        key = "add.reading.month" if reading.unit is RateUnit.MONTHLY_PERCENT else "add.reading.day"
        return t(lang, key, typed=typed, rate=percent(reading.rate))
    return t(lang, "add.reading.year", rate=percent(reading.rate))


def readings_of(draft: dict[str, Any]) -> list[RateReading]:
    return [
        RateReading(Decimal(r["rate"]), RateUnit(r["unit"]), Decimal(r["typed"]))
        for r in draft.get("readings", [])
    ]


def store_readings(draft: dict[str, Any], readings: tuple[RateReading, ...], typed: str) -> None:
    draft["readings"] = [
        {"rate": str(r.rate), "unit": r.unit.value, "typed": str(r.typed)} for r in readings
    ]
    draft["typed_rate"] = typed


def _current(lang: str, step: Step, draft: dict[str, Any]) -> str | None:
    """The answer already given to ``step``, as shown under its question asked again."""
    value = draft.get(step.value)
    if value is None or step in (Step.READING, Step.CONFIRM):
        return None
    if step is Step.KIND:
        return t(lang, f"kind.{value}")
    if step is Step.METHOD:
        return t(lang, f"plans.method.{value}")
    if step is Step.PRINCIPAL:
        return money(Decimal(value))
    if step is Step.RATE:
        return percent(Decimal(value))
    if step is Step.FIRST_DUE:
        return day(date.fromisoformat(value), lang)
    return esc(str(value))


def question_text(lang: str, step: Step, draft: dict[str, Any]) -> str:
    if step is Step.RATE:
        text = t(lang, f"add.ask_rate.{draft['method']}")
    elif step is Step.READING:
        text = t(lang, "add.ask_reading", typed=esc(draft.get("typed_rate", "")))
    else:
        text = t(lang, f"add.ask_{step.value}")
    current = _current(lang, step, draft)
    return f"{text}\n{t(lang, 'add.current', value=current)}" if current else text


# Quick answers to typed steps: the common lenders, period counts and due days.
LENDERS = {
    "zh": ("花呗", "借呗", "京东白条", "小米分期", "招联金融", "美团月付"),
    "en": ("Huabei", "Jiebei", "JD Baitiao", "Xiaomi", "Zhaolian", "Meituan"),
}
PERIOD_COUNTS = ("3", "6", "12", "24")
DUE_DAYS = (5, 10, 15, 20, 25)


def quick_answers(lang: str, step: Step, draft: dict[str, Any]) -> list[tuple[str, str]]:
    """The buttons a typed step offers, as (label, the answer it types)."""
    if step is Step.PROVIDER:
        return [(name, name) for name in LENDERS.get(lang, LENDERS["en"])]
    if step is Step.PERIODS:
        return [(t(lang, "add.pick_periods", count=n), n) for n in PERIOD_COUNTS]
    if step is Step.FIRST_DUE and "today" in draft:
        today = date.fromisoformat(draft["today"])
        days = sorted(next_day_of_month(today, d) for d in DUE_DAYS)
        return [(day(found, lang), found.isoformat()) for found in days]
    return []


def next_day_of_month(today: date, wanted: int) -> date:
    """The next date after ``today`` falling on day ``wanted`` (1–28) of a month."""
    this_month = today.replace(day=wanted)
    if this_month > today:
        return this_month
    return (today.replace(day=1) + timedelta(days=32)).replace(day=wanted)


def _as_button(label: str) -> str:
    """A name written for the middle of a sentence ("purchase"), as a button says it."""
    return label[:1].upper() + label[1:]


def question_keyboard(
    lang: str, step: Step, draft: dict[str, Any], run: str
) -> InlineKeyboardMarkup:
    """The step's choices (for a typed step, its quick answers), then Back (but on the
    first step) and Cancel."""

    def button(text: str, action: Action, *args: object) -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=encode(action, run, step.value, *args))

    rows: list[list[InlineKeyboardButton]] = []
    picks = quick_answers(lang, step, draft)
    for start in range(0, len(picks), 3):
        rows.append(
            [
                button(label, Action.ADD_PICK, index)
                for index, (label, _) in enumerate(picks[start : start + 3], start=start)
            ]
        )
    if step is Step.KIND:
        rows += [
            [button(_as_button(t(lang, f"kind.{k.value}")), Action.ADD_KIND, k.value)]
            for k in PlanKind
        ]
    elif step is Step.METHOD:
        rows += [
            [button(_as_button(t(lang, f"plans.method.{m.value}")), Action.ADD_METHOD, m.value)]
            for m in Method
        ]
    elif step is Step.READING:
        method = Method(draft["method"])
        rows += [
            [button(reading_label(lang, reading, method), Action.ADD_RATE, index)]
            for index, reading in enumerate(readings_of(draft))
        ]
    elif step is Step.CONFIRM:
        rows.append([button(t(lang, "button.save"), Action.ADD_SAVE)])
        rows.append([button(t(lang, "button.edit_field"), Action.ADD_EDIT)])
    last = [button(t(lang, "button.cancel"), Action.ADD_CANCEL)]
    if previous(step, draft) is not None:
        last.insert(0, button(t(lang, "button.back"), Action.ADD_BACK))
    rows.append(last)
    return InlineKeyboardMarkup(rows)


def edit_keyboard(lang: str, draft: dict[str, Any], run: str) -> InlineKeyboardMarkup:
    """Which answer of the preview to change; Back to the preview."""

    def button(text: str, *args: object) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text, callback_data=encode(Action.ADD_EDIT, run, Step.CONFIRM.value, *args)
        )

    fields = [button(t(lang, f"add.field.{s.value}"), s.value) for s in EDITABLE]
    rows = [fields[i : i + 2] for i in range(0, len(fields), 2)]
    back = InlineKeyboardButton(
        t(lang, "button.back"), callback_data=encode(Action.ADD_EDIT, run, Step.CONFIRM.value)
    )
    rows.append([back])
    return InlineKeyboardMarkup(rows)


def after_edit(step: Step, draft: dict[str, Any]) -> Step:
    """Where an answer leads while a field of the preview is being changed: back to the
    preview, unless the change needs another answer (a method's rate) or one is missing."""
    editing = draft.get(EDITING)
    if editing is None or step in (Step.RATE, Step.READING) or step.value == editing:
        return step
    if all(s.value in draft for s in ORDER if s is not Step.CONFIRM):
        draft.pop(EDITING, None)
        return Step.CONFIRM
    return step


def plan_draft(draft: dict[str, Any]) -> PlanDraft:
    return PlanDraft(
        provider=draft["provider"],
        title=draft["title"],
        principal=Decimal(draft["principal"]),
        periods=int(draft["periods"]),
        method=Method(draft["method"]),
        rate=Decimal(draft["rate"]),
        first_due=date.fromisoformat(draft["first_due"]),
        kind=PlanKind(draft["kind"]),
        rate_known=draft.get("rate_known") != "no",
    )


# The step whose answer an ``InvalidInput`` from the services is about.
STEP_OF_FIELD = {
    "provider": Step.PROVIDER,
    "title": Step.TITLE,
    "principal": Step.PRINCIPAL,
    "periods": Step.PERIODS,
    "rate": Step.RATE,
    "first_due": Step.FIRST_DUE,
    "repayment_day": Step.FIRST_DUE,
    "start_date": Step.FIRST_DUE,
}
