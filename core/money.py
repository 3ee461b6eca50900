"""Money: the one place where amounts are quantized and where typed amounts are parsed.

Money is always ``Decimal`` rounded to the fen (0.01 CNY) with ROUND_HALF_UP.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("10000000.00")


def quantize(value: Decimal | int) -> Decimal:
    """Round to the fen, half up: the only rounding rule for money in RepayBot."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def quantize_down(value: Decimal | int) -> Decimal:
    """Truncate to the fen; used where a remainder is carried to a later period."""
    return Decimal(value).quantize(CENT, rounding=ROUND_DOWN)


def to_fen(amount: Decimal) -> int:
    """Exact integer number of fen of a quantized amount."""
    return int(quantize(amount) * 100)


def from_fen(fen: int) -> Decimal:
    """The amount of an integer number of fen: exact, two places (a shift of the decimal
    point, no division or rounding — a sweep reads thousands of these)."""
    return Decimal(fen).scaleb(-2)


class AmountProblem(StrEnum):
    """Why a typed amount was rejected; the bot renders each as a message."""

    EMPTY = "empty"
    NOT_A_NUMBER = "not_a_number"
    EXPONENT = "exponent"
    NOT_FINITE = "not_finite"
    NEGATIVE = "negative"
    ZERO = "zero"
    TOO_MANY_DECIMALS = "too_many_decimals"
    TOO_LARGE = "too_large"


class AmountError(ValueError):
    def __init__(self, problem: AmountProblem, text: str) -> None:
        super().__init__(f"{problem.value}: {text!r}")
        self.problem = problem
        self.text = text


_CURRENCY_PREFIX = re.compile(r"\A(?:¥|￥|CNY|RMB)\s*", re.IGNORECASE)
_CURRENCY_SUFFIX = re.compile(r"\s*(?:元|块|CNY|RMB)\Z", re.IGNORECASE)
# Digits with optional thousands separators, or plain digits, then an optional fraction.
_NOT_FINITE = re.compile(r"[+-]?(?:nan|s?nan|inf|infinity)", re.IGNORECASE)
_NUMBER = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+")  # always fullmatch


def parse_amount(text: str) -> Decimal:
    """Parse what a person types as an amount (``1,234.56``, ``¥1234``, ``1234元``).

    Returns the amount quantized to the fen, or raises ``AmountError`` whose
    ``problem`` says why it was refused.
    """
    raw = text.strip().replace("，", ",").replace("．", ".")
    if not raw:
        raise AmountError(AmountProblem.EMPTY, text)
    sign = ""
    if raw[0] in "+-−":
        sign, raw = ("-" if raw[0] != "+" else ""), raw[1:].lstrip()
    raw = _CURRENCY_SUFFIX.sub("", _CURRENCY_PREFIX.sub("", raw))
    if raw[:1] in ("-", "−"):
        sign, raw = "-", raw[1:].lstrip()
    if not raw:
        raise AmountError(AmountProblem.EMPTY, text)
    if _NOT_FINITE.fullmatch(raw):
        raise AmountError(AmountProblem.NOT_FINITE, text)
    if "e" in raw.lower() and re.fullmatch(r"[\d.,]+[eE][+-]?\d+", raw):
        raise AmountError(AmountProblem.EXPONENT, text)
    if not _NUMBER.fullmatch(raw):
        raise AmountError(AmountProblem.NOT_A_NUMBER, text)
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid numbers
        raise AmountError(AmountProblem.NOT_A_NUMBER, text) from exc
    if sign == "-" and value != 0:
        raise AmountError(AmountProblem.NEGATIVE, text)
    if value == 0:
        raise AmountError(AmountProblem.ZERO, text)
    if len(raw.partition(".")[2]) > 2:
        raise AmountError(AmountProblem.TOO_MANY_DECIMALS, text)
    if value > MAX_AMOUNT:
        raise AmountError(AmountProblem.TOO_LARGE, text)
    return quantize(value)


def validate_amount(value: Decimal) -> Decimal:
    """Apply ``parse_amount``'s rules to an amount that is already a ``Decimal``."""
    if not value.is_finite():
        raise AmountError(AmountProblem.NOT_FINITE, str(value))
    if value < 0:
        raise AmountError(AmountProblem.NEGATIVE, str(value))
    if value == 0:
        raise AmountError(AmountProblem.ZERO, str(value))
    if value != value.quantize(CENT, rounding=ROUND_DOWN):
        raise AmountError(AmountProblem.TOO_MANY_DECIMALS, str(value))
    if value > MAX_AMOUNT:
        raise AmountError(AmountProblem.TOO_LARGE, str(value))
    return quantize(value)
