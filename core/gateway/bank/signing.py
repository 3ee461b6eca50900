"""Signatures of the bank's notifications: HMAC-SHA256 over the timestamp and the body.

The signed input is ``<timestamp>.<exact body bytes>``: a receiver verifies the bytes it
received (never a re-serialized JSON), and a captured notification replayed later fails
the freshness check because its timestamp is signed with it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "X-RepayBank-Signature"
TIMESTAMP_HEADER = "X-RepayBank-Timestamp"
SCHEME = "sha256="
# How far a notification's timestamp may be from the receiver's clock, in seconds.
DEFAULT_TOLERANCE = 300
MIN_SECRET_CHARS = 16


class BadSignature(ValueError):
    """A notification that must not be trusted; the message says why."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers that go with ``body`` sent at ``timestamp`` (Unix seconds)."""
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: SCHEME + signature(secret, timestamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """Raise ``BadSignature`` unless ``body`` was signed with ``secret`` near ``now``.

    ``headers`` may be any case-insensitive mapping (aiohttp's ``request.headers``).
    """
    stamp = headers.get(TIMESTAMP_HEADER, "")
    given = headers.get(SIGNATURE_HEADER, "")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise BadSignature("missing or malformed timestamp")
    if not given.startswith(SCHEME):
        raise BadSignature("missing or malformed signature")
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance:
        raise BadSignature("timestamp outside the tolerance: a replay or a wrong clock")
    expected = signature(secret, timestamp, body)
    if not hmac.compare_digest(expected, given[len(SCHEME) :]):
        raise BadSignature("signature does not match the body")
