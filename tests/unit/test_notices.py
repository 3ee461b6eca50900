"""Repayment notices (SMS, app notices) read into a plan (issue 13): every notice of the
corpus in tests/data/notices.json parses fully — lender, amount due, due date, periods
left — and text that is not a notice, or any text at all, is read in bounded time without
an answer that was not there."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.domain.notices import MAX_NOTICE, read_notice

CORPUS = json.loads((Path(__file__).parents[1] / "data" / "notices.json").read_text())
TODAY = date.fromisoformat(CORPUS["today"])


@pytest.mark.parametrize("case", CORPUS["notices"], ids=lambda c: c["text"][:24])
def test_each_notice_of_the_corpus_parses_fully(case: dict[str, Any]) -> None:
    found = read_notice(case["text"], TODAY)
    assert found is not None
    assert found.provider == case["provider"]
    assert found.amount == Decimal(case["amount"])
    assert found.due == date.fromisoformat(case["due"])
    assert found.periods_left == case["left"]
    plan = found.as_plan()
    assert (plan.per_period, plan.first_due) == (found.amount, found.due)
    assert plan.periods == (case["left"] or 1)  # a bill is one period


def test_the_corpus_has_both_languages_and_the_common_lenders() -> None:
    texts = [case["text"] for case in CORPUS["notices"]]
    assert len(texts) >= 16
    for lender in ("小米", "花呗", "借呗", "白条", "招联", "银行", "Xiaomi", "Huabei", "Bank"):
        assert any(lender in text for text in texts), lender


@pytest.mark.parametrize(
    "text",
    [
        "你好",
        "/status",
        "花呗 3000 12期 0.6%",
        "Your verification code is 123456.",
        "还款日12月5日",
    ],
)
def test_text_that_is_not_a_notice(text: str) -> None:
    assert read_notice(text, TODAY) is None


@given(st.text(max_size=2000))
def test_any_text_is_read_within_bounds(text: str) -> None:
    found = read_notice(text, TODAY)
    if found is not None:
        assert found.amount > 0
        assert found.periods_left is None or found.periods_left >= 1
    assert (
        read_notice(text[:MAX_NOTICE] + "x" * 10_000, TODAY)
        == read_notice(text[:MAX_NOTICE], TODAY)
        or len(text) < MAX_NOTICE
    )
