"""/advice: which plan to pay off first — by true cost (avalanche) or smallest balance
(snowball) — with what each payoff saves today, the plans above the 24 % line flagged,
and when everything is paid if paid as scheduled."""

from __future__ import annotations

from decimal import Decimal

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.callbacks import Action, decode, pattern_of
from bot.deps import deps
from bot.fit import fit
from bot.handlers import awaiting
from bot.handlers.common import current_user, show
from bot.keyboards import button, button_row
from bot.texts import day, esc, money, t
from core.domain.advice import Strategy
from core.domain.terms import HIGH_COST_APR
from core.money import AmountError, parse_amount
from core.services.advice import Advice, ExtraAdvice, RankedPlan, advise, advise_extra

EXTRA = "advice_extra"
QUESTIONS = (EXTRA,)
MAX_EXTRA = Decimal("1000000")


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("advice", advice))
    app.add_handler(CallbackQueryHandler(advice, pattern=pattern_of(Action.ADVICE)))
    app.add_handler(CallbackQueryHandler(ask_extra, pattern=pattern_of(Action.ADVICE_EXTRA)))


async def advice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = await current_user(update, context)
    lang, d, query = user.language, deps(context), update.callback_query
    strategy = Strategy.AVALANCHE
    if query is not None:
        data = decode(query.data)
        strategy = Strategy(data.args[0]) if data.args else strategy
        await query.answer()
    async with d.db.uow() as uow:
        found = await advise(uow, user.telegram_id, d.clock(), strategy)
    if not found.plans:
        await show(update, t(lang, "advice.none"), edit=query is not None)
        return
    await show(update, advice_text(lang, found), _keyboard(lang, strategy), edit=query is not None)


def advice_text(lang: str, found: Advice) -> str:
    head = [t(lang, f"advice.title.{found.strategy.value}")]
    if found.debt_free is not None:
        head.append(t(lang, "advice.debt_free", day=day(found.debt_free, lang)))
    lines = [_line(lang, n, ranked) for n, ranked in enumerate(found.plans, start=1)]
    tail = [t(lang, "advice.total_saving", amount=money(found.total_saving))]
    return fit(head, lines, tail, more=lambda n: t(lang, "fit.more_at", count=n, where="/plans"))


def _line(lang: str, n: int, ranked: RankedPlan) -> str:
    cost = ranked.cost
    values: dict[str, object] = {"n": n, "title": esc(ranked.title), "owed": money(cost.owed)}
    if cost.apr is None:
        line = t(lang, "advice.line_unknown", **values)
    else:
        line = t(lang, "advice.line", apr=f"{cost.apr * 100:.2f}%", **values)
    if cost.apr is not None and cost.apr > HIGH_COST_APR:
        line += t(lang, "advice.high_cost", limit=f"{HIGH_COST_APR * 100:.0f}%")
    if cost.payoff is None:
        return line + "\n  " + t(lang, "advice.no_payoff")
    if cost.saving <= 0:
        return line + "\n  " + t(lang, "advice.saves_nothing", payoff=money(cost.payoff))
    return (
        line
        + "\n  "
        + t(lang, "advice.saves", payoff=money(cost.payoff), saving=money(cost.saving))
    )


def _keyboard(lang: str, strategy: Strategy) -> InlineKeyboardMarkup:
    other = Strategy.SNOWBALL if strategy is Strategy.AVALANCHE else Strategy.AVALANCHE
    return InlineKeyboardMarkup(
        [
            [button(t(lang, f"button.advice.{other.value}"), Action.ADVICE, other.value)],
            [button(t(lang, "button.advice.extra"), Action.ADVICE_EXTRA, strategy.value)],
            button_row(t(lang, "button.payoff"), Action.REPAY_PAYOFF),
        ]
    )


async def ask_extra(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "What if I pay more each month": ask how much."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    await query.answer()
    strategy = decode(query.data).args[0]
    awaiting.expect(context, EXTRA, deps(context).clock(), strategy=strategy)
    await show(update, t(user.language, "advice.extra_ask"), edit=False)


async def typed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: dict[str, str]
) -> None:
    """The extra each month, typed: what it does."""
    user = await current_user(update, context)
    lang, d = user.language, deps(context)
    message = update.effective_message
    assert message is not None
    text = (message.text or "").strip()
    try:
        extra = parse_amount(text)
    except AmountError as exc:
        await show(update, t(lang, f"amount.{exc.problem.value}", text=esc(text[:40])), edit=False)
        return
    if extra > MAX_EXTRA:
        await show(update, t(lang, "advice.extra_too_large", limit=money(MAX_EXTRA)), edit=False)
        return
    awaiting.done(context)
    strategy = Strategy(question.get("strategy", Strategy.AVALANCHE.value))
    async with d.db.uow() as uow:
        found = await advise_extra(uow, user.telegram_id, d.clock(), strategy, extra)
    await show(update, extra_text(lang, found), _keyboard(lang, strategy), edit=False)


def extra_text(lang: str, found: ExtraAdvice) -> str:
    what = found.what_if
    if not found.titles or what.debt_free is None or what.scheduled_debt_free is None:
        return t(lang, "advice.none")
    head = [t(lang, "advice.extra_title", extra=money(what.extra))]
    if not what.payoffs:
        head.append(t(lang, "advice.extra_nothing", day=day(what.scheduled_debt_free, lang)))
        return "\n".join(head)
    head.append(
        t(
            lang,
            "advice.extra_debt_free",
            day=day(what.debt_free, lang),
            scheduled=day(what.scheduled_debt_free, lang),
        )
    )
    head.append(t(lang, "advice.extra_order"))
    lines = [
        t(lang, "advice.extra_line", title=esc(found.titles[key]), day=day(when, lang))
        for key, when in what.payoffs
    ]
    tail = [t(lang, "advice.extra_saving", amount=money(what.saving))]
    return fit(head, lines, tail, more=lambda n: t(lang, "fit.more", count=n))
