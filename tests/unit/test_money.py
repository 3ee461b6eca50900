"""core.money: the fen rounding helpers and the typed-amount parser."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import (
    CENT,
    MAX_AMOUNT,
    ZERO,
    AmountError,
    AmountProblem,
    from_fen,
    parse_amount,
    quantize,
    quantize_down,
    to_fen,
    validate_amount,
)

MAX_FEN = 1_000_000_000  # ¥10,000,000.00

# Any amount with exactly two decimals in (0, 10M].
amounts = st.integers(1, MAX_FEN).map(lambda fen: Decimal(fen).scaleb(-2))


def test_constants() -> None:
    assert Decimal("0.01") == CENT
    assert ZERO == 0
    assert ZERO.as_tuple().exponent == -2
    assert Decimal("10000000.00") == MAX_AMOUNT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1.005"), Decimal("1.01")),
        (Decimal("1.004999"), Decimal("1.00")),
        (Decimal("2.675"), Decimal("2.68")),
        (Decimal("-1.005"), Decimal("-1.01")),  # half up means away from zero
        (Decimal("0.0049"), Decimal("0.00")),
        (7, Decimal("7.00")),
    ],
)
def test_quantize_rounds_half_up(value: Decimal | int, expected: Decimal) -> None:
    result = quantize(value)
    assert result == expected
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1.009"), Decimal("1.00")),
        (Decimal("1.999"), Decimal("1.99")),
        (Decimal("-1.009"), Decimal("-1.00")),
        (Decimal("333.333333"), Decimal("333.33")),
        (5, Decimal("5.00")),
    ],
)
def test_quantize_down_truncates(value: Decimal | int, expected: Decimal) -> None:
    result = quantize_down(value)
    assert result == expected
    assert result.as_tuple().exponent == -2


def test_fen_conversions() -> None:
    assert to_fen(Decimal("1234.56")) == 123456
    assert to_fen(Decimal("0.01")) == 1
    assert to_fen(Decimal("1.005")) == 101  # quantized half up first
    assert isinstance(to_fen(Decimal("3")), int)
    assert from_fen(123456) == Decimal("1234.56")
    assert from_fen(1) == Decimal("0.01")
    assert from_fen(0) == ZERO
    assert from_fen(5).as_tuple().exponent == -2


@settings(deadline=None)
@given(st.integers(-(10**12), 10**12))
def test_fen_round_trip(fen: int) -> None:
    assert to_fen(from_fen(fen)) == fen


@settings(deadline=None)
@given(st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False))
def test_quantize_is_within_half_a_fen(value: Decimal) -> None:
    assert abs(quantize(value) - value) <= Decimal("0.005")
    down = quantize_down(value)
    assert abs(down) <= abs(value)
    assert abs(value - down) < CENT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234.56", Decimal("1234.56")),
        ("¥1234", Decimal("1234.00")),
        ("1234元", Decimal("1234.00")),
        ("1234.5", Decimal("1234.50")),
        ("￥ 88", Decimal("88.00")),
        ("RMB 10", Decimal("10.00")),
        ("rmb10", Decimal("10.00")),
        ("CNY 7.5", Decimal("7.50")),
        ("10 RMB", Decimal("10.00")),
        ("25块", Decimal("25.00")),
        ("  42  ", Decimal("42.00")),
        ("+5", Decimal("5.00")),
        (".5", Decimal("0.50")),
        ("0.01", Decimal("0.01")),
        ("1，234．56", Decimal("1234.56")),  # full-width comma and point
        ("10,000,000.00", MAX_AMOUNT),
        ("10000000", MAX_AMOUNT),
    ],
)
def test_parse_amount_accepts(text: str, expected: Decimal) -> None:
    result = parse_amount(text)
    assert result == expected
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", AmountProblem.EMPTY),
        ("   ", AmountProblem.EMPTY),
        ("-5", AmountProblem.NEGATIVE),
        ("−5", AmountProblem.NEGATIVE),  # unicode minus
        ("¥-5", AmountProblem.NEGATIVE),
        ("-¥5", AmountProblem.NEGATIVE),
        ("0", AmountProblem.ZERO),
        ("0.00", AmountProblem.ZERO),
        ("¥0", AmountProblem.ZERO),
        ("1.234", AmountProblem.TOO_MANY_DECIMALS),
        ("0.001", AmountProblem.TOO_MANY_DECIMALS),
        ("10000000.01", AmountProblem.TOO_LARGE),
        ("99,999,999", AmountProblem.TOO_LARGE),
        ("NaN", AmountProblem.NOT_FINITE),
        ("nan", AmountProblem.NOT_FINITE),
        ("inf", AmountProblem.NOT_FINITE),
        ("-Infinity", AmountProblem.NOT_FINITE),
        ("1e3", AmountProblem.EXPONENT),
        ("1E-2", AmountProblem.EXPONENT),
        ("abc", AmountProblem.NOT_A_NUMBER),
        ("1,23,4", AmountProblem.NOT_A_NUMBER),
        ("1,2345", AmountProblem.NOT_A_NUMBER),
        ("12.34.56", AmountProblem.NOT_A_NUMBER),
        ("1_000", AmountProblem.NOT_A_NUMBER),
        ("¥", AmountProblem.EMPTY),
        ("banana", AmountProblem.NOT_A_NUMBER),
        ("1234.560", AmountProblem.TOO_MANY_DECIMALS),
        ("-inf", AmountProblem.NOT_FINITE),
        ("5 dollars", AmountProblem.NOT_A_NUMBER),
    ],
)
def test_parse_amount_rejects(text: str, problem: AmountProblem) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(text)
    assert caught.value.problem is problem
    assert caught.value.text == text
    assert problem.value in str(caught.value)


def test_amount_error_is_a_value_error() -> None:
    error = AmountError(AmountProblem.ZERO, "0")
    assert isinstance(error, ValueError)
    assert str(error) == "zero: '0'"


@settings(max_examples=300)
@given(amounts)
def test_parse_amount_round_trips_plain(amount: Decimal) -> None:
    assert parse_amount(str(amount)) == amount


@settings(max_examples=300)
@given(amounts, st.sampled_from(["", "¥", "￥ ", "RMB "]), st.sampled_from(["", "元", " CNY"]))
def test_parse_amount_round_trips_with_separators(
    amount: Decimal, prefix: str, suffix: str
) -> None:
    text = f"{prefix}{amount:,}{suffix}"
    assert parse_amount(text) == amount


@settings(deadline=None)
@given(st.integers(MAX_FEN + 1, MAX_FEN * 1000))
def test_parse_amount_refuses_anything_above_the_maximum(fen: int) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(f"{Decimal(fen).scaleb(-2):,}")
    assert caught.value.problem is AmountProblem.TOO_LARGE


@settings(deadline=None)
@given(amounts)
def test_parse_amount_refuses_any_negative(amount: Decimal) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(f"-{amount}")
    assert caught.value.problem is AmountProblem.NEGATIVE


@settings(deadline=None)
@given(amounts, st.integers(1, 9))
def test_parse_amount_refuses_a_third_decimal(amount: Decimal, digit: int) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(f"{amount}{digit}")
    assert caught.value.problem is AmountProblem.TOO_MANY_DECIMALS


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1"), Decimal("1.00")),
        (Decimal("1234.5"), Decimal("1234.50")),
        (Decimal("0.01"), Decimal("0.01")),
        (Decimal("1.230"), Decimal("1.23")),
        (MAX_AMOUNT, MAX_AMOUNT),
    ],
)
def test_validate_amount_accepts(value: Decimal, expected: Decimal) -> None:
    result = validate_amount(value)
    assert result == expected
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (Decimal("NaN"), AmountProblem.NOT_FINITE),
        (Decimal("Infinity"), AmountProblem.NOT_FINITE),
        (Decimal("-Infinity"), AmountProblem.NOT_FINITE),
        (Decimal("-0.01"), AmountProblem.NEGATIVE),
        (Decimal("0"), AmountProblem.ZERO),
        (Decimal("-0"), AmountProblem.ZERO),
        (Decimal("1.001"), AmountProblem.TOO_MANY_DECIMALS),
        (Decimal("10000000.01"), AmountProblem.TOO_LARGE),
    ],
)
def test_validate_amount_rejects(value: Decimal, problem: AmountProblem) -> None:
    with pytest.raises(AmountError) as caught:
        validate_amount(value)
    assert caught.value.problem is problem


@settings(deadline=None)
@given(amounts)
def test_validate_amount_agrees_with_parse_amount(amount: Decimal) -> None:
    assert validate_amount(amount) == parse_amount(str(amount)) == amount
