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


@pytest.mark.parametrize(
    "data",
    [
        "pv:99999999999999999999999:1",  # beyond 64 bits: OverflowError in the driver
        "hp:1:999999999999999999999999",
        "cv:9223372036854775808",  # 2**63
        # Beyond PostgreSQL's INTEGER, the type of every id column: asyncpg refuses the
        # query ("value out of int32 range"), on ids, plan filters and pages alike.
        "cv:2147483648",
        "ap:9223372036854775807",
        "hp:1:2147483648",
        "rp:2147483648",
        "hp:2147483648:0",
        "cv:0",  # ids are positive
        "lg:fr",  # a language the bot does not speak
        "lg:zh\n",  # "$" accepted a trailing newline
        "pv:1:1\n",
        "ca:crypto",  # not a kind of payment method
        "rm:sideways",
        "fg:maybe",
        "ak:abc123:kind:loan",
        "am:abc123:method:free",
        "ar:abc123:rate:-1",
    ],
)
def test_out_of_range_or_unknown_arguments_are_refused(data: str) -> None:
    with pytest.raises(BadCallback):
        decode(data)


@pytest.mark.parametrize(
    "data",
    ["cv:2147483647", "hp:1:0", "pv:1:0", "lg:zh", "ca:wechat", "ca", "rm:zone"],
)
def test_the_largest_id_and_the_known_words_are_accepted(data: str) -> None:
    assert encode(decode(data).action, *decode(data).args) == data
