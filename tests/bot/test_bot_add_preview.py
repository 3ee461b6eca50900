"""The /add preview flags a plan whose annualized rate is above 24 % — the line Chinese
regulators draw for consumer credit — before it is saved (issue 13)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.handlers.add_typed import preview_text
from core.domain.terms import Method
from core.services.plans import PlanDraft


def _draft(rate: str) -> PlanDraft:
    return PlanDraft(
        "Xiaomi", "Redmi", Decimal("2999"), 12, Method.FEE_PER_PERIOD, Decimal(rate),
        date(2027, 1, 5),
    )  # fmt: skip


ZH_FLAG = "⚠️ 高息提示：年化利率超过 24%"
EN_FLAG = "⚠️ High-cost credit: the annualized rate is above 24%"


@pytest.mark.parametrize(("lang", "flag"), [("zh", ZH_FLAG), ("en", EN_FLAG)])
def test_a_rate_above_24_percent_is_flagged(lang: str, flag: str) -> None:
    high = preview_text(lang, _draft("0.015"))  # 1.5 % a month in fees: about 32 % a year
    assert flag in high
    assert flag not in preview_text(lang, _draft("0.006"))  # 13.03 % a year
