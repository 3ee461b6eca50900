"""The import file's shape (pydantic models) and ``validate``: every error, with its JSON path."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from core.domain.dates import DateError, DateProblem
from core.domain.terms import Method, PayoffPolicy, PlanKind
from core.importer.checks import Loc, cross_errors, format_path, loc_order
from core.limits import MAX_PLAN_PERIODS
from core.money import ZERO, AmountError, AmountProblem, parse_amount
from core.services.errors import InvalidInput
from core.services.plans import PlanDraft, preview_plan
from core.zones import is_known_zone

AMOUNT_MESSAGES = {
    AmountProblem.EMPTY: "must not be empty",
    AmountProblem.NOT_A_NUMBER: "not an amount",
    AmountProblem.EXPONENT: "exponent notation is not accepted",
    AmountProblem.NOT_FINITE: "must be a finite number",
    AmountProblem.NEGATIVE: "must be positive",
    AmountProblem.ZERO: "must be positive",
    AmountProblem.TOO_MANY_DECIMALS: "at most 2 decimals (fen)",
    AmountProblem.TOO_LARGE: "over the maximum of 10,000,000.00",
}
DATE_MESSAGES = {
    DateProblem.EMPTY: "must not be empty",
    DateProblem.NOT_A_DATE: "not a date (use YYYY-MM-DD)",
    DateProblem.NO_SUCH_DAY: "no such day in the calendar",
}
EXTERNAL_ID_MAX = 48  # keeps the imported payments' idempotency keys within 80 characters
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # always fullmatch
_RATE = re.compile(r"\d{1,2}(?:\.\d{1,8})?")


def _amount(value: object, *, zero_ok: bool) -> Decimal:
    if not isinstance(value, str):
        raise ValueError('must be a string such as "2999.00"')
    try:
        return parse_amount(value)
    except AmountError as exc:
        if zero_ok and exc.problem is AmountProblem.ZERO:
            return ZERO
        raise ValueError(AMOUNT_MESSAGES[exc.problem]) from exc


def _positive_amount(value: object) -> Decimal:
    return _amount(value, zero_ok=False)


def _amount_or_zero(value: object) -> Decimal:
    return _amount(value, zero_ok=True)


def _rate(value: object) -> Decimal:
    if not isinstance(value, str):
        raise ValueError('must be a string such as "0.006"')
    if not _RATE.fullmatch(value.strip()):
        raise ValueError("not a rate (a decimal fraction such as 0.18, at most 8 decimals)")
    try:
        return Decimal(value.strip())
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only decimals
        raise ValueError("not a rate") from exc


def _iso_date(value: object) -> date:
    if not isinstance(value, str):
        raise ValueError('must be a string such as "2026-12-15"')
    if not _ISO_DATE.fullmatch(value):
        raise ValueError(DATE_MESSAGES[DateProblem.NOT_A_DATE])
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(DATE_MESSAGES[DateProblem.NO_SUCH_DAY]) from exc


def date_message(exc: DateError) -> str:
    return DATE_MESSAGES[exc.problem]


def _zone(name: str) -> str:
    if not is_known_zone(name):
        raise ValueError("not a known IANA time zone (e.g. Asia/Shanghai)")
    return name


Amount = Annotated[Decimal, PlainValidator(_positive_amount)]
AmountOrZero = Annotated[Decimal, PlainValidator(_amount_or_zero)]
Rate = Annotated[Decimal, PlainValidator(_rate)]
IsoDate = Annotated[date, PlainValidator(_iso_date)]
Zone = Annotated[str, AfterValidator(_zone)]
Text64 = Annotated[str, Field(min_length=1, max_length=64)]


def _field_error(field: str, message: str) -> PydanticCustomError:
    """An error a model validator reports on one of the model's fields."""
    return PydanticCustomError("field_problem", message, {"field": field})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True, frozen=True)


class CreditLineIn(_Model):
    provider: Text64
    limit: AmountOrZero
    frozen: bool = False


class MethodIn(_Model):
    kind: Literal["bank_card", "wechat", "alipay"]
    label: Text64
    last4: Annotated[str, Field(pattern=r"^\d{4}$")] | None = None  # Rust regex: "$" = end
    balance: AmountOrZero = ZERO
    default: bool = False

    @model_validator(mode="after")
    def _card_digits(self) -> Self:
        if self.kind == "bank_card" and self.last4 is None:
            raise _field_error("last4", "a bank card needs its last 4 digits")
        return self


# Which field of a plan a ``TermsError`` problem is about.
_TERMS_FIELDS = {
    "principal": "principal",
    "periods": "periods",
    "rate": "rate",
    "early_repayment_fee_rate": "early_repayment_fee_rate",
}


class PlanIn(_Model):
    external_id: Annotated[str, Field(min_length=1, max_length=EXTERNAL_ID_MAX)]
    provider: Text64
    title: Annotated[str, Field(min_length=1, max_length=128)]
    kind: Literal["purchase", "cash_advance"] = "purchase"
    principal: Amount
    periods: Annotated[int, Field(ge=1, le=MAX_PLAN_PERIODS)]
    method: Literal["fee_per_period", "annuity", "equal_principal", "interest_free"]
    rate: Rate = Decimal("0")
    first_due: IsoDate
    start_date: IsoDate | None = None
    autopay: bool = False
    autopay_method: Text64 | None = None
    paid_periods: Annotated[int, Field(ge=0)] = 0
    payoff_policy: Literal[
        "waive_future_fees", "charge_future_fees", "early_repayment_fee", "forbidden"
    ] = "waive_future_fees"
    early_repayment_fee_rate: Rate = Decimal("0")
    payoff_forbidden_reason: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    def draft(self) -> PlanDraft:
        return PlanDraft(
            provider=self.provider,
            title=self.title,
            principal=self.principal,
            periods=self.periods,
            method=Method(self.method),
            rate=self.rate,
            first_due=self.first_due,
            kind=PlanKind(self.kind),
            external_id=self.external_id,
            start_date=self.start_date,
            autopay=self.autopay,
            payoff_policy=PayoffPolicy(self.payoff_policy),
            early_repayment_fee_rate=self.early_repayment_fee_rate,
            payoff_forbidden_reason=self.payoff_forbidden_reason,
        )

    @model_validator(mode="after")
    def _terms(self) -> Self:
        if self.paid_periods > self.periods:
            raise _field_error("paid_periods", f"must not exceed periods ({self.periods})")
        if self.payoff_forbidden_reason is not None and self.payoff_policy != "forbidden":
            raise _field_error("payoff_forbidden_reason", 'only with payoff_policy "forbidden"')
        try:
            preview_plan(self.draft().terms())
        except InvalidInput as exc:
            if exc.field == "start_date":
                field = "start_date" if self.start_date is not None else "first_due"
            else:
                field = _TERMS_FIELDS.get(exc.field, "")
            raise _field_error(field, exc.problem) from exc
        return self


class UserIn(_Model):
    telegram_id: Annotated[int, Field(gt=0, lt=2**63)]
    language: Literal["zh", "en"]
    timezone: Zone
    credit_lines: list[CreditLineIn] = []
    payment_methods: list[MethodIn] = []
    plans: list[PlanIn] = []


class ImportFile(_Model):
    users: Annotated[list[UserIn], Field(min_length=1)]
    # The day the file's dates were written for: when set, every date is moved by the
    # days from it to the day of the import (in each user's zone), so sample data tells
    # the same story whenever it is loaded.
    relative_to: IsoDate | None = None


_FRIENDLY = {
    "missing": "required",
    "extra_forbidden": "unknown field",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
}


def _pydantic_errors(exc: ValidationError) -> list[tuple[Loc, str]]:
    found: list[tuple[Loc, str]] = []
    for error in exc.errors(include_url=False):
        loc: Loc = tuple(error["loc"])
        ctx: dict[str, Any] = error.get("ctx") or {}
        message = _FRIENDLY.get(error["type"], error["msg"])
        if error["type"] == "value_error":
            message = str(ctx.get("error", error["msg"]))
        elif error["type"] == "field_problem" and ctx.get("field"):
            loc = (*loc, ctx["field"])
        elif error["type"] == "too_short" and loc == ("users",):
            message = "must list at least one user"
        elif message.startswith("Input should be "):
            message = "must be " + message.removeprefix("Input should be ")
        found.append((loc, message))
    return found


def validate(data: object) -> tuple[ImportFile | None, list[str]]:
    """The parsed file, or ``None`` and every error as ``"$.users[0].plans[1].rate: ..."``."""
    errors: list[tuple[Loc, str]] = []
    model: ImportFile | None = None
    try:
        model = ImportFile.model_validate(data)
    except ValidationError as exc:
        errors.extend(_pydantic_errors(exc))
    errors.extend(cross_errors(data))
    if errors:
        errors.sort(key=lambda item: loc_order(item[0]))
        return None, [f"{format_path(loc)}: {message}" for loc, message in errors]
    return model, []
