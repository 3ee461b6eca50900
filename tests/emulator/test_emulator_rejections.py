"""Everything Telegram refuses is refused, and PTB raises the matching exception."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken
from telegram.ext import Application

from bot.emulator import BotApiEmulator

ALICE = 1001  # registered by the emulator fixture (conftest.py)


def exact(message: str) -> str:
    """A pytest.raises(match=) pattern for exactly ``message``."""
    return f"^{re.escape(message)}$"


def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(buttons)])


@pytest.mark.parametrize("text", ["", "   \n ", "<b> </b>", "<i></i>\n"])
async def test_empty_text(app: Application, text: str) -> None:
    with pytest.raises(BadRequest, match=exact("Message text is empty")):
        await app.bot.send_message(ALICE, text, parse_mode="HTML")


async def test_text_length_counts_after_entity_parsing(app: Application) -> None:
    await app.bot.send_message(ALICE, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    await app.bot.send_message(ALICE, "&lt;" * 4096, parse_mode="HTML")
    with pytest.raises(BadRequest, match=exact("Message is too long")):
        await app.bot.send_message(ALICE, "a" * 4097)


async def test_text_length_counts_utf16_units(app: Application) -> None:
    """An emoji outside the BMP is two UTF-16 code units: 2,048 fit, 2,049 do not; a
    Chinese character is one."""
    await app.bot.send_message(ALICE, "😀" * 2048)
    await app.bot.send_message(ALICE, "还" * 4096)
    with pytest.raises(BadRequest, match=exact("Message is too long")):
        await app.bot.send_message(ALICE, "😀" * 2049)
    with pytest.raises(BadRequest, match=exact("Message is too long")):
        await app.bot.send_message(ALICE, "<b>" + "😀" * 2048 + "</b>a", parse_mode="HTML")


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<p>x</p>", 'unsupported start tag "p" at byte offset 0'),
        ("a<br/>b", 'unsupported start tag "br/" at byte offset 1'),
        ("<b>bold", 'can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "unexpected end tag at byte offset 1"),
        ("1 < 2", 'unsupported start tag "" at byte offset 2'),
        ("余额<100 元", 'unsupported start tag "100" at byte offset 6'),
        ("a <b", "unclosed start tag at byte offset 2"),
        ("Tom & Jerry", 'unescaped "&" at byte offset 4'),
        ("a&b", 'unescaped "&" at byte offset 1'),
        ("&amp", 'unescaped "&" at byte offset 0'),
        ("&nbsp;", 'unsupported html entity "&nbsp;" at byte offset 0'),
        ("<span>x</span>", 'tag "span" must have class "tg-spoiler"'),
        ("<!-- note -->x", "unsupported start tag"),
    ],
)
async def test_html_parse_errors(app: Application, html: str, reason: str) -> None:
    with pytest.raises(BadRequest) as caught:
        await app.bot.send_message(ALICE, html, parse_mode="HTML")
    assert caught.value.message.startswith("Can't parse entities: ")
    assert reason in caught.value.message.lower()


async def test_html_accepts_telegram_tags(emulator: BotApiEmulator, app: Application) -> None:
    html = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike>"
        '<del>d</del><span class="tg-spoiler">p</span><tg-spoiler>t</tg-spoiler>'
        '<a href="https://example.com/?a=1&amp;b=2">l</a><code>c</code>'
        '<pre><code class="language-python">x = 1</code></pre><blockquote>q</blockquote>'
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> &lt;&gt;&amp;&quot;&#39;&#x4E2D;'
    )
    message = await app.bot.send_message(ALICE, html, parse_mode="HTML")
    assert message.text == "bsieunskdptlcx = 1q👍 <>&\"'中"
    [entry] = emulator.chat_log(ALICE)
    assert entry.html == html
    types = [e["type"] for e in entry.entities]
    assert types.count("bold") == 2
    assert "spoiler" in types
    assert "custom_emoji" in types
    pre = next(e for e in entry.entities if e["type"] == "pre")
    assert pre["language"] == "python"
    link = next(e for e in entry.entities if e["type"] == "text_link")
    assert link["url"] == "https://example.com/?a=1&b=2"


@pytest.mark.parametrize("data", ["x" * 65, "还" * 22, ""])
async def test_callback_data_must_be_1_to_64_bytes(app: Application, data: str) -> None:
    with pytest.raises(BadRequest, match=exact("Button_data_invalid")):
        await app.bot.send_message(
            ALICE, "menu", reply_markup=keyboard(InlineKeyboardButton("x", callback_data=data))
        )


async def test_64_byte_callback_data_is_fine(app: Application) -> None:
    button = InlineKeyboardButton("x", callback_data="还" * 21 + "a")
    await app.bot.send_message(ALICE, "menu", reply_markup=keyboard(button))


async def test_button_needs_an_action_and_text(app: Application) -> None:
    with pytest.raises(BadRequest, match="text buttons are unallowed in the inline keyboard"):
        await app.bot.send_message(ALICE, "m", reply_markup=keyboard(InlineKeyboardButton("x")))
    with pytest.raises(BadRequest, match="text must be non-empty"):
        await app.bot.send_message(
            ALICE, "m", reply_markup=keyboard(InlineKeyboardButton("", callback_data="a"))
        )


async def test_at_most_100_buttons(app: Application) -> None:
    rows = [[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)]
    with pytest.raises(BadRequest, match=exact("Reply markup is too long")):
        await app.bot.send_message(ALICE, "m", reply_markup=InlineKeyboardMarkup(rows))
    await app.bot.send_message(ALICE, "m", reply_markup=InlineKeyboardMarkup(rows[:100]))


async def test_edit_rules(emulator: BotApiEmulator, app: Application) -> None:
    bot = app.bot
    markup = keyboard(InlineKeyboardButton("ok", callback_data="ok"))
    message = await bot.send_message(ALICE, "<b>v1</b>", parse_mode="HTML", reply_markup=markup)
    not_modified = "^Message is not modified: specified new message content and reply markup"
    with pytest.raises(BadRequest, match=not_modified):
        await bot.edit_message_text(
            "<b>v1</b>", ALICE, message.message_id, parse_mode="HTML", reply_markup=markup
        )
    with pytest.raises(BadRequest, match=not_modified):
        await bot.edit_message_reply_markup(ALICE, message.message_id, reply_markup=markup)
    # Same text, other formatting: modified.  No markup given: the keyboard goes away.
    await bot.edit_message_text("v1", ALICE, message.message_id)
    [entry] = emulator.chat_log(ALICE)
    assert (entry.text, entry.buttons, len(entry.history)) == ("v1", [], 1)
    await bot.edit_message_reply_markup(ALICE, message.message_id, reply_markup=markup)
    assert emulator.chat_log(ALICE)[0].buttons == [[("ok", "ok")]]

    user_message = await emulator.send_text(ALICE, "mine")
    for message_id in (999, user_message["message_id"]):
        with pytest.raises(BadRequest, match=exact("Message to edit not found")):
            await bot.edit_message_text("x", ALICE, message_id)
    with pytest.raises(BadRequest, match=exact("Message text is empty")):
        await bot.edit_message_text(" ", ALICE, message.message_id)
    await bot.delete_message(ALICE, message.message_id)
    with pytest.raises(BadRequest, match=exact("Message to edit not found")):
        await bot.edit_message_text("x", ALICE, message.message_id)
    with pytest.raises(BadRequest, match=exact("Message to delete not found")):
        await bot.delete_message(ALICE, message.message_id)


async def test_callback_answer_rules(emulator: BotApiEmulator, app: Application) -> None:
    bot = app.bot
    emulator.callback_timeout = 0.3
    too_old = "^Query is too old and response timeout expired or query id is invalid$"
    with pytest.raises(BadRequest, match=too_old):
        await bot.answer_callback_query("12345")
    message = await bot.send_message(
        ALICE, "m", reply_markup=keyboard(InlineKeyboardButton("a", callback_data="a"))
    )
    first = await emulator.press(ALICE, message.message_id, "a")
    with pytest.raises(BadRequest, match=exact("Message_too_long")):
        await bot.answer_callback_query(first, text="x" * 201)
    assert await bot.answer_callback_query(first, text="x" * 200)
    with pytest.raises(BadRequest, match=too_old):
        await bot.answer_callback_query(first)
    assert [a.accepted for a in emulator.callback_answers(first)] == [True, False]
    late = await emulator.press(ALICE, message.message_id, button_index=0)
    await asyncio.sleep(0.35)
    with pytest.raises(BadRequest, match=too_old):
        await bot.answer_callback_query(late)


async def test_unknown_and_blocked_chats(emulator: BotApiEmulator, app: Application) -> None:
    bot = app.bot
    with pytest.raises(BadRequest, match=exact("Chat not found")):
        await bot.send_message(424242, "hi")
    with pytest.raises(BadRequest, match=exact("Chat not found")):
        await bot.send_document(424242, b"x", filename="a.txt")
    emulator.block(ALICE)
    with pytest.raises(Forbidden, match=exact("Forbidden: bot was blocked by the user")):
        await bot.send_message(ALICE, "hi")
    emulator.unblock(ALICE)
    await bot.send_message(ALICE, "welcome back")
    emulator.user(7, "Imported", started=False)
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(7, "reminder")
    await emulator.send_text(7, "/start")
    await bot.send_message(7, "reminder")


async def test_bad_token_and_unknown_method(emulator: BotApiEmulator, make_app) -> None:  # type: ignore[no-untyped-def]
    bad = make_app(emulator, token="not-a-token")
    with pytest.raises(InvalidToken):
        await bad.bot.initialize()
    app = make_app(emulator)
    async with app.bot as bot:
        with pytest.raises(Exception, match="Endpoint 'fooBar' not found"):
            await bot.do_api_request("fooBar")
    statuses = [(c.method, c.status) for c in emulator.calls]
    assert ("getMe", 401) in statuses
    assert ("fooBar", 404) in statuses


async def test_calls_record_params_and_answers(emulator: BotApiEmulator, app: Application) -> None:
    started = time.monotonic()
    await app.bot.send_message(
        ALICE, "hi", reply_markup=keyboard(InlineKeyboardButton("a", callback_data="a"))
    )
    with pytest.raises(BadRequest):
        await app.bot.send_message(ALICE, "")
    ok, failed = [c for c in emulator.calls if c.method == "sendMessage"]
    assert ok.status == 200
    assert ok.response["result"]["text"] == "hi"
    assert ok.params["chat_id"] == str(ALICE)  # PTB form-encodes every value as a string
    assert ok.params["reply_markup"] == {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]}
    assert failed.status == 400
    assert failed.response["description"] == "Bad Request: message text is empty"
    assert time.monotonic() - started < 2


async def test_replies_need_an_existing_message(emulator: BotApiEmulator, app: Application) -> None:
    bot = app.bot
    question = await emulator.send_text(ALICE, "how much?")
    answer = await bot.send_message(ALICE, "¥100", reply_to_message_id=question["message_id"])
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "how much?"
    with pytest.raises(BadRequest, match=exact("Message to be replied not found")):
        await bot.send_message(ALICE, "x", reply_to_message_id=999)
    await bot.send_message(ALICE, "x", reply_to_message_id=999, allow_sending_without_reply=True)


async def test_leaving_chats(emulator: BotApiEmulator, app: Application) -> None:
    emulator.group(-300, "Team")
    await app.bot.send_message(-300, "hello team")
    assert await app.bot.leave_chat(-300)
    with pytest.raises(Forbidden, match="bot is not a member of the group chat"):
        await app.bot.send_message(-300, "still here?")
    with pytest.raises(BadRequest, match="can't be changed in private chats"):
        await app.bot.leave_chat(ALICE)
