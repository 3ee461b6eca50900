"""The /export document in the reader's language: headers and codes (statuses, kinds,
failure reasons) in words, amounts and dates as a spreadsheet reads them, named with the
reader's own date."""

from __future__ import annotations

from collections.abc import Sequence

from bot.texts import catalog_keys, t
from core.services.history import PAYMENT_COLUMNS, SCHEDULE_COLUMNS, Export, to_csv

# Which column's codes are said in words, and the texts they are looked up under.
_CODES = {
    ("schedule", "status"): "export.installment.{}",
    ("payments", "status"): "export.status.{}",
    ("payments", "kind"): "history.kind.{}",
    ("payments", "failure_reason"): "history.reason.{}",
}


def export_document(lang: str, rows: Export) -> bytes:
    """Both tables, one after the other, UTF-8 with a BOM (spreadsheet programs then
    read Chinese)."""
    body = _table(lang, "schedule", SCHEDULE_COLUMNS, rows.schedule)
    body += "\n" + _table(lang, "payments", PAYMENT_COLUMNS, rows.payments)
    return body.encode("utf-8-sig")


def _table(lang: str, table: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    known = catalog_keys(lang)
    headers = [t(lang, f"export.col.{table}.{column}") for column in columns]
    said = []
    for row in rows:
        cells = list(row)
        for index, column in enumerate(columns):
            key = _CODES.get((table, column), "").format(cells[index])
            if cells[index] and key in known:  # a code without words stays as it is
                cells[index] = t(lang, key)
        said.append(cells)
    return to_csv(headers, said)
