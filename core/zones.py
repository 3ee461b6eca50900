"""IANA time-zone names: the one check for a zone a person typed or a file or setting names.

``ZoneInfo(name)`` is no check: it opens ``name`` as a path inside tzdata, so "Asia" (a
directory) raises ``IsADirectoryError`` and a long name ``File name too long``. A name is
known when it is in the list of zones installed, read once.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones


@cache
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_known_zone(name: str) -> bool:
    return name in known_zones()
