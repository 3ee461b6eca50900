"""Secrets never reach the log or the terminal: the bot token, the webhook secret and the
database password are replaced by their names wherever they appear.

PTB puts the token in exception texts (``InvalidToken: The token `…` was rejected``)
and in Bot API URLs; a traceback of a failed database connection may carry the URL. A
filter on the root logger's handlers rewrites each record — its message and its
traceback — before any handler formats it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.settings import Settings

_FORMATTER = logging.Formatter()


def settings_secrets(settings: Settings) -> dict[str, str]:
    """Each secret value of ``settings`` and the name it is shown as."""
    found: dict[str, str] = {}
    if settings.bot_token is not None and settings.bot_token.get_secret_value():
        found[settings.bot_token.get_secret_value()] = "<BOT_TOKEN>"
    if settings.webhook_secret is not None and settings.webhook_secret.get_secret_value():
        found[settings.webhook_secret.get_secret_value()] = "<WEBHOOK_SECRET>"
    if settings.gateway_secret is not None and settings.gateway_secret.get_secret_value():
        found[settings.gateway_secret.get_secret_value()] = "<GATEWAY_SECRET>"
    try:
        password = make_url(settings.database_url).password
    except (ArgumentError, ValueError):
        password = None
    if password:
        found[str(password)] = "<DATABASE_PASSWORD>"
    return found


class Redactor:
    """Replaces known secret values by their names."""

    def __init__(self, secrets: dict[str, str]) -> None:
        # Longest first, so that a secret containing another is replaced whole.
        self.secrets = sorted(secrets.items(), key=lambda item: -len(item[0]))

    def __call__(self, text: str) -> str:
        for value, name in self.secrets:
            text = text.replace(value, name)
        return text


class RedactingFilter(logging.Filter):
    """A handler filter: the record's message and traceback, with the secrets replaced."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when set: render the traceback once, redacted.
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install(redact: Redactor, handlers: Iterable[logging.Handler] | None = None) -> None:
    """Put the filter on ``handlers`` (default: the root logger's), once each."""
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, RedactingFilter)]
        handler.addFilter(RedactingFilter(redact))
