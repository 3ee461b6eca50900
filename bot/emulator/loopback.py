"""The emulator stays on loopback: it binds there, and its webhook proxy forwards only there."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def check_loopback(host: str) -> str:
    """The address to use for ``host``; refuses anything but loopback."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(f"the Bot API emulator binds to loopback only, not {host!r}")
    return str(address)


def check_backend(url: str) -> str:
    """``url`` without a trailing slash if it is http(s) on loopback; ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"a proxy backend is an http(s) URL, not {url!r}")
    try:
        check_loopback(parts.hostname)
    except ValueError:
        raise ValueError(f"the webhook proxy forwards to loopback only, not {url!r}") from None
    return url.rstrip("/")
