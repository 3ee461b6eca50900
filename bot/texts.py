"""Every user-visible string, from the gettext catalogs in ``bot/locales`` (Babel).

Message ids are namespaced keys (``status.title``); both catalogs must define every
key, and a missing one is an error rather than a silent fallback. Amounts render as
``¥1,234.56`` and dates in the reader's language.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from core.domain.ledger import Parts
from core.services.errors import LimitReached

LOCALES = Path(__file__).parent / "locales"
LANGUAGE_LOCALES = {"zh": "zh_CN", "en": "en"}


class MissingText(KeyError):
    """A key that a catalog does not define."""


@cache
def catalog_keys(language: str) -> frozenset[str]:
    with (LOCALES / LANGUAGE_LOCALES[language] / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return frozenset(str(m.id) for m in read_po(f) if m.id)


@cache
def _translations(language: str) -> Translations:
    """The catalog compiled in memory, so no build step produces ``.mo`` files."""
    locale = LANGUAGE_LOCALES[language]
    with (LOCALES / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def t(language: str, key: str, **values: object) -> str:
    """The text for ``key`` in ``language`` with ``values`` filled in (already escaped)."""
    if key not in catalog_keys(language):
        raise MissingText(f"{language}: {key}")
    return _translations(language).gettext(key).format(**values)


def limit_text(language: str, exc: LimitReached) -> str:
    """A per-user limit reached, said with its number."""
    return t(language, f"limit.{exc.limit.value}", limit=exc.maximum)


def breakdown_text(language: str, parts: Parts) -> str:
    """Penalty, fee, interest and principal of an amount, in allocation order."""
    return t(
        language,
        "repay.breakdown",
        penalty=money(parts.penalty),
        fee=money(parts.fee),
        interest=money(parts.interest),
        principal=money(parts.principal),
    )


def esc(text: str) -> str:
    """Escape user-provided text (titles, labels) for HTML parse mode."""
    return escape(text, quote=False)


def money(amount: Decimal) -> str:
    """¥1,234.56 — the same in both languages."""
    return "¥" + format_decimal(amount, format="#,##0.00", locale="en")


def day(value: date, language: str) -> str:
    return format_date(
        value, format="long" if language == "zh" else "medium", locale=_loc(language)
    )


def near_day(value: date, today: date, language: str) -> str:
    """ "today" and "tomorrow" for those days, otherwise the date as :func:`day` writes it."""
    if value == today:
        return t(language, "date.today")
    if (value - today).days == 1:
        return t(language, "date.tomorrow")
    return day(value, language)


def short_day(value: date, today: date, language: str) -> str:
    """A day that starts a line of a month's list: Today, Tomorrow, or month, day and
    weekday."""
    if 0 <= (value - today).days <= 1:
        said = near_day(value, today, language)
        return said[:1].upper() + said[1:]
    return format_skeleton("MMMEd", value, locale=_loc(language))


def month_name(value: date, language: str) -> str:
    """The month of ``value`` with its year: 2026年12月, December 2026."""
    return format_skeleton("yMMMM", value, locale=_loc(language))


def moment(value: datetime, language: str, timezone: str) -> str:
    """An instant as the reader's local date, written as :func:`day` writes dates (never
    an ambiguous "12/5/26"), and time of day."""
    local = value.astimezone(ZoneInfo(timezone))
    time_of_day = format_time(local, format="short", locale=_loc(language))
    joint = " " if language == "zh" else ", "
    return f"{day(local.date(), language)}{joint}{time_of_day}"


def _loc(language: str) -> str:
    return LANGUAGE_LOCALES[language]
