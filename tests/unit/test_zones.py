"""Time-zone names are checked against the installed list, never opened as paths."""

from __future__ import annotations

import pytest

from core.services.errors import InvalidInput
from core.services.users import check_timezone
from core.zones import is_known_zone


@pytest.mark.parametrize("name", ["Asia/Shanghai", "UTC", "America/New_York", "Etc/GMT-8"])
def test_zones_are_known(name: str) -> None:
    assert is_known_zone(name)
    assert check_timezone(name) == name


@pytest.mark.parametrize(
    "name",
    ["Asia", "Asia/", "A" * 5000, "🌏", "../../etc/passwd", "/etc/localtime", "", "UTC\n"],
)
def test_directories_long_names_and_paths_are_no_zones(name: str) -> None:
    assert not is_known_zone(name)
    with pytest.raises(InvalidInput):
        check_timezone(name)
