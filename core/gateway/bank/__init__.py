"""``repaybot bank``: a sandbox payment provider in a process of its own.

It stands where a real provider (a bank's direct debit, WeChat Pay, Alipay, a card
acquirer) would: its own database, an HTTP JSON API on loopback, debits idempotent by
the caller's reference, asynchronous settlement, signed notifications retried until
answered, and faults on demand. Nothing here shares a transaction with the bot's
database, so the bot must cope with it as it would with a real provider. The API is
described in ``docs/provider-api.md``.

Modules: ``ledger`` (pure rules), ``wire`` (request validation and JSON shapes),
``signing`` (notification signatures), ``faults``, ``tables`` and ``store`` (its
database), ``notifier`` (delivery with backoff), ``routes`` and ``server`` (HTTP),
``command`` (the CLI).
"""
