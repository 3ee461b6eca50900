"""/advice: which plan to pay off first — by true cost (avalanche) or smallest balance
(snowball) — with what each payoff saves today, the plans above the 24 % line flagged,
and when everything is paid if paid as scheduled."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.callbacks import Action, decode, pattern_of
from bot.deps import deps
from bot.fit import fit
from bot.handlers.common import current_user, show
from bot.keyboards import button, button_row
from bot.texts import day, esc, money, t
from core.domain.advice import Strategy
from core.domain.terms import HIGH_COST_APR
from core.services.advice import Advice, RankedPlan, advise


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("advice", advice))
    app.add_handler(CallbackQueryHandler(advice, pattern=pattern_of(Action.ADVICE)))


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
    values = {
        "n": n,
        "title": esc(ranked.title),
        "apr": f"{cost.apr * 100:.2f}%",
        "owed": money(cost.owed),
    }
    line = t(lang, "advice.line", **values)
    if cost.apr > HIGH_COST_APR:
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
            button_row(t(lang, "button.payoff"), Action.REPAY_PAYOFF),
        ]
    )
