"""The catalogs: both languages define the same keys, every key the code uses exists,
placeholders agree, and every text is valid Telegram HTML once filled in."""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.app import COMMANDS
from bot.texts import MissingText, catalog_keys, day, esc, moment, money, t

BOT = Path(__file__).resolve().parents[2] / "bot"
ALLOWED_TAGS = {"b", "i", "u", "s", "code", "pre", "a"}


def _used_keys() -> set[str]:
    """Literal keys passed to t(...) in the bot's code; f-string keys are checked below."""
    pattern = re.compile(r"""\bt\(\s*[\w.]+,\s*["']([a-z_]+\.[a-z_.]+)["']""")
    found: set[str] = set()
    for path in BOT.rglob("*.py"):
        found.update(pattern.findall(path.read_text()))
    return found


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_define_the_same_keys() -> None:
    assert catalog_keys("zh") == catalog_keys("en")
    assert len(catalog_keys("zh")) > 50


def test_every_key_the_code_uses_exists() -> None:
    used = _used_keys()
    assert "status.title" in used  # the scan itself works
    assert used - catalog_keys("en") == set()


@pytest.mark.parametrize(
    "prefix",
    [
        "amount.",
        "repay.failed.",
        "history.reason.",
        "status.health.",
        "method.",
        "repay.what.",
        "menu.",
        "add.rate_refused.",
        "add.bad_date.",
    ],
)
def test_dynamic_key_families_are_complete(prefix: str) -> None:
    from core.domain.credit import Health
    from core.domain.dates import DateProblem
    from core.domain.quotes import QuoteKind
    from core.domain.terms import RateProblem
    from core.money import AmountProblem
    from core.services.methods import MethodKind
    from core.services.payments import PaymentFailure

    members = {
        "amount.": [p.value for p in AmountProblem],
        "repay.failed.": [f.value for f in PaymentFailure],
        "history.reason.": [f.value for f in PaymentFailure],
        "status.health.": [h.value for h in Health],
        "method.": [k.value for k in MethodKind],
        "repay.what.": [k.value for k in QuoteKind],
        "menu.": list(COMMANDS),
        "add.rate_refused.": [p.value for p in RateProblem],
        "add.bad_date.": [p.value for p in DateProblem],
    }[prefix]
    for language in ("zh", "en"):
        assert {prefix + m for m in members} <= catalog_keys(language)


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED_TAGS, tag
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"unbalanced </{tag}>"
        assert self.stack.pop() == tag


@pytest.mark.parametrize("key", sorted(catalog_keys("en")))
def test_texts_are_valid_html_with_the_same_placeholders(key: str) -> None:
    zh, en = t("zh", key, **_dummy(key)), t("en", key, **_dummy(key))
    for text in (zh, en):
        checker = _Checker()
        checker.feed(text)
        checker.close()
        assert checker.stack == []
        assert text.strip()
        assert len(text) <= 4096


def _dummy(key: str) -> dict[str, object]:
    from bot.texts import _translations

    fields = _fields(_translations("en").gettext(key)) | _fields(_translations("zh").gettext(key))
    return dict.fromkeys(fields, "x")


def test_placeholders_agree_between_languages() -> None:
    from bot.texts import _translations

    for key in catalog_keys("en"):
        en = _fields(_translations("en").gettext(key))
        zh = _fields(_translations("zh").gettext(key))
        assert en == zh, key


def test_missing_key_is_an_error() -> None:
    with pytest.raises(MissingText):
        t("en", "no.such.key")


def test_formatting_helpers() -> None:
    assert money(Decimal("1234.5")) == "¥1,234.50"
    assert money(Decimal("0")) == "¥0.00"
    assert day(date(2026, 12, 5), "zh") == "2026年12月5日"
    assert day(date(2026, 12, 5), "en") == "Dec 5, 2026"
    instant = datetime(2026, 11, 22, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
    assert "10:30" in moment(instant, "zh", "Asia/Shanghai")
    assert "10:30" in moment(instant, "en", "Asia/Shanghai")
    assert esc("<b>&") == "&lt;b&gt;&amp;"


def test_reminder_and_receipt_texts() -> None:
    from datetime import date as day_

    from bot.sweep_messages import receipt_text, reminder_text
    from core.domain.reminders import ReminderKind
    from core.services.autopay_sweep import AutopayReceipt
    from core.services.reminder_items import ReminderItem
    from core.services.reminder_sweep import ReminderBatch

    notice = ReminderItem(
        1,
        11,
        ReminderKind.AUTOPAY_NOTICE,
        1,
        "Redmi",
        day_(2026, 12, 5),
        Decimal("107.20"),
        Decimal("0"),
        0,
        "CMB <card>",
        True,
    )
    due = ReminderItem(
        2, 12, ReminderKind.BEFORE_DUE, 0, "Pad", day_(2026, 12, 5), Decimal("50"), Decimal("0"), 0
    )
    text = reminder_text(ReminderBatch(1, "en", "Asia/Shanghai", (notice, due)))
    assert "auto-debited from CMB &lt;card&gt; tomorrow" in text
    assert "balance is too low" in text
    assert "Pad: ¥50.00 due Dec 5, 2026 (due today)" in text
    # A snoozed reminder coming back while its installment is in grace.
    grace = ReminderItem(
        3,
        13,
        ReminderKind.BEFORE_DUE,
        -2,
        "Pad",
        day_(2026, 12, 5),
        Decimal("50"),
        Decimal("0"),
        0,
        snoozed=True,
    )
    text = reminder_text(ReminderBatch(1, "en", "Asia/Shanghai", (grace,)))
    assert "⏰ • Pad: ¥50.00 was due Dec 5, 2026 (in the grace period" in text
    assert "宽限期内" in reminder_text(ReminderBatch(1, "zh", "Asia/Shanghai", (grace,)))
    # A plan late on three periods: one line with their count and totals.
    late = ReminderItem(
        4,
        14,
        ReminderKind.OVERDUE,
        101,
        "Phone",
        day_(2026, 9, 10),
        Decimal("330.12"),
        Decimal("8.52"),
        101,
        count=3,
        covers=frozenset({14, 15, 16}),
    )
    text = reminder_text(ReminderBatch(1, "en", "Asia/Shanghai", (late,)))
    assert "Phone: 3 periods overdue, the oldest by 101 days; ¥330.12 owed" in text
    assert "penalty ¥8.52" in text
    zh = reminder_text(ReminderBatch(1, "zh", "Asia/Shanghai", (late,)))
    assert "Phone：3 期已逾期，最早一期逾期 101 天，共应还 ¥330.12（含罚息 ¥8.52）" in zh
    failed = AutopayReceipt(
        1,
        "zh",
        "Redmi",
        Decimal("107.20"),
        False,
        "insufficient_balance",
        "CMB",
        Decimal("10.00"),
        Decimal("500.00"),
        True,
    )
    assert "余额不足" in receipt_text(failed)
    assert "重试已用完" in receipt_text(failed)
    # Queued as JSON with its payment and read back unchanged, amounts exact.
    import json

    payload = json.loads(json.dumps(failed.to_payload()))
    assert AutopayReceipt.from_payload(payload) == failed
    assert payload["amount"] == "107.20"


def _translations_of(lang: str, key: str) -> str:
    from bot.texts import _translations

    return _translations(lang).gettext(key)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_record_message_begins_with_a_record_mark(lang: str) -> None:
    """Payment outcomes, receipts and reminders are kept when their buttons are pressed
    (bot/handlers/common.py ``_is_screen`` knows them by their first character)."""
    from collections import defaultdict

    from bot.handlers.common import RECORD_MARKS

    any_value: defaultdict[str, str] = defaultdict(str)
    records = [
        key
        for key in catalog_keys(lang)
        if key.startswith(("repay.failed.", "autopay.receipt."))
        or key in ("repay.succeeded", "reminder.title", "repay.receipt_later")
    ]
    assert len(records) >= 7
    for key in records:
        text = _translations_of(lang, key).format_map(any_value)
        assert text.startswith(RECORD_MARKS), key
