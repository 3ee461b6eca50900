"""The fitting rule: any list of items gives a text within the budget, items shown in
order, and a summary that counts exactly the ones left out."""

from __future__ import annotations

from html import escape

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.fit import BUDGET, fit, page_of, visible_length

# Titles as people type them: Chinese, emoji (2 UTF-16 units each), HTML-looking text
# (escaped, so "&lt;" is one visible character), combining marks.
_CHARS = st.sampled_from([*"ab<>&\"'", "还", "款", "😀", "👨\u200d👩", "\u0301", " "])
_ITEM = st.lists(_CHARS, min_size=1, max_size=300).map(lambda cs: escape("".join(cs)))


def _more(count: int) -> str:
    return f"<i>…and {count} more — /plans</i>"


def test_visible_length_counts_utf16_units_of_the_parsed_text() -> None:
    assert visible_length("<b>a</b>") == 1
    assert visible_length("&lt;b&gt;") == 3
    assert visible_length("😀") == 2
    assert visible_length("还款") == 2


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(_ITEM, max_size=120),
    head=st.lists(_ITEM, max_size=3),
    budget=st.integers(min_value=1000, max_value=BUDGET),
)
def test_any_items_fit_with_an_exact_summary(
    items: list[str], head: list[str], budget: int
) -> None:
    text = fit(head, items, ["<b>end</b>"], more=_more, budget=budget)
    assert visible_length(text) <= budget
    lines = text.split("\n")
    body = lines[len(head) : -1]
    left = len(items) - (len(body) - (1 if body and body[-1].startswith("<i>…and") else 0))
    shown = items[: len(items) - left]
    assert body[: len(shown)] == shown
    if left:
        assert body[-1] == _more(left)
    else:
        assert body == items


@given(items=st.lists(st.integers(), max_size=200), page=st.integers(-5, 20))
def test_a_page_holds_at_most_its_size_and_pages_cover_the_list(
    items: list[int], page: int
) -> None:
    shown = page_of(items, page, per_page=20)
    assert len(shown.items) <= 20
    assert 1 <= shown.page <= shown.pages
    every = [i for p in range(1, shown.pages + 1) for i in page_of(items, p, per_page=20).items]
    assert every == items
