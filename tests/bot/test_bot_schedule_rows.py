"""A schedule row says what is left of a period paid in part before it is due, rather
than "paid ¥100.00 · upcoming" (issue 13)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.browse_screens import plan_screen
from core.domain.ledger import Parts
from core.domain.status import InstallmentStatus
from core.services.plans import InstallmentView, PlanView

D = Decimal


def _plan(paid: Decimal, status: InstallmentStatus) -> PlanView:
    charged = Parts(fee=D("17.99"), principal=D("249.91"))
    left = charged.total - paid
    item = InstallmentView(
        7,
        6,
        date(2027, 1, 5),
        charged,
        D("0"),
        Parts(principal=paid),
        Parts(principal=left),
        status,
        0,
    )
    return PlanView(
        1, "Redmi", "Xiaomi", "purchase", "fee_per_period", D("2999"), 12, D("0.006"),
        D("0.1303"), False, None, (item,),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "part", "whole"),
    [("en", "paid ¥100.00 · part paid, ¥167.90 left", "paid ¥0.00 · upcoming"),
     ("zh", "已还 ¥100.00 · 已还部分，还差 ¥167.90", "已还 ¥0.00 · 未到期")],
)  # fmt: skip
def test_a_period_paid_in_part_says_what_is_left(lang: str, part: str, whole: str) -> None:
    assert part in plan_screen(lang, _plan(D("100.00"), InstallmentStatus.UPCOMING), 1)
    assert part in plan_screen(lang, _plan(D("100.00"), InstallmentStatus.DUE), 1)
    assert whole in plan_screen(lang, _plan(D("0"), InstallmentStatus.UPCOMING), 1)
