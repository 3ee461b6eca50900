""".env.example lists every setting of core.settings.Settings with its real default (SPEC §5)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from core.settings import Settings

ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"
ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")


def _entries() -> list[tuple[str, str, str]]:
    """(name, value, comment line above it) for each assignment in .env.example."""
    entries = []
    previous = ""
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = ASSIGNMENT.match(line)
        if match:
            entries.append((match[1], match[2], previous))
        previous = line
    return entries


def _field_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting comes from the process environment or a stray ./.env."""
    fields = _field_names()
    for key in list(os.environ):
        if key.upper() in fields:
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def _normalized(value: Any) -> Any:
    # An empty `BOT_TOKEN=` parses to SecretStr(""); the field default is None. Both mean "unset".
    if isinstance(value, SecretStr):
        return value.get_secret_value() or None
    return value


def test_names_match_settings_fields() -> None:
    names = [name for name, _, _ in _entries()]
    assert len(names) == len(set(names)), f"duplicate names in .env.example: {names}"
    assert set(names) == _field_names()


def test_each_setting_has_one_comment_line() -> None:
    for name, _, comment in _entries():
        assert comment.startswith("# "), f"{name} has no comment line above it"


@pytest.mark.usefixtures("clean_env")
def test_defaults_match_settings_defaults() -> None:
    defaults = Settings(_env_file=None)
    from_example = Settings(_env_file=ENV_EXAMPLE)
    for field in Settings.model_fields:
        expected = _normalized(getattr(defaults, field))
        actual = _normalized(getattr(from_example, field))
        assert actual == expected, f"{field.upper()}: .env.example gives {actual!r}"
        assert type(actual) is type(expected), field


@pytest.mark.usefixtures("clean_env")
def test_each_value_parses_alone_to_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same check through the process environment, one variable at a time.
    defaults = Settings(_env_file=None)
    for name, value, _ in _entries():
        with monkeypatch.context() as m:
            m.setenv(name, value)
            parsed = Settings(_env_file=None)
        field = name.lower()
        assert _normalized(getattr(parsed, field)) == _normalized(getattr(defaults, field)), name
