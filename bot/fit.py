"""The one rule that makes every screen and reminder fit in a Telegram message.

Telegram refuses a text over 4096 characters, counted in UTF-16 code units of what the
reader sees (HTML tags removed, entities decoded: an emoji counts 2), and an inline
keyboard over 100 buttons. Data decides how long a list is, so no screen may hope it
stays short: a screen is a head, a list of items and a tail, and :func:`fit` shows the
items in order while they fit under :data:`BUDGET`, then one line that says how many
are left and where to see them. Long button lists are shown a page at a time
(:func:`page_of`), a page small enough that a keyboard never nears 100 buttons.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

TELEGRAM_MAX_TEXT = 4096
TELEGRAM_MAX_BUTTONS = 100
# Under Telegram's limit with a margin, so a wording change in a catalog or a locale's
# longer date format cannot tip a full screen over.
BUDGET = 3800
# Rows of a button list per page: above the per-user limits (core/limits.py), so an
# ordinary account never sees a second page, and far below 100 buttons with the rows
# of navigation and actions around them.
PAGE_ROWS = 20

_TAG = re.compile(r"<[^>]*>")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


def visible_text(text: str) -> str:
    """What the reader sees of ``text`` (HTML): our texts hold only our own tags and
    escaped user text, so removing tags and decoding entities gives exactly that."""
    return html.unescape(_TAG.sub("", text))


def visible_length(text: str) -> int:
    """What Telegram counts: UTF-16 code units of ``text`` once its HTML is parsed."""
    return len(visible_text(text).encode("utf-16-le")) // 2


class DoesNotFit(ValueError):
    """The fixed part of a screen (head, tail, summary) is over the budget: a bug in the
    screen, never the data's fault."""


def fit(
    head: Sequence[str],
    items: Sequence[str],
    tail: Sequence[str] = (),
    *,
    more: Callable[[int], str],
    budget: int = BUDGET,
) -> str:
    """``head``, as many leading ``items`` as fit, ``more(n)`` for the ``n`` left out (if
    any), and ``tail``, one per line, within ``budget`` visible UTF-16 units."""
    fixed = [*head, *tail]
    used = sum(visible_length(part) for part in fixed) + max(len(fixed) - 1, 0)
    lengths = [visible_length(item) + 1 for item in items]  # each with its line break
    shown, running = 0, used
    for count in range(len(items) + 1):
        if count:
            running += lengths[count - 1]
        if running > budget:  # more items only make it longer
            break
        left = len(items) - count
        if running + (visible_length(more(left)) + 1 if left else 0) <= budget:
            shown = count
    left = len(items) - shown
    summary = [more(left)] if left else []
    text = "\n".join([*head, *items[:shown], *summary, *tail])
    if visible_length(text) > budget:
        raise DoesNotFit(f"{visible_length(text)} > {budget}: {text[:200]!r}")
    return text


@dataclass(frozen=True, slots=True)
class Page(Generic[T_co]):
    """One page of a list: its items, its number (from 1) and how many pages there are."""

    items: Sequence[T_co]
    page: int
    pages: int


def page_of(items: Sequence[T], page: int, per_page: int = PAGE_ROWS) -> Page[T]:
    """Page ``page`` of ``items`` (clamped to the pages there are)."""
    pages = max(1, -(-len(items) // per_page))
    page = min(max(page, 1), pages)
    start = (page - 1) * per_page
    return Page(items[start : start + per_page], page, pages)
