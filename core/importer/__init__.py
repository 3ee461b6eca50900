"""``repaybot import FILE.json``: users, credit lines, payment methods and plans.

The file is UTF-8 JSON::

    {"users": [{
        "telegram_id": 1001, "language": "en", "timezone": "Asia/Shanghai",
        "credit_lines": [{"provider": "Xiaomi", "limit": "20000.00", "frozen": false}],
        "payment_methods": [{"kind": "bank_card", "label": "CMB", "last4": "1234",
                             "balance": "5000.00", "default": true}],
        "plans": [{"external_id": "order-1", "provider": "Xiaomi", "title": "Redmi K70",
                   "kind": "purchase", "principal": "2999.00", "periods": 12,
                   "method": "fee_per_period", "rate": "0.006", "first_due": "2026-12-05",
                   "autopay": true, "paid_periods": 0}]
    }]}

Users (at least one):

- ``telegram_id`` (required): positive integer, unique in the file; the user's key.
- ``language`` (required): ``zh`` or ``en``. ``timezone`` (required): an IANA zone.
- ``credit_lines``, ``payment_methods``, ``plans``: lists, each optional.

Credit lines: ``provider`` (1–64 characters, unique per user), ``limit`` (an amount,
``"0.00"`` allowed), ``frozen`` (default false). A frozen line may carry plans.

Payment methods: ``kind`` (``bank_card`` | ``wechat`` | ``alipay``), ``label`` (1–64
characters), ``last4`` (4 digits; required for a bank card, optional otherwise),
``balance`` (the simulated balance, default ``"0.00"``), ``default`` (at most one per
user; it applies when the user has no default method yet — otherwise the first new
method becomes the default of a user who has none).

Plans: ``external_id`` (1–48 characters, unique per user), ``provider``, ``title``
(1–128 characters), ``kind`` (``purchase`` default | ``cash_advance``), ``principal``,
``periods`` (1–60), ``method`` (``fee_per_period`` | ``annuity`` | ``equal_principal`` |
``interest_free``), ``rate`` (a decimal string, default ``"0"``: the APR for annuity and
equal_principal, the fee rate per period for fee_per_period, 0 for interest_free),
``first_due`` (``YYYY-MM-DD``, at most 1,860 days before and 366 days after the import
day: ``core.limits``), and optionally ``start_date`` (default one month before
``first_due``), ``autopay`` (default false), ``autopay_method`` (the label of one of the
user's methods in the file; default: the user's default method when autopay is on),
``paid_periods`` (default 0), ``payoff_policy`` (``waive_future_fees`` default |
``charge_future_fees`` | ``early_repayment_fee`` | ``forbidden``),
``early_repayment_fee_rate`` (default ``"0"``) and ``payoff_forbidden_reason`` (only with
``forbidden``). The terms must make a valid schedule (as ``repaybot schedule`` shows it).

``paid_periods`` marks the first N periods as paid before the import: each becomes a
succeeded payment of kind ``imported`` (no method, nothing debited) of that period's full
amount, dated on its due date (today for a period not yet due), with the idempotency key
``import:{telegram_id}:{external_id}:{period}``. A plan whose every period is paid is closed.

A user may have at most 20 plans not yet paid off and 10 payment methods, counting those
already in the database (``core.limits``); plans and methods already present are not
checked again.

Amounts are strings (``"2999.00"``; ``"2,999"`` and ``"¥2999"`` are read as a person would
type them) with at most 2 decimals; unknown fields are errors. The whole file is checked
first and every error is reported with its JSON path (``$.users[0].plans[1].principal:
must be positive``); nothing is written unless the file is valid. Then everything is
written in one transaction. Existing users (by ``telegram_id``), credit lines (by user
and provider), methods (by user, kind, label and last4, among methods not removed; the
balance of an existing method is not reset) and plans (by user and ``external_id``) are
left as they are, so importing the same file twice changes nothing. Imports record loans
that already exist, so the credit-line check for new plans does not apply.
"""

from __future__ import annotations

from core.importer.load import ImportInvalid, ImportReport, Tally, import_data, read_file
from core.importer.schema import ImportFile, validate

__all__ = [
    "ImportFile",
    "ImportInvalid",
    "ImportReport",
    "Tally",
    "import_data",
    "read_file",
    "validate",
]
