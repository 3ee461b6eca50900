"""/calendar: the coming months' dues, the .ics file, and the private subscription link."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import ContextTypes

from bot.calendar_feed import calendar_file
from bot.calendar_screen import (
    MONTHS_PER_PAGE,
    add_first_keyboard,
    calendar_keyboard,
    calendar_screen,
    link_keyboard,
)
from bot.callbacks import decode
from bot.deps import deps
from bot.handlers import add_plan
from bot.handlers.common import current_user, show
from bot.texts import moment, t
from core.domain.dues import last_unpaid, months_of, pages_until, past_due, window
from core.money import ZERO
from core.services.calendar import read_calendar
from core.services.calendar_feeds import link_made_at, make_link, revoke_link
from core.settings import Settings

FEED_PATH = "/calendar/{token}.ics"  # served by bot.observability.HealthServer


async def calendar(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The dues of a page of months (F19); a button press edits the screen."""
    user = await current_user(update, context)
    d, lang = deps(context), user.language
    query = update.callback_query
    page = 1
    if query is not None:
        await query.answer()
        data = decode(query.data)
        page = data.int_arg(0) if data.args else 1
    async with d.db.uow() as uow:
        books = await read_calendar(uow, user.telegram_id, d.clock())
        has_link = await link_made_at(uow, user.telegram_id) is not None
    if not books.plans:
        await show(update, t(lang, "calendar.no_plans"), add_first_keyboard(lang), edit=False)
        return
    dues = await asyncio.to_thread(books.dues)  # 1,200 installments at the limits
    pages = pages_until(books.on, last_unpaid(dues), MONTHS_PER_PAGE)
    page = min(max(page, 1), pages)
    shown = window(books.on, page, MONTHS_PER_PAGE)
    text = calendar_screen(
        lang,
        books.on,
        shown,
        months_of(dues, shown),
        past_due(dues, books.on) if page == 1 else ZERO,
    )
    await show(update, text, calendar_keyboard(lang, page, pages, has_link))


async def send_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The calendar as an .ics document to open in a phone's calendar."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    await query.answer()
    d = deps(context)
    name, body = await calendar_file(d.db, user.telegram_id, d.clock())
    message = update.effective_message
    assert message is not None
    await message.reply_document(
        document=body, filename=name, caption=t(user.language, "calendar.file_caption")
    )


def links_offered(settings: Settings) -> bool:
    """Whether the operator made the HTTP port reachable (PUBLIC_HTTP_URL and HTTP_PORT)."""
    return bool(settings.public_http_url and settings.http_port)


def feed_url(settings: Settings, token: str) -> str:
    """The link a phone subscribes to."""
    return settings.public_http_url.rstrip("/") + FEED_PATH.format(token=token)


async def link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Make the subscription link and show it once; if one exists, say so and offer a
    new one (the stored hash cannot show the old link again)."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    d, lang = deps(context), user.language
    if not links_offered(d.settings):
        await query.answer(t(lang, "calendar.link_unavailable"), show_alert=True)
        return
    await query.answer()
    renew = bool(decode(query.data).args)
    async with d.db.uow() as uow:
        made = await link_made_at(uow, user.telegram_id)
        if made is not None and not renew:
            when = moment(made, lang, user.timezone)
            text = t(lang, "calendar.link_exists", made=when)
            await show(update, text, link_keyboard(lang), edit=False)
            return
        token = await make_link(uow, user.telegram_id, d.clock())
    text = t(lang, "calendar.link", url=feed_url(d.settings, token))
    if made is not None:
        text = t(lang, "calendar.link_renewed") + "\n\n" + text
    await show(update, text, link_keyboard(lang), edit=False)


async def revoke(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop the subscription link: the phone's calendar gets no more updates."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    await query.answer()
    async with deps(context).db.uow() as uow:
        revoked = await revoke_link(uow, user.telegram_id)
    key = "calendar.link_revoked" if revoked else "calendar.no_link"
    # Pressed under the link: the link's message becomes this (the link leaves the chat);
    # pressed on the /calendar screen ("cz:c"): a new message, the screen stays.
    on_screen = bool(decode(query.data).args)
    await show(update, t(user.language, key), edit=not on_screen)


async def add_first(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "add your first plan" button of /start, /status and /calendar: /add."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    await add_plan.start(update, context)
