"""The one place that builds the Application: handlers, error handler, command menu."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from datetime import datetime

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import jobs
from bot.calendar_feed import served_feed
from bot.callbacks import Action
from bot.callbacks import pattern_of as _is
from bot.deps import Deps, deps, utc_now
from bot.handlers import (
    account,
    add_plan,
    add_steps,
    advice,
    awaiting,
    basics,
    browse,
    calendar,
    cards,
    common,
    credit,
    elsewhere,
    plan_edit,
    repay,
    snooze,
    status,
)
from bot.handlers import (
    settings as preferences,
)
from bot.handlers.awaiting import timeout_minutes
from bot.observability import HealthServer
from bot.provider import Provider
from bot.ratelimit import TelegramRateLimiter
from bot.texts import t
from bot.update_flow import PerUserProcessor, TrackedRequest, admit, keep_state, resilient
from core.db.uow import Database
from core.settings import Settings

log = logging.getLogger(__name__)

ADMIT_GROUP = -10  # first: edited or repeated updates stop here; the chat state is read
KEEP_GROUP = 1000  # last: the chat state is written back
# An update in hand longer than the database retry time plus this is stuck (for /healthz).
UPDATE_STUCK_MARGIN = 30.0
COMMANDS = (
    "start",
    "status",
    "repay",
    "payoff",
    "plans",
    "history",
    "calendar",
    "advice",
    "add",
    "credit",
    "cards",
    "autopay",
    "remind",
    "export",
    "help",
    "faq",
    "support",
    "lang",
    "forget",
    "cancel",
)


async def log_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One line per update, with no token, text or amount in it."""
    kind = next(
        (k for k in ("message", "callback_query", "my_chat_member") if getattr(update, k)), "other"
    )
    log.info("update %s %s", update.update_id, kind)


async def payoff(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/payoff: the plan list of early payoff."""
    user = await common.current_user(update, context)
    await repay.plan_choice(update, context, user, Action.REPAY_PAYOFF)


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Typed text: the answer to a question in progress, or something not understood."""
    question = awaiting.pending(context)
    if question is None:
        if not await add_plan.from_notice(update, context):  # a pasted repayment notice?
            await basics.unknown(update, context)
    elif awaiting.expired(question, deps(context).clock(), deps(context).settings):
        awaiting.done(context)
        user = await common.current_user(update, context)
        minutes = timeout_minutes(deps(context).settings)
        key = "add.timeout" if question["what"] == add_steps.AWAITING else "common.timed_out"
        await common.show(update, t(user.language, key, minutes=minutes), edit=False)
    elif question["what"] == add_steps.AWAITING:
        await add_plan.typed(update, context, question)
    elif question["what"] == repay.AWAITING_AMOUNT:
        await repay.custom_amount(update, context)
    elif question["what"] in cards.QUESTIONS:
        await cards.typed(update, context, question)
    elif question["what"] in preferences.QUESTIONS:
        await preferences.typed(update, context, question)
    elif question["what"] in credit.QUESTIONS:
        await credit.typed(update, context, question)
    elif question["what"] in plan_edit.QUESTIONS:
        await plan_edit.typed(update, context, question)
    elif question["what"] in elsewhere.QUESTIONS:
        await elsewhere.typed(update, context, question)
    elif question["what"] in advice.QUESTIONS:
        await advice.typed(update, context, question)
    else:
        awaiting.done(context)
        await basics.unknown(update, context)


def build_application(
    settings: Settings,
    db: Database,
    *,
    clock: Callable[[], datetime] = utc_now,
    sweep_seconds: float | None = None,
) -> Application:  # type: ignore[type-arg]
    # httpx logs every request URL at info, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    wiring = Deps(db, settings, clock)
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_url.replace("/bot", "/file/bot"))
        .rate_limiter(TelegramRateLimiter())  # at most 30 messages in any second
        .request(TrackedRequest())
        .concurrent_updates(PerUserProcessor(wiring.metrics))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data["deps"] = wiring
    app.bot_data["sweep_seconds"] = (
        settings.sweep_seconds if sweep_seconds is None else sweep_seconds
    )
    app.add_handler(TypeHandler(Update, admit), group=ADMIT_GROUP)
    app.add_handler(TypeHandler(Update, log_update), group=-2)
    app.add_handler(TypeHandler(Update, common.refuse_groups), group=-1)
    app.add_handler(ChatMemberHandler(common.track_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(CommandHandler("add", add_plan.start))
    app.add_handler(
        CallbackQueryHandler(
            add_plan.button,
            pattern=_is(
                Action.ADD_KIND,
                Action.ADD_METHOD,
                Action.ADD_RATE,
                Action.ADD_PICK,
                Action.ADD_EDIT,
                Action.ADD_SAVE,
                Action.ADD_BACK,
                Action.ADD_CANCEL,
            ),
        )
    )
    app.add_handler(CallbackQueryHandler(calendar.add_first, pattern=_is(Action.ADD_START)))
    app.add_handler(CommandHandler("start", basics.start))
    app.add_handler(CommandHandler("help", basics.help_command))
    app.add_handler(CommandHandler("lang", basics.language_command))
    app.add_handler(CommandHandler("cancel", basics.cancel))
    app.add_handler(CommandHandler("status", status.status))
    app.add_handler(CommandHandler("repay", repay.repay))
    app.add_handler(CommandHandler("payoff", payoff))
    app.add_handler(CommandHandler("cards", cards.cards))
    app.add_handler(CallbackQueryHandler(cards.cards, pattern=_is(Action.CARDS)))
    app.add_handler(CallbackQueryHandler(cards.add_card, pattern=_is(Action.CARD_ADD)))
    app.add_handler(
        CallbackQueryHandler(
            cards.card_action,
            pattern=_is(
                Action.CARD_VIEW,
                Action.CARD_DEFAULT,
                Action.CARD_REMOVE,
                Action.CARD_REMOVE_CONFIRM,
                Action.CARD_TOPUP,
            ),
        )
    )
    app.add_handler(CommandHandler("autopay", preferences.autopay))
    app.add_handler(CallbackQueryHandler(preferences.autopay, pattern=_is(Action.AUTOPAY)))
    app.add_handler(
        CallbackQueryHandler(
            preferences.autopay_plan,
            pattern=_is(
                Action.AUTOPAY_PLAN,
                Action.AUTOPAY_TOGGLE,
                Action.AUTOPAY_METHOD,
                Action.AUTOPAY_FALLBACK,
            ),
        )
    )
    app.add_handler(CommandHandler("remind", preferences.remind))
    app.add_handler(
        CallbackQueryHandler(preferences.remind, pattern=_is(Action.REMIND, Action.REMIND_DAYS))
    )
    app.add_handler(CommandHandler("faq", account.faq))
    app.add_handler(CommandHandler("support", account.support))
    app.add_handler(CommandHandler("export", account.export))
    app.add_handler(CommandHandler("forget", account.forget))
    app.add_handler(CallbackQueryHandler(account.forget_confirmed, pattern=_is(Action.FORGET)))
    app.add_handler(CommandHandler("calendar", calendar.calendar))
    credit.register(app)
    plan_edit.register(app)
    elsewhere.register(app)
    advice.register(app)
    app.add_handler(CallbackQueryHandler(calendar.calendar, pattern=_is(Action.CALENDAR)))
    app.add_handler(CallbackQueryHandler(calendar.send_file, pattern=_is(Action.CALENDAR_FILE)))
    app.add_handler(CallbackQueryHandler(calendar.link, pattern=_is(Action.CALENDAR_LINK)))
    app.add_handler(CallbackQueryHandler(calendar.revoke, pattern=_is(Action.CALENDAR_REVOKE)))
    app.add_handler(CommandHandler("plans", browse.plans))
    app.add_handler(CommandHandler("history", browse.history))
    app.add_handler(CallbackQueryHandler(browse.plans, pattern=_is(Action.MENU_PLANS)))
    app.add_handler(CallbackQueryHandler(browse.plan_page, pattern=_is(Action.PLAN_VIEW)))
    app.add_handler(
        CallbackQueryHandler(browse.history, pattern=_is(Action.MENU_HISTORY, Action.HISTORY_PAGE))
    )
    app.add_handler(CallbackQueryHandler(repay.repay, pattern=_is(Action.MENU_REPAY)))
    app.add_handler(
        CallbackQueryHandler(
            repay.repay_choice,
            pattern=_is(
                Action.REPAY_BILL, Action.REPAY_PERIOD, Action.REPAY_PAYOFF, Action.REPAY_CUSTOM
            ),
        )
    )
    app.add_handler(
        CallbackQueryHandler(
            repay.quote_button,
            pattern=_is(Action.QUOTE_METHOD, Action.QUOTE_METHODS, Action.QUOTE_CANCEL),
        )
    )
    app.add_handler(CallbackQueryHandler(repay.confirm, pattern=_is(Action.QUOTE_CONFIRM)))
    app.add_handler(CallbackQueryHandler(basics.language_chosen, pattern=_is(Action.LANGUAGE)))
    app.add_handler(CallbackQueryHandler(snooze.snooze_pressed, pattern=_is(Action.SNOOZE)))
    app.add_handler(CallbackQueryHandler(repay.bad_callback))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, text_message))
    app.add_handler(MessageHandler(filters.COMMAND, basics.unknown))
    app.add_handler(TypeHandler(Update, add_plan.after_update), group=1)
    app.add_handler(TypeHandler(Update, keep_state), group=KEEP_GROUP)
    for handlers in app.handlers.values():
        for handler in handlers:
            handler.callback = resilient(handler.callback)
    app.add_error_handler(common.on_error)
    interval = app.bot_data["sweep_seconds"]
    if app.job_queue is not None and interval:
        app.job_queue.run_repeating(jobs.sweep, interval=interval, first=1, name="sweep")
    return app


async def _post_init(app: Application) -> None:  # type: ignore[type-arg]
    """Migrate, start /healthz and /metrics, then register the command menu."""
    deps: Deps = app.bot_data["deps"]
    await deps.db.migrate()
    provider = app.bot_data["provider"] = Provider.from_settings(deps.settings)
    health_port: int | None = None
    if deps.settings.http_port:
        health = HealthServer(
            deps.db,
            deps.metrics,
            sweep_seconds=app.bot_data["sweep_seconds"],
            updates_stuck=lambda: _updates_stuck(app),
            calendar_feed=lambda token: served_feed(deps.db, deps.clock, token),
            provider_notifications=provider.notifications(deps.db, deps.clock),
        )
        try:
            await health.start(deps.settings.http_port, deps.settings.http_host)
        except OSError as exc:  # the bot still serves its users; the probe will say so
            log.error(
                "health and metrics server not started on port %s: %s", deps.settings.http_port, exc
            )
        else:
            app.bot_data["health"] = health
            health_port = health.port
    deps.db.provider = await provider.start(provider.callback_url(health_port))
    for language in ("en", "zh"):
        commands = [BotCommand(c, t(language, f"menu.{c}")) for c in COMMANDS]
        await app.bot.set_my_commands(commands, language_code=language)
    await app.bot.set_my_commands([BotCommand(c, t("zh", f"menu.{c}")) for c in COMMANDS])
    # What start-up made (modules, translations, the application) lives as long as the
    # process: kept out of the garbage collector's full passes, which otherwise walk all of
    # it and held the event loop ~100 ms each (bench/heavy_user.py, issue 10 §3). Garbage
    # is collected first, so none of it is kept for good.
    gc.collect()
    gc.freeze()


def _updates_stuck(app: Application) -> str | None:  # type: ignore[type-arg]
    """Why updates are not being handled (for /healthz), or None."""
    processor = app.update_processor
    if not isinstance(processor, PerUserProcessor):
        return None
    threshold = app.bot_data["deps"].settings.db_retry_seconds + UPDATE_STUCK_MARGIN
    return processor.stuck(app.update_queue.qsize(), threshold)


async def _post_shutdown(app: Application) -> None:  # type: ignore[type-arg]
    health: HealthServer | None = app.bot_data.pop("health", None)
    if health is not None:
        await health.stop()
    provider: Provider | None = app.bot_data.pop("provider", None)
    if provider is not None:
        app.bot_data["deps"].db.provider = None
        await provider.stop()
