"""Which payment methods an auto-repay debits, in order: one rule for the sweep that
debits and for every screen that says what it will debit, so they cannot disagree."""

from __future__ import annotations

from collections.abc import Collection


def debit_order(
    chosen: int | None, fallback: bool, live: Collection[int], default: int | None
) -> list[int]:
    """The plan's chosen method if it is still bound, then the default method — when the
    plan has no bound method of its own (none chosen, or the chosen one removed), or as
    the fallback the plan allows when its own method fails. Empty: nothing to debit, so
    auto-repay cannot run."""
    order = [chosen] if chosen is not None and chosen in live else []
    if default is None or default not in live or default in order:
        return order
    return [*order, default] if not order or fallback else order
