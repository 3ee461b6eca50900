"""Telegram's input rules: text and caption limits, parse modes, inline keyboards.

Every check raises :class:`~bot.emulator.errors.ApiError` with the description the real
Bot API sends, so a mistake in the bot fails a test here instead of in production.
The HTML parse mode itself is in ``telegram_html.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.emulator import errors
from bot.emulator.errors import ApiError, bad_request
from bot.emulator.telegram_html import parse_html, utf16_len

__all__ = ["Button", "FormattedText", "parse_html", "utf16_len"]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_BUTTONS = 100
MAX_ANSWER_TEXT = 200

Button = tuple[str, str | None]
"""An inline button as inspected by tests: (text, callback_data or url)."""

_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL_RE = re.compile(r"^(?:(?:https?|tg)://\S+|[\w-]+(?:\.[\w-]+)+(?:/\S*)?)$")


@dataclass(frozen=True)
class FormattedText:
    """Text as Telegram stores it: plain text, entities, and the raw HTML if any."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    html: str | None = None


def _strip(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace as Telegram does, moving and clipping the entities."""
    stripped = text.strip()
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    kept = []
    for entity in entities:
        begin = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, size)
        if end > begin:
            kept.append({**entity, "offset": begin, "length": end - begin})
    return stripped, kept


def format_text(raw: str | None, parse_mode: str | None) -> FormattedText:
    """Apply ``parse_mode`` (HTML, Markdown, MarkdownV2 or none) and trim like Telegram."""
    raw = raw or ""
    mode = (parse_mode or "").lower()
    if mode == "html":
        text, entities = parse_html(raw)
        text, entities = _strip(text, entities)
        return FormattedText(text, entities, raw)
    if mode in ("", "markdown", "markdownv2"):
        # Markdown is stored verbatim (not validated): the bot is meant to use HTML.
        return FormattedText(raw.strip())
    raise bad_request("unsupported parse_mode")


def message_text(raw: str | None, parse_mode: str | None) -> FormattedText:
    """A message text: non-empty after parsing and at most 4096 characters, counted as
    Telegram does in UTF-16 code units (an emoji outside the BMP counts 2)."""
    if not (raw or "").strip():
        raise ApiError(400, errors.TEXT_EMPTY)
    formatted = format_text(raw, parse_mode)
    if not formatted.text:
        raise ApiError(400, errors.TEXT_EMPTY)
    if utf16_len(formatted.text) > MAX_TEXT:
        raise ApiError(400, errors.TEXT_TOO_LONG)
    return formatted


def caption_text(raw: str | None, parse_mode: str | None) -> FormattedText:
    """A media caption: may be empty, at most 1024 characters (UTF-16 code units)."""
    formatted = format_text(raw, parse_mode)
    if utf16_len(formatted.text) > MAX_CAPTION:
        raise ApiError(400, errors.CAPTION_TOO_LONG)
    return formatted


def _check_button(button: Any) -> None:
    where = "can't parse inline keyboard button"
    if not isinstance(button, dict):
        raise bad_request(f"{where}: InlineKeyboardButton should be an Object")
    if not isinstance(button.get("text"), str):
        raise bad_request(f'{where}: Field "text" must be of type String')
    if not button["text"].strip():
        raise bad_request(f"{where}: Text must be non-empty")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise ApiError(400, errors.BUTTON_DATA_INVALID)
    if not any(button.get(action) is not None for action in _BUTTON_ACTIONS):
        raise ApiError(400, errors.TEXT_BUTTONS_UNALLOWED)
    url = button.get("url")
    if url is not None and (not isinstance(url, str) or not _URL_RE.match(url)):
        raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def reply_markup(markup: Any) -> dict[str, Any] | None:
    """Validate a ``reply_markup`` object (already JSON-decoded); None if absent."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, errors.BAD_MARKUP)
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "inline_keyboard" must be an Array of Arrays')
        if sum(len(row) for row in rows) > MAX_BUTTONS:
            raise ApiError(400, errors.MARKUP_TOO_LONG)
        for row in rows:
            for button in row:
                _check_button(button)
        return markup
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "keyboard" must be an Array of Arrays')
        return markup
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return markup
    raise ApiError(400, errors.BAD_MARKUP)


def buttons_of(markup: dict[str, Any] | None) -> list[list[Button]]:
    """The inline buttons of ``markup`` in reading order: rows of (text, data or url)."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        [(b["text"], b.get("callback_data", b.get("url"))) for b in row]
        for row in markup["inline_keyboard"]
    ]


def callback_answer_text(text: str | None) -> None:
    """answerCallbackQuery's text is limited to 200 characters."""
    if text is not None and len(text) > MAX_ANSWER_TEXT:
        raise ApiError(400, errors.ANSWER_TOO_LONG)
