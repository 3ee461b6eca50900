"""/add's typed answers, each checked at its own step: lengths, the principal (and what the
lender's credit line can carry), periods, the rate (its legal maximum, and which reading
of a number typed without "%"), the first due date (within its bounds). A refusal is a
reason in the user's language; the step is then asked again."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from telegram.ext import ContextTypes

from bot.deps import deps
from bot.handlers.add_steps import Step, percent, store_readings
from bot.texts import day, esc, money, t
from core.domain.credit import CreditRefused
from core.domain.dates import DateError, parse_date
from core.domain.rates import RateError, read_rate
from core.domain.terms import HIGH_COST_APR, MAX_APR, MAX_FEE_RATE, Method, PlanKind, most_periods
from core.limits import MAX_PLAN_PERIODS, MAX_PROVIDER_CHARS, MAX_TITLE_CHARS
from core.money import AmountError, parse_amount
from core.services.clock import local_date
from core.services.draws import check_draw
from core.services.errors import InvalidInput, NoCreditLine
from core.services.limits import check_first_due, first_due_range
from core.services.plans import PlanDraft, preview_plan
from core.services.users import UserView


@dataclass(frozen=True, slots=True)
class Outcome:
    """The step to ask next, or the reason to ask the same one again."""

    next_step: Step
    reason: str = ""


def credit_refusal(lang: str, exc: CreditRefused) -> str:
    provider = esc(exc.line.provider)
    available = money(exc.line.available)
    return t(lang, f"add.refused.{exc.refusal.value}", provider=provider, available=available)


async def answer_typed(
    context: ContextTypes.DEFAULT_TYPE, user: UserView, step: Step, draft: dict[str, Any], text: str
) -> Outcome:
    """Check ``text`` as the answer to ``step``; keep it in ``draft`` when it is good."""
    lang = user.language
    if step in (Step.PROVIDER, Step.TITLE):
        limit = MAX_PROVIDER_CHARS if step is Step.PROVIDER else MAX_TITLE_CHARS
        if not 1 <= len(text) <= limit:
            return Outcome(step, t(lang, "add.text_length", limit=limit))
        if step is Step.PROVIDER:
            refusal = await _refusal(context, user, text)
            if refusal:
                return Outcome(step, refusal)
        draft[step.value] = text
        return Outcome(Step.TITLE if step is Step.PROVIDER else Step.KIND)
    if step is Step.PRINCIPAL:
        return await _principal(context, user, draft, text)
    if step is Step.PERIODS:
        return _periods(lang, draft, text)
    if step is Step.RATE:
        return _rate(lang, draft, text)
    return _first_due(context, user, draft, text)


async def _refusal(
    context: ContextTypes.DEFAULT_TYPE,
    user: UserView,
    provider: str,
    **known: Any,
) -> str:
    """Why the lender's credit line refuses what is known of the plan so far, if it does."""
    d = deps(context)
    try:
        async with d.db.uow() as uow:
            await check_draw(uow, user.telegram_id, provider, d.clock(), **known)
    except CreditRefused as exc:
        return credit_refusal(user.language, exc)
    except NoCreditLine:
        return t(user.language, "add.refused.no_credit_line", provider=esc(provider))
    return ""


async def _principal(
    context: ContextTypes.DEFAULT_TYPE, user: UserView, draft: dict[str, Any], text: str
) -> Outcome:
    lang = user.language
    try:
        amount = parse_amount(text)
    except AmountError as exc:
        return Outcome(Step.PRINCIPAL, t(lang, f"amount.{exc.problem.value}", text=esc(text[:40])))
    kind = PlanKind(draft["kind"])
    refusal = await _refusal(context, user, draft["provider"], kind=kind, principal=amount)
    if refusal:
        return Outcome(Step.PRINCIPAL, refusal)
    draft["principal"] = str(amount)
    draft.pop("rate_known", None)  # a principal typed: the terms are being given
    return Outcome(Step.PERIODS)


def _periods(lang: str, draft: dict[str, Any], text: str) -> Outcome:
    # At most two digits before int(): a 5,000-digit number is beyond int()'s own limit.
    if not (text.isdecimal() and len(text) <= 2 and 1 <= int(text) <= MAX_PLAN_PERIODS):
        return Outcome(Step.PERIODS, t(lang, "add.bad_periods"))
    principal = draft["principal"]
    most = most_periods(Decimal(principal))
    if int(text) > most:
        reason = t(lang, "add.too_many_periods", principal=money(Decimal(principal)), most=most)
        return Outcome(Step.PERIODS, reason)
    draft["periods"] = str(int(text))
    return Outcome(Step.METHOD)


def _rate(lang: str, draft: dict[str, Any], text: str) -> Outcome:
    try:
        typed = read_rate(text, Method(draft["method"]))
    except RateError as exc:
        if exc.problem is None:
            return Outcome(Step.RATE, t(lang, "add.bad_rate"))
        reason = t(
            lang,
            f"add.rate_refused.{exc.problem.value}",
            max_apr=percent(MAX_APR),
            max_fee=percent(MAX_FEE_RATE),
        )
        return Outcome(Step.RATE, reason)
    if typed.certain:
        draft["rate"] = str(typed.readings[0].rate)
        return Outcome(Step.FIRST_DUE)
    store_readings(draft, typed.readings, text[:16])
    return Outcome(Step.READING)


def _first_due(
    context: ContextTypes.DEFAULT_TYPE, user: UserView, draft: dict[str, Any], text: str
) -> Outcome:
    lang = user.language
    today = local_date(deps(context).clock(), user.timezone)
    try:
        due = parse_date(text)
        check_first_due(due, today)  # 0001-01-01 or 9999-12-31 would leave the calendar
    except DateError as exc:
        return Outcome(Step.FIRST_DUE, t(lang, f"add.bad_date.{exc.problem.value}"))
    except InvalidInput as exc:
        earliest, latest = (day(bound, lang) for bound in first_due_range(today))
        reason = t(lang, f"add.bad_date.{exc.problem}", earliest=earliest, latest=latest)
        return Outcome(Step.FIRST_DUE, reason)
    draft["first_due"] = due.isoformat()
    return Outcome(Step.CONFIRM)


def preview_text(lang: str, draft: PlanDraft) -> str:
    """The schedule's first installment, totals and APR; ``InvalidInput`` if the terms
    make no schedule. A plan known only by its installments shows them, and its rate as
    unknown."""
    preview = preview_plan(draft.terms())
    first = preview.schedule[0]
    shared: dict[str, object] = {
        "title": esc(draft.title),
        "provider": esc(draft.provider),
        "kind": t(lang, f"kind.{draft.kind.value}"),
        "periods": draft.periods,
        "first_due": day(first.due_date, lang),
        "total": money(preview.totals.total),
    }
    if not draft.rate_known:
        return t(lang, "add.preview_installments", amount=money(first.total), **shared)
    text = t(
        lang,
        "add.preview",
        principal=money(draft.principal),
        method=t(lang, f"plans.method.{draft.method.value}"),
        first_amount=money(first.total),
        interest=money(preview.totals.interest),
        fee=money(preview.totals.fee),
        apr=f"{preview.apr * 100:.2f}%",
        **shared,
    )
    if preview.apr > HIGH_COST_APR:  # said before the plan is saved, not after
        text += "\n" + t(lang, "add.high_cost", limit=f"{HIGH_COST_APR * 100:.0f}%")
    return text
