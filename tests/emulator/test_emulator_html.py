"""Telegram HTML parsing in isolation: plain text, UTF-16 entity offsets, trimming."""

from __future__ import annotations

import pytest

from bot.emulator import ApiError
from bot.emulator.validate import format_text, message_text, parse_html, reply_markup


def test_entities_use_utf16_offsets() -> None:
    text, entities = parse_html("👍 <b>还款</b> <i>ok</i>")
    assert text == "👍 还款 ok"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 2},
        {"type": "italic", "offset": 6, "length": 2},
    ]


def test_nested_entities_and_unescaping() -> None:
    text, entities = parse_html("<b>a <i>b &amp; c</i></b>&#128512;")
    assert text == "a b & c😀"
    assert {"type": "bold", "offset": 0, "length": 7} in entities
    assert {"type": "italic", "offset": 2, "length": 5} in entities


def test_surrounding_whitespace_is_trimmed_with_entities() -> None:
    formatted = format_text("\n  <b> hi </b>\n", "HTML")
    assert formatted.text == "hi"
    assert formatted.entities == [{"type": "bold", "offset": 0, "length": 2}]
    assert formatted.html == "\n  <b> hi </b>\n"


def test_uppercase_tags_and_spacing_inside_tags() -> None:
    assert parse_html("<B>x</B><a  href = 'https://t.me/x' >y</a >")[0] == "xy"


def test_multiline_offsets_are_in_bytes() -> None:
    with pytest.raises(ApiError) as caught:
        parse_html("第一行\n<x>")
    assert caught.value.description.endswith('Unsupported start tag "x" at byte offset 10')


def test_markdown_is_stored_verbatim_and_unknown_modes_refused() -> None:
    assert message_text("*bold*", "MarkdownV2").text == "*bold*"
    with pytest.raises(ApiError, match="unsupported parse_mode"):
        message_text("x", "BBCode")


@pytest.mark.parametrize(
    ("markup", "description"),
    [
        ("nope", "Bad Request: can't parse reply keyboard markup JSON object"),
        ({}, "Bad Request: can't parse reply keyboard markup JSON object"),
        (
            {"inline_keyboard": [{"text": "a"}]},
            'Bad Request: field "inline_keyboard" must be an Array of Arrays',
        ),
        (
            {"inline_keyboard": [["a"]]},
            "Bad Request: can't parse inline keyboard button: "
            "InlineKeyboardButton should be an Object",
        ),
        (
            {"inline_keyboard": [[{"callback_data": "a"}]]},
            'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String',
        ),
        (
            {"inline_keyboard": [[{"text": "a", "url": "not a url"}]]},
            "Bad Request: inline keyboard button URL 'not a url' is invalid: Wrong HTTP URL",
        ),
    ],
)
def test_markup_shapes(markup: object, description: str) -> None:
    with pytest.raises(ApiError) as caught:
        reply_markup(markup)
    assert caught.value.description == description


def test_reply_keyboards_pass() -> None:
    assert reply_markup({"keyboard": [[{"text": "a"}]]}) is not None
    assert reply_markup({"remove_keyboard": True}) == {"remove_keyboard": True}
