"""Rules across the items of an import file, checked on the raw JSON so they are reported
even when some item has errors of its own: unique ids, one default method, known labels,
and no more plans or methods per user than the limits allow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.limits import MAX_OPEN_PLANS, MAX_PAYMENT_METHODS

Loc = tuple[int | str, ...]


def format_path(loc: Loc) -> str:
    """``("users", 0, "plans", 1, "rate")`` → ``$.users[0].plans[1].rate``."""
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


def loc_order(loc: Loc) -> tuple[tuple[int, int, str], ...]:
    """Sort key: list positions numerically, field names alphabetically."""
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, part) for part in loc)


def _items(parent: object, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The objects of ``parent[key]`` with their positions; anything malformed is skipped."""
    if not isinstance(parent, dict):
        return
    items = parent.get(key)
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        if isinstance(item, dict):
            yield index, item


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) else None


def _first_seen(
    errors: list[tuple[Loc, str]], seen: dict[object, Loc], key: object, loc: Loc, what: str
) -> None:
    """Record ``key`` at ``loc``, or report ``loc`` as a duplicate of where it was seen."""
    if key in seen:
        errors.append((loc, f"duplicate {what} (first at {format_path(seen[key])})"))
    else:
        seen[key] = loc


def cross_errors(data: object) -> list[tuple[Loc, str]]:
    errors: list[tuple[Loc, str]] = []
    telegram_ids: dict[object, Loc] = {}
    for u, user in _items(data, "users"):
        here: Loc = ("users", u)
        telegram_id = user.get("telegram_id")
        if isinstance(telegram_id, int) and not isinstance(telegram_id, bool):
            _first_seen(errors, telegram_ids, telegram_id, (*here, "telegram_id"), "telegram_id")
        errors.extend(_user_errors(here, user))
    return errors


def _user_errors(here: Loc, user: dict[str, Any]) -> list[tuple[Loc, str]]:
    errors: list[tuple[Loc, str]] = []
    providers: dict[object, Loc] = {}
    for c, line in _items(user, "credit_lines"):
        provider = _text(line.get("provider"))
        if provider:
            loc: Loc = (*here, "credit_lines", c, "provider")
            _first_seen(errors, providers, provider, loc, "credit line provider")
    methods: dict[object, Loc] = {}
    labels: dict[str, int] = {}
    default_at: Loc | None = None
    for m, method in _items(user, "payment_methods"):
        at: Loc = (*here, "payment_methods", m)
        label = _text(method.get("label"))
        if label:
            labels[label] = labels.get(label, 0) + 1
            key = (method.get("kind"), label, _text(method.get("last4")))
            _first_seen(errors, methods, key, (*at, "label"), "payment method")
        if method.get("default") is True:
            if default_at is None:
                default_at = at
            else:
                errors.append(
                    (
                        (*at, "default"),
                        f"more than one default method (also {format_path(default_at)})",
                    )
                )
    external_ids: dict[object, Loc] = {}
    for p, plan in _items(user, "plans"):
        at = (*here, "plans", p)
        external_id = _text(plan.get("external_id"))
        if external_id:
            _first_seen(errors, external_ids, external_id, (*at, "external_id"), "external_id")
        wanted = _text(plan.get("autopay_method"))
        if wanted and labels.get(wanted, 0) == 0:
            errors.append(((*at, "autopay_method"), f"no payment method labelled {wanted!r}"))
        elif wanted and labels[wanted] > 1:
            errors.append(((*at, "autopay_method"), f"several payment methods are {wanted!r}"))
    return errors + _limit_errors(here, user)


def _limit_errors(here: Loc, user: dict[str, Any]) -> list[tuple[Loc, str]]:
    """More open plans or methods in the file than one user may have (what the database
    already holds is counted when the file is written)."""
    errors: list[tuple[Loc, str]] = []
    opening = sum(1 for _, plan in _items(user, "plans") if not _paid_off(plan))
    if opening > MAX_OPEN_PLANS:
        message = f"{opening} open plans: a user may have at most {MAX_OPEN_PLANS} not yet paid off"
        errors.append(((*here, "plans"), message))
    methods = sum(1 for _ in _items(user, "payment_methods"))
    if methods > MAX_PAYMENT_METHODS:
        message = f"{methods} payment methods: a user may have at most {MAX_PAYMENT_METHODS}"
        errors.append(((*here, "payment_methods"), message))
    return errors


def _paid_off(plan: dict[str, Any]) -> bool:
    periods, paid = plan.get("periods"), plan.get("paid_periods")
    return isinstance(periods, int) and isinstance(paid, int) and paid >= periods
