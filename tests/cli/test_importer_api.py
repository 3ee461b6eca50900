"""core.importer: ``validate`` and ``import_data`` as the sandbox and tests call them."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db.models import CreditLineRow, PaymentMethodRow, PaymentRow, PlanRow, User
from core.db.uow import Database
from core.domain.status import InstallmentStatus
from core.importer import ImportFile, ImportInvalid, import_data, validate
from core.limits import MAX_OPEN_PLANS, MAX_PAYMENT_METHODS
from core.services.methods import MethodKind, add_method
from core.services.plans import list_plans
from core.services.users import ensure_user

try:
    from tests.cli.conftest import demo_data, sqlite_url
except ImportError:  # tests/ not importable as a package: the conftest folder is on sys.path
    from conftest import demo_data, sqlite_url  # type: ignore[import-not-found, no-redef]

NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.from_url(sqlite_url(tmp_path / "api.db"))
    await database.migrate()
    yield database
    await database.dispose()


def _plan(**changes: Any) -> dict[str, Any]:
    plan: dict[str, Any] = {
        "external_id": "order-1",
        "provider": "Xiaomi",
        "title": "Redmi K70",
        "kind": "purchase",
        "principal": "2999.00",
        "periods": 12,
        "method": "fee_per_period",
        "rate": "0.006",
        "first_due": "2026-12-05",
        "autopay": True,
        "paid_periods": 0,
    }
    plan.update(changes)
    return plan


def _file(*plans: dict[str, Any], **user: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "telegram_id": 1001,
        "language": "en",
        "timezone": "Asia/Shanghai",
        "credit_lines": [{"provider": "Xiaomi", "limit": "20000.00", "frozen": False}],
        "payment_methods": [
            {
                "kind": "bank_card",
                "label": "CMB",
                "last4": "1234",
                "balance": "5000.00",
                "default": True,
            }
        ],
        "plans": list(plans),
    }
    entry.update(user)
    return {"users": [entry]}


def test_demo_is_valid() -> None:
    model, errors = validate(demo_data())
    assert errors == []
    assert isinstance(model, ImportFile)
    assert model.users[0].telegram_id == 1001
    assert {user.language for user in model.users} == {"zh", "en"}
    assert isinstance(model.users[0].plans[0].principal, Decimal)


def test_the_documented_example_is_valid() -> None:
    model, errors = validate(_file(_plan()))
    assert errors == []
    assert model is not None


@pytest.mark.parametrize(("changes", "path", "message"), [
    ({"principal": "0"}, "principal", "must be positive"),
    ({"principal": "2,999.00"}, None, None),
    ({"principal": "¥2999"}, None, None),
    ({"principal": 2999}, "principal", "must be a string"),
    ({"principal": "29.999"}, "principal", "at most 2 decimals"),
    ({"rate": "0.05"}, "rate", "fee rate per period above"),
    ({"rate": 0.006}, "rate", "must be a string"),
    ({"rate": "1e-3"}, "rate", "not a rate"),
    ({"method": "annuity", "rate": "0.40"}, "rate", "annual rate above"),
    ({"method": "interest_free"}, "rate", "interest-free plan has rate 0"),
    ({"periods": 61}, "periods", "less than or equal to 60"),
    ({"periods": True}, "periods", "must be an integer"),
    ({"paid_periods": 13}, "paid_periods", "must not exceed periods (12)"),
    ({"paid_periods": -1}, "paid_periods", "greater than or equal to 0"),
    ({"first_due": "2026/12/05"}, "first_due", "not a date"),
    ({"first_due": "2026-11-31"}, "first_due", "no such day"),
    ({"start_date": "2026-12-05"}, "start_date", "before its first due date"),
    ({"kind": "loan"}, "kind", "must be 'purchase' or 'cash_advance'"),
    ({"title": ""}, "title", "at least 1 character"),
    ({"external_id": "x" * 49}, "external_id", "at most 48 characters"),
    ({"autopay": "yes"}, "autopay", "must be true or false"),
    ({"autopay_method": "ICBC"}, "autopay_method", "no payment method labelled 'ICBC'"),
    ({"payoff_forbidden_reason": "no"}, "payoff_forbidden_reason", "forbidden"),
    ({"payoff_policy": "forbidden", "payoff_forbidden_reason": "promo"}, None, None),
    ({"colour": "red"}, "colour", "unknown field"),
])  # fmt: skip
def test_plan_errors(changes: dict[str, Any], path: str | None, message: str | None) -> None:
    model, errors = validate(_file(_plan(**changes)))
    if path is None:
        assert errors == []
        assert model is not None
        return
    assert model is None
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"$.users[0].plans[0].{path}: ")
    assert message is not None
    assert message in errors[0]


@pytest.mark.parametrize(("changes", "error"), [
    ({"telegram_id": 0}, "$.users[0].telegram_id: must be greater than 0"),
    ({"telegram_id": "1001"}, "$.users[0].telegram_id: must be an integer"),
    ({"language": "fr"}, "$.users[0].language: must be 'zh' or 'en'"),
    ({"timezone": "Asia/Nowhere"}, "$.users[0].timezone: not a known IANA time zone"),
    ({"credit_lines": [{"provider": "X", "limit": "0.00"}]}, None),
    ({"credit_lines": [{"provider": "X"}]}, "$.users[0].credit_lines[0].limit: required"),
    ({"payment_methods": [{"kind": "wechat", "label": "WeChat", "balance": "0.00"}]}, None),
    ({"payment_methods": [{"kind": "bank_card", "label": "CMB"}]},
     "$.users[0].payment_methods[0].last4: a bank card needs its last 4 digits"),
    ({"payment_methods": [{"kind": "alipay", "label": "A", "last4": "12a4"}]},
     "$.users[0].payment_methods[0].last4: String should match pattern"),
    ({"payment_methods": [{"kind": "alipay", "label": "A", "balance": "-1"}]},
     "$.users[0].payment_methods[0].balance: must be positive"),
    ({"plans": "none"}, "$.users[0].plans: must be a list"),
])  # fmt: skip
def test_user_errors(changes: dict[str, Any], error: str | None) -> None:
    model, errors = validate(_file(**changes))
    if error is None:
        assert errors == []
        return
    assert model is None
    assert len(errors) == 1, errors
    assert errors[0].startswith(error)


def test_cross_item_rules() -> None:
    data = _file(_plan(), _plan(title="again"))
    data["users"][0]["payment_methods"].append(
        {"kind": "wechat", "label": "WeChat", "default": True}
    )
    data["users"][0]["credit_lines"].append({"provider": "Xiaomi", "limit": "1.00"})
    data["users"].append(copy.deepcopy(data["users"][0]))
    data["users"][1]["plans"] = []
    _model, errors = validate(data)
    assert errors == [
        "$.users[0].credit_lines[1].provider: duplicate credit line provider"
        " (first at $.users[0].credit_lines[0].provider)",
        "$.users[0].payment_methods[1].default: more than one default method"
        " (also $.users[0].payment_methods[0])",
        "$.users[0].plans[1].external_id: duplicate external_id"
        " (first at $.users[0].plans[0].external_id)",
        "$.users[1].credit_lines[1].provider: duplicate credit line provider"
        " (first at $.users[1].credit_lines[0].provider)",
        "$.users[1].payment_methods[1].default: more than one default method"
        " (also $.users[1].payment_methods[0])",
        "$.users[1].telegram_id: duplicate telegram_id (first at $.users[0].telegram_id)",
    ]


@pytest.mark.parametrize(("data", "error"), [
    ([], "$: must be an object"),
    ({}, "$.users: required"),
    ({"users": []}, "$.users: must list at least one user"),
    ({"users": [1]}, "$.users[0]: must be an object"),
])  # fmt: skip
def test_top_level_errors(data: object, error: str) -> None:
    assert validate(data) == (None, [error])


async def test_import_data_writes_the_demo(db: Database) -> None:
    report = await import_data(db, demo_data(), NOW)
    assert (report.users.created, report.users.present) == (3, 0)
    assert report.plans.created == 11
    assert report.payments == 24
    again = await import_data(db, demo_data(), NOW)
    assert (again.users.created, again.users.present) == (0, 3)
    assert (again.plans.created, again.plans.present) == (0, 11)
    assert (again.credit_lines.created, again.payment_methods.created) == (0, 0)
    assert again.installments == again.payments == 0


async def test_demo_state_as_of_import_day(db: Database) -> None:
    await import_data(db, demo_data(), NOW)
    async with db.uow() as uow:
        en_plans = {p.title: p for p in await list_plans(uow, 1002, NOW)}
        zh_plans = {p.title: p for p in await list_plans(uow, 1001, NOW)}
        rows = await uow.session.scalars(select(PaymentMethodRow))
        methods = {m.label: (m.id, m.balance) for m in rows}
    overdue = en_plans["Xiaomi 14 Ultra 16GB+512GB"]
    assert overdue.paid_periods == 3
    assert [i.status for i in overdue.installments[3:6]] == [InstallmentStatus.OVERDUE] * 3
    for plan in zh_plans.values():
        assert all(i.status is not InstallmentStatus.OVERDUE for i in plan.installments)
    hsbc_id, hsbc_balance = methods["HSBC"]
    macbook = en_plans["MacBook Air 13 M3"]
    assert macbook.autopay_method_id == hsbc_id
    assert macbook.installments[0].owed.total > hsbc_balance  # too low for the next bill
    by_label = {label: method_id for label, (method_id, _) in methods.items()}
    assert zh_plans["戴森吹风机 HD15"].autopay_method_id == by_label["微信支付"]
    assert zh_plans["Redmi K70 Pro 16GB+512GB"].autopay_method_id == by_label["招商银行"]
    assert zh_plans["华为 MatePad Pro 13.2"].autopay_method_id is None


async def test_frozen_line_carries_plans(db: Database) -> None:
    data = _file(_plan(), credit_lines=[{"provider": "Xiaomi", "limit": "0.00", "frozen": True}])
    report = await import_data(db, data, NOW)
    assert report.plans.created == 1
    async with db.uow() as uow:
        line = await uow.session.scalar(select(CreditLineRow))
        assert line is not None
        assert line.frozen
        assert line.limit == Decimal("0.00")


async def test_periods_paid_ahead_are_dated_today(db: Database) -> None:
    await import_data(db, _file(_plan(paid_periods=2, first_due="2026-11-20")), NOW)
    async with db.uow() as uow:
        paid_on = list(
            await uow.session.scalars(select(PaymentRow.paid_on).order_by(PaymentRow.id))
        )
        plans = await list_plans(uow, 1001, NOW)
    assert paid_on == [date(2026, 11, 20), date(2026, 11, 22)]
    assert plans[0].paid_periods == 2


async def test_existing_user_and_default_are_left_as_is(db: Database) -> None:
    async with db.uow() as uow:
        await ensure_user(uow, 1001, NOW, language_code="zh", default_timezone="Asia/Harbin")
        existing = await add_method(uow, 1001, MethodKind.ALIPAY, "Alipay", None, NOW)
    report = await import_data(db, _file(_plan()), NOW)
    assert (report.users.created, report.users.present) == (0, 1)
    assert report.payment_methods.created == 1
    async with db.uow() as uow:
        user = await uow.session.get(User, 1001)
        assert user is not None
        assert (user.language, user.timezone) == ("zh", "Asia/Harbin")
        defaults = await uow.session.scalars(
            select(PaymentMethodRow.id).where(PaymentMethodRow.is_default)
        )
        assert list(defaults) == [existing.method_id]
        plan = await uow.session.scalar(select(PlanRow))
        assert plan is not None
        assert plan.autopay_method_id == existing.method_id


async def test_first_new_method_becomes_default_when_none_is_marked(db: Database) -> None:
    methods = [
        {"kind": "wechat", "label": "WeChat", "balance": "10.00"},
        {"kind": "alipay", "label": "Alipay"},
    ]
    await import_data(db, _file(payment_methods=methods), NOW)
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(PaymentMethodRow).order_by(PaymentMethodRow.id))
        found = [(r.label, r.is_default, r.balance) for r in rows]
    assert found == [
        ("WeChat", True, Decimal("10.00")),
        ("Alipay", False, Decimal("0.00")),
    ]


async def test_invalid_data_writes_nothing(db: Database) -> None:
    with pytest.raises(ImportInvalid) as caught:
        await import_data(db, _file(_plan(principal="0"), _plan(external_id="b", rate="9")), NOW)
    assert len(caught.value.errors) == 2
    async with db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(User)) == 0


async def test_naive_now_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="aware"):
        await import_data(db, _file(), datetime(2026, 11, 22))


async def _first_dues(db: Database) -> dict[str, date]:
    async with db.uow() as uow:
        rows = await uow.session.execute(select(PlanRow.external_id, PlanRow.first_due))
        return {str(external_id): first_due for external_id, first_due in rows}


async def test_dates_relative_to_a_day_move_to_the_day_of_the_import(db: Database) -> None:
    data = _file(_plan(first_due="2026-12-05", start_date="2026-11-05"))
    data["relative_to"] = "2026-11-22"
    later = datetime(2027, 3, 1, 4, 0, tzinfo=UTC)  # 99 days after 2026-11-22, in Shanghai
    await import_data(db, data, later)
    assert await _first_dues(db) == {"order-1": date(2027, 3, 14)}  # 2026-12-05 + 99 days
    async with db.uow() as uow:
        start = await uow.session.scalar(select(PlanRow.start_date))
    assert start == date(2027, 2, 12)  # 2026-11-05 + 99 days


async def test_relative_dates_use_the_users_zone_for_the_day(db: Database) -> None:
    data = _file(_plan(first_due="2026-12-05"), timezone="America/Los_Angeles")
    data["relative_to"] = "2026-11-22"
    # 2026-11-23 02:00 UTC is still 2026-11-22 in Los Angeles: no shift.
    await import_data(db, data, datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    assert await _first_dues(db) == {"order-1": date(2026, 12, 5)}


async def test_absolute_dates_are_imported_as_written_on_any_day(db: Database) -> None:
    await import_data(db, _file(_plan(first_due="2026-12-05")), datetime(2029, 1, 1, tzinfo=UTC))
    assert await _first_dues(db) == {"order-1": date(2026, 12, 5)}


def test_relative_to_must_be_a_date() -> None:
    data = _file(_plan())
    data["relative_to"] = "last monday"
    model, errors = validate(data)
    assert model is None
    assert errors == ["$.relative_to: not a date (use YYYY-MM-DD)"]


# ------------------------------------------- bounds and per-user limits (issue 10 §3)


def _many(count: int, **changes: Any) -> list[dict[str, Any]]:
    return [_plan(external_id=f"order-{n}", **changes) for n in range(count)]


def _methods(count: int) -> list[dict[str, Any]]:
    return [{"kind": "alipay", "label": f"Alipay {n}"} for n in range(count)]


async def _plan_count(db: Database) -> int:
    async with db.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(PlanRow)) or 0)


@pytest.mark.parametrize(("first_due", "error"), [
    ("1900-01-01", "more than 1860 days before the import day (2026-11-22)"),
    ("2021-10-18", "more than 1860 days before the import day (2026-11-22)"),
    ("2027-11-24", "more than 366 days after the import day (2026-11-22)"),
    ("9999-12-31", "more than 366 days after the import day (2026-11-22)"),
])  # fmt: skip
async def test_a_first_due_date_out_of_range_is_refused_with_its_path(
    db: Database, first_due: str, error: str
) -> None:
    data = _file(_plan(), _plan(external_id="old", first_due=first_due, periods=1))
    assert validate(data)[1] == []  # the range depends on the import day
    with pytest.raises(ImportInvalid) as caught:
        await import_data(db, data, NOW)
    assert caught.value.errors == [f"$.users[0].plans[1].first_due: {error}"]
    assert await _plan_count(db) == 0


async def test_the_ends_of_the_first_due_range_are_accepted(db: Database) -> None:
    ends = [
        _plan(external_id="earliest", first_due="2021-10-19", periods=60, principal="6000.00"),
        _plan(external_id="latest", first_due="2027-11-23"),
    ]
    report = await import_data(db, _file(*ends), NOW)
    assert report.plans.created == 2


async def test_plans_already_present_are_not_checked_again(db: Database) -> None:
    data = _file(_plan())
    await import_data(db, data, NOW)
    years_later = NOW + timedelta(days=3000)  # its first due date is long out of range
    again = await import_data(db, data, years_later)
    assert (again.plans.created, again.plans.present) == (0, 1)


def test_a_file_with_more_open_plans_or_methods_than_a_user_may_have() -> None:
    # Paid-off plans do not count: 20 open and one paid off is fine.
    fine = _file(*_many(MAX_OPEN_PLANS), _plan(external_id="done", paid_periods=12))
    assert validate(fine)[1] == []
    too_many = _file(
        *_many(MAX_OPEN_PLANS + 1),
        payment_methods=_methods(MAX_PAYMENT_METHODS + 1),
    )
    assert validate(too_many) == (
        None,
        [
            "$.users[0].payment_methods: 11 payment methods: a user may have at most 10",
            "$.users[0].plans: 21 open plans: a user may have at most 20 not yet paid off",
        ],
    )


async def test_limits_count_what_the_user_already_has(db: Database) -> None:
    await import_data(db, _file(*_many(MAX_OPEN_PLANS - 1), payment_methods=_methods(9)), NOW)
    more = _file(
        _plan(external_id="new-1"),
        _plan(external_id="new-2"),
        payment_methods=_methods(11)[9:],  # 2 new ones
    )
    with pytest.raises(ImportInvalid) as caught:
        await import_data(db, more, NOW)
    assert caught.value.errors == [
        "$.users[0].payment_methods: 2 new payment methods with the 9 the user has:"
        " more than the limit of 10",
        "$.users[0].plans: 2 new open plans with the 19 the user has:"
        " more than the limit of 20 plans not yet paid off",
    ]
    assert await _plan_count(db) == MAX_OPEN_PLANS - 1
    # One more of each fits.
    fits = _file(_plan(external_id="new-1"), payment_methods=_methods(10)[9:])
    report = await import_data(db, fits, NOW)
    assert (report.plans.created, report.payment_methods.created) == (1, 1)
