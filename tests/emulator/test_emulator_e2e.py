"""A real PTB Application polling the emulator: commands, buttons, edits, documents."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.emulator import BOT_ID, BotApiEmulator

ALICE = 1001  # registered by the emulator fixture (conftest.py)

KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("Pay", callback_data="pay:1")],
        [
            InlineKeyboardButton("Later", callback_data="later"),
            InlineKeyboardButton("Site", url="https://example.com"),
        ],
    ]
)


async def echo_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply to /start with the arguments and a keyboard."""
    assert update.effective_message is not None
    args = " ".join(context.args or [])
    await update.effective_message.reply_html(f"<b>Hello</b> {args}".strip(), reply_markup=KEYBOARD)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press, then show what was pressed."""
    query = update.callback_query
    assert query is not None
    await query.answer(f"got {query.data}")
    await query.edit_message_text(f"You chose <i>{query.data}</i>", parse_mode="HTML")


async def test_start_command_reaches_handler_and_reply_is_logged(
    emulator: BotApiEmulator, app: Application
) -> None:
    app.add_handler(CommandHandler("start", echo_start))
    sent = await emulator.send_text(ALICE, "/start 42")
    assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    [reply] = await emulator.wait_for_bot(ALICE)
    assert reply.kind == "send"
    assert reply.text == "Hello 42"
    log = emulator.chat_log(ALICE)
    assert [m.text for m in log] == ["Hello 42"]
    assert log[0].html == "<b>Hello</b> 42"
    assert log[0].entities == [{"type": "bold", "offset": 0, "length": 5}]
    assert log[0].buttons == [
        [("Pay", "pay:1")],
        [("Later", "later"), ("Site", "https://example.com")],
    ]
    assert log[0].message_id == sent["message_id"] + 1
    assert [c.method for c in emulator.calls][:2] == ["getMe", "deleteWebhook"]


async def test_command_addressed_to_bot_username(
    emulator: BotApiEmulator, app: Application
) -> None:
    app.add_handler(CommandHandler("start", echo_start))
    sent = await emulator.send_text(ALICE, "/start@repaybot_test_bot")
    assert sent["entities"][0]["length"] == len("/start@repaybot_test_bot")
    [reply] = await emulator.wait_for_bot(ALICE)
    assert reply.text == "Hello"


async def test_button_press_answer_and_edit_history(
    emulator: BotApiEmulator, app: Application
) -> None:
    app.add_handler(CommandHandler("start", echo_start))
    app.add_handler(CallbackQueryHandler(on_button))
    await emulator.send_text(ALICE, "/start")
    [menu] = await emulator.wait_for_bot(ALICE)
    assert menu.message_id is not None
    mark = emulator.seq

    query_id = await emulator.press(ALICE, menu.message_id, callback_data="later")
    answer = await emulator.wait_for_answer(query_id)
    assert (answer.text, answer.accepted, answer.show_alert) == ("got later", True, False)
    [edit] = await emulator.wait_for_bot(ALICE, after=mark)
    assert (edit.kind, edit.text, edit.buttons) == ("edit", "You chose later", [])

    [message] = emulator.chat_log(ALICE)
    assert message.text == "You chose later"
    assert [v.text for v in message.history] == ["Hello"]
    assert message.history[0].buttons[0] == [("Pay", "pay:1")]
    assert emulator.callback_answers(query_id) == [answer]
    kinds = [e.kind for e in emulator.events]
    assert kinds == ["send", "answer", "edit"]


async def test_press_by_index_and_forged_data(emulator: BotApiEmulator, app: Application) -> None:
    seen: list[str | None] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        seen.append(update.callback_query.data)
        await update.callback_query.answer()

    app.add_handler(CallbackQueryHandler(record))
    message = await app.bot.send_message(ALICE, "menu", reply_markup=KEYBOARD)
    first = await emulator.press(ALICE, message.message_id, button_index=0)
    forged = await emulator.press(ALICE, message.message_id, callback_data="admin:drop", forge=True)
    await emulator.wait_for_answer(first)
    await emulator.wait_for_answer(forged)
    assert seen == ["pay:1", "admin:drop"]


async def test_document_upload_is_stored_and_downloadable(
    emulator: BotApiEmulator, app: Application
) -> None:
    data = "日期,金额\n2026-01-05,¥100.00\n".encode()
    message = await app.bot.send_document(
        ALICE, data, filename="还款计划.csv", caption="<b>Export</b>", parse_mode="HTML"
    )
    assert message.document is not None
    assert message.caption == "Export"
    [entry] = emulator.chat_log(ALICE)
    assert entry.document is not None
    assert (entry.document.file_name, entry.document.data, entry.document.caption) == (
        "还款计划.csv",
        data,
        "Export",
    )
    assert emulator.events[-1].kind == "document"
    assert emulator.calls[-1].files == {"document": ("还款计划.csv", len(data))}
    file = await app.bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == data


async def test_delete_and_chat_action(emulator: BotApiEmulator, app: Application) -> None:
    message = await app.bot.send_message(ALICE, "temporary")
    assert await app.bot.send_chat_action(ALICE, "typing")
    assert await app.bot.delete_message(ALICE, message.message_id)
    [entry] = emulator.chat_log(ALICE)
    assert entry.deleted
    assert [e.kind for e in emulator.events] == ["send", "action", "delete"]


async def test_block_sends_my_chat_member_updates(
    emulator: BotApiEmulator, app: Application
) -> None:
    changes: list[tuple[str, str]] = []

    async def member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        assert change is not None
        assert change.new_chat_member.user.id == BOT_ID
        changes.append((change.old_chat_member.status, change.new_chat_member.status))

    app.add_handler(ChatMemberHandler(member, ChatMemberHandler.MY_CHAT_MEMBER))
    emulator.block(ALICE)
    emulator.unblock(ALICE)
    for _ in range(100):
        if len(changes) == 2:
            break
        await asyncio.sleep(0.02)
    assert changes == [("member", "kicked"), ("kicked", "member")]


async def test_group_messages(emulator: BotApiEmulator, app: Application) -> None:
    chat_types: list[str] = []

    async def remember(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        assert update.effective_message is not None
        chat_types.append(update.effective_chat.type)
        await update.effective_message.reply_text("private only, sorry")

    app.add_handler(MessageHandler(filters.TEXT, remember))
    emulator.group(-100200, "Family", type="supergroup")
    await emulator.send_text(ALICE, "hello all", chat_id=-100200)
    [reply] = await emulator.wait_for_bot(-100200)
    assert reply.text == "private only, sorry"
    assert chat_types == ["supergroup"]
    assert emulator.chat_log(ALICE) == []


async def test_commands_are_stored_per_language_and_scope(app: Application) -> None:
    bot = app.bot
    assert await bot.set_my_commands([("start", "Start"), ("help", "Help")])
    assert await bot.set_my_commands([("start", "开始")], language_code="zh")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert [c.description for c in await bot.get_my_commands(language_code="zh")] == ["开始"]
    assert await bot.delete_my_commands(language_code="zh")
    assert await bot.get_my_commands(language_code="zh") == ()
    chat = await bot.get_chat(ALICE)
    assert (chat.id, chat.type, chat.first_name) == (ALICE, "private", "Alice")


async def test_virtual_clock_dates_messages(make_app: Callable[..., Application]) -> None:
    async with BotApiEmulator(clock=lambda: 1_800_000_000.0) as emulator:
        emulator.user(5, "Vic")
        sent = await emulator.send_text(5, "hi")
        app = make_app(emulator)
        async with app.bot as bot:
            message = await bot.send_message(5, "hello")
    assert sent["date"] == 1_800_000_000
    assert message.date.timestamp() == 1_800_000_000
