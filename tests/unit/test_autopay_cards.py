"""Which methods an auto-repay debits: the sweep and the screens share this rule."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.domain.autopay_cards import debit_order


def test_the_chosen_card_then_the_default_only_as_allowed() -> None:
    live = {1, 2, 3}
    assert debit_order(2, False, live, 1) == [2]
    assert debit_order(2, True, live, 1) == [2, 1]
    assert debit_order(None, False, live, 1) == [1]  # none chosen: the default
    assert debit_order(9, False, live, 1) == [1]  # the chosen one removed: the default
    assert debit_order(1, True, live, 1) == [1]  # the default chosen: once
    assert debit_order(None, True, live, None) == []  # nothing to debit
    assert debit_order(9, True, set(), 9) == []


@given(
    chosen=st.none() | st.integers(1, 6),
    fallback=st.booleans(),
    live=st.sets(st.integers(1, 6)),
    default=st.none() | st.integers(1, 6),
)
def test_only_bound_methods_each_once_and_the_chosen_first(
    chosen: int | None, fallback: bool, live: set[int], default: int | None
) -> None:
    order = debit_order(chosen, fallback, live, default)
    assert set(order) <= live
    assert len(order) == len(set(order)) <= 2
    if chosen in live:
        assert order[0] == chosen
    assert bool(order) == (chosen in live or default in live)
