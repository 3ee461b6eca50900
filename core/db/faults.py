"""Which database errors are passing faults worth another try: a SQLite lock held longer
than the busy timeout, a PostgreSQL server restarting or failing over, a dropped
connection, a serialization failure or deadlock. Anything else is a bug or bad data, and
retrying it would only repeat it."""

from __future__ import annotations

import errno
import socket
import sqlite3

from sqlalchemy.exc import DBAPIError

# SQLSTATE classes and codes of PostgreSQL that a retry can get past.
_PG_TRANSIENT_CLASSES = ("08",)  # connection exception
_PG_TRANSIENT_CODES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available
    "57P01",  # admin_shutdown
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now
    "53300",  # too_many_connections
}
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "database is busy")
# Socket errors met while reaching or talking to the server. Not every OSError: a file
# error (a time zone "Asia" is a directory, a 5,000-character one a name too long) comes
# from bad input, and retrying it would only keep the person waiting for the apology.
_NETWORK_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "ECONNREFUSED",
        "ECONNRESET",
        "ECONNABORTED",
        "EPIPE",
        "ETIMEDOUT",
        "EHOSTUNREACH",
        "EHOSTDOWN",
        "ENETUNREACH",
        "ENETDOWN",
        "ENETRESET",
        "ENOTCONN",
        "ESHUTDOWN",
        "EADDRNOTAVAIL",
    )
    if hasattr(errno, name)
)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a passing database fault."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _transient_here(current):
            return True
        orig = getattr(current, "orig", None)  # what SQLAlchemy wrapped
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False


def _transient_here(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sqlite3.OperationalError) or type(exc).__name__ == "OperationalError":
        return str(exc).lower().startswith(_SQLITE_TRANSIENT) or _pg_code_transient(exc)
    if isinstance(exc, ConnectionError | TimeoutError):
        return True  # refused, reset or timed out while reaching the server
    if isinstance(exc, socket.gaierror | socket.herror):
        return True  # the server's name did not resolve (DNS failing over, ...)
    if isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS:
        return True  # a socket error while connecting (host unreachable, ...)
    if _pg_code_transient(exc):
        return True
    return type(exc).__name__ in {"ConnectionDoesNotExistError", "InterfaceError"} and (
        "connection" in str(exc).lower()
    )


def _pg_code_transient(exc: BaseException) -> bool:
    code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if not (isinstance(code, str) and len(code) == 5):
        return False
    return code in _PG_TRANSIENT_CODES or code.startswith(_PG_TRANSIENT_CLASSES)
