"""What the bank accepts on the wire, and the JSON it answers with.

Every request body is a JSON object with known fields only; money is a string of at
most two decimal places (never a JSON number, which a client may have rounded through
a float); identifiers are short and plain. Anything else is a ``BadRequest`` whose
``reason`` the client sees with a 400.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from core.gateway.bank.ledger import AccountKind
from core.limits import MAX_METHOD_LABEL_CHARS
from core.money import MAX_AMOUNT

# An account may hold at most this much; top-ups past it are refused.
MAX_BALANCE = MAX_AMOUNT * 10
MAX_REFERENCE_CHARS = 64
MAX_URL_CHARS = 512
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")  # always fullmatch
# Digits without a sign, exponent or thousands separator; at most two decimals.
_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?")  # always fullmatch


class BadRequest(ValueError):
    """A request the bank refuses as malformed: answered 400 with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def amount_text(value: Decimal) -> str:
    """An amount as the bank writes it: always two decimals."""
    return f"{value:.2f}"


def parse_money(value: object, field: str, *, allow_zero: bool = False) -> Decimal:
    """A money string such as ``"12.30"``: positive (or zero if allowed), ≤ 2 decimals,
    at most ``MAX_AMOUNT``."""
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value):
        raise BadRequest(f'{field}: a string amount such as "12.30" is required')
    amount = Decimal(value)
    if amount == 0 and not allow_zero:
        raise BadRequest(f"{field}: must be more than 0")
    if amount > MAX_AMOUNT:
        raise BadRequest(f"{field}: must be at most {amount_text(MAX_AMOUNT)}")
    return amount.quantize(Decimal("0.01"))


def parse_identifier(value: object, field: str) -> str:
    """An account or a reference: 1-64 letters, digits and ``_ . : -``."""
    if (
        not isinstance(value, str)
        or len(value) > MAX_REFERENCE_CHARS
        or not _IDENTIFIER.fullmatch(value)
    ):
        raise BadRequest(
            f"{field}: 1-{MAX_REFERENCE_CHARS} letters, digits or _ . : - are required"
        )
    return value


def parse_kind(value: object) -> AccountKind:
    try:
        return AccountKind(str(value))
    except ValueError:
        kinds = ", ".join(kind.value for kind in AccountKind)
        raise BadRequest(f"kind: one of {kinds} is required") from None


def parse_label(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_METHOD_LABEL_CHARS:
        raise BadRequest(f"label: 1-{MAX_METHOD_LABEL_CHARS} characters are required")
    if any(not char.isprintable() for char in value):
        raise BadRequest("label: control characters are not allowed")
    return value.strip()


def parse_callback_url(value: object) -> str:
    """An absolute http(s) URL, as the caller's notification endpoint."""
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS:
        raise BadRequest(f"callback_url: an http(s) URL of at most {MAX_URL_CHARS} characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("callback_url: an absolute http(s) URL is required")
    return value


def fields(
    body: object, *, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The body's fields, checked: a JSON object, no unknown field, no missing one."""
    if not isinstance(body, Mapping):
        raise BadRequest("the body must be a JSON object")
    unknown = sorted(set(body) - set(required) - set(optional))
    if unknown:
        raise BadRequest(f"unknown field: {unknown[0]}")
    missing = [name for name in required if body.get(name) is None]
    if missing:
        raise BadRequest(f"{missing[0]}: required")
    return dict(body)
