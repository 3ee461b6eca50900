"""Callback data: within 64 bytes, ids only, and anything malformed is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.callbacks import MAX_BYTES, Action, BadCallback, decode, encode


def test_round_trip() -> None:
    data = encode(Action.QUOTE_METHOD, "AbC-_12345xy", 42)
    assert data == "qm:AbC-_12345xy:42"
    parsed = decode(data)
    assert parsed.action is Action.QUOTE_METHOD
    assert parsed.args == ("AbC-_12345xy", "42")
    assert parsed.int_arg(1) == 42


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "zz",
        "qc",  # missing quote id
        "qc:a:b",  # too many
        "qm:abc:notanumber",
        "rp:12:13",
        "rp:-1",
        "qc:" + "a" * 70,
        "qc:bad id",
        "lg:zh:extra",
    ],
)
def test_malformed_data_is_refused(data: str | None) -> None:
    with pytest.raises(BadCallback):
        decode(data)


def test_encode_refuses_what_it_could_not_read() -> None:
    with pytest.raises(BadCallback):
        encode(Action.QUOTE_CONFIRM)
    with pytest.raises(ValueError, match="64 bytes"):
        encode(Action.QUOTE_CONFIRM, "x" * 70)


@given(st.text(max_size=80))
def test_decode_never_crashes_on_anything(data: str) -> None:
    try:
        parsed = decode(data)
    except BadCallback:
        return
    assert len(data.encode()) <= MAX_BYTES
    assert encode(parsed.action, *parsed.args) == data
