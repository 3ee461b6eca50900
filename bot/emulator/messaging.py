"""Bot API methods that put things in chats: send, edit, delete, answer, documents.

Every success is logged as an ``Event`` for tests; every rule violation raises the
``ApiError`` Telegram would answer (see ``validate.py``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from bot.emulator import errors, validate
from bot.emulator.api import Registry, Request
from bot.emulator.errors import ApiError, bad_request
from bot.emulator.model import BOT_ID, CallbackAnswer, Chat, Document, Message, bot_user

CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)

MESSAGE_METHODS = Registry()


def _reply_to(req: Request, chat: Chat) -> int | None:
    """The message being replied to (reply_parameters or the legacy reply_to_message_id)."""
    parameters = req.get_json("reply_parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    message_id = parameters.get("message_id", req.get_int("reply_to_message_id"))
    if message_id is None:
        return None
    target = chat.messages.get(int(message_id))
    if target is None or target.deleted:
        if parameters.get("allow_sending_without_reply") or req.get_bool(
            "allow_sending_without_reply"
        ):
            return None
        raise bad_request("message to be replied not found")
    return target.message_id


@MESSAGE_METHODS("sendMessage")
async def send_message(req: Request) -> Any:
    chat = req.chat()
    text = validate.message_text(req.get_str("text"), req.get_str("parse_mode"))
    markup = validate.reply_markup(req.get_json("reply_markup"))
    message = req.state.add_message(
        chat,
        bot_user(),
        text.text,
        html=text.html,
        entities=text.entities,
        reply_markup=markup,
        reply_to=_reply_to(req, chat),
    )
    req.state.emit_message("send", message)
    return req.state.message_dict(message)


@MESSAGE_METHODS("sendDocument")
async def send_document(req: Request) -> Any:
    chat = req.chat()
    caption = validate.caption_text(req.get_str("caption"), req.get_str("parse_mode"))
    markup = validate.reply_markup(req.get_json("reply_markup"))
    state = req.state
    upload = req.files.get("document")
    reference = req.get_str("document")
    if upload is not None:
        if not upload.data:
            raise bad_request("file must be non-empty")
        unique = state.unique("doc")
        document = Document(f"BQAC{unique}", unique, upload.filename, upload.data)
        document.mime_type = upload.content_type
    elif reference and reference in state.documents:
        document = state.documents[reference]
    elif reference and reference.startswith(("http://", "https://")):
        raise bad_request("failed to get HTTP URL content")
    else:
        raise bad_request("wrong file identifier/HTTP URL specified")
    document = dataclasses.replace(document, caption=caption.text or None)
    state.documents[document.file_id] = document
    message = state.add_message(
        chat,
        bot_user(),
        caption.text,
        html=caption.html,
        entities=caption.entities,
        reply_markup=markup,
        document=document,
        reply_to=_reply_to(req, chat),
    )
    state.emit_message("document", message)
    return state.message_dict(message)


@MESSAGE_METHODS("getFile")
async def get_file(req: Request) -> Any:
    document = req.state.documents.get(req.get_str("file_id") or "")
    if document is None:
        raise bad_request("invalid file_id")
    return {**document.to_dict(), "file_path": document.file_path}


def _edit_target(req: Request) -> Message:
    if req.params.get("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = req.chat()
    message_id = req.get_int("message_id", empty="message identifier is not specified")
    message = chat.messages.get(message_id or 0)
    if message is None or message.deleted or message.sender.get("id") != BOT_ID:
        raise ApiError(400, errors.EDIT_NOT_FOUND)
    return message


def _apply_edit(
    req: Request, message: Message, text: validate.FormattedText, markup: dict[str, Any] | None
) -> Any:
    same_text = (text.text, text.entities) == (message.text, message.entities)
    if same_text and markup == message.reply_markup:
        raise ApiError(400, errors.NOT_MODIFIED)
    message.history.append(message.snapshot())
    message.text, message.entities, message.html = text.text, text.entities, text.html
    message.reply_markup = markup
    message.edit_date = req.state.now()
    req.state.emit_message("edit", message)
    return req.state.message_dict(message)


@MESSAGE_METHODS("editMessageText")
async def edit_message_text(req: Request) -> Any:
    message = _edit_target(req)
    text = validate.message_text(req.get_str("text"), req.get_str("parse_mode"))
    markup = validate.reply_markup(req.get_json("reply_markup"))
    if message.document is not None:
        raise ApiError(400, errors.NO_TEXT_TO_EDIT)
    return _apply_edit(req, message, text, markup)


@MESSAGE_METHODS("editMessageCaption")
async def edit_message_caption(req: Request) -> Any:
    message = _edit_target(req)
    caption = validate.caption_text(req.get_str("caption"), req.get_str("parse_mode"))
    markup = validate.reply_markup(req.get_json("reply_markup"))
    return _apply_edit(req, message, caption, markup)


@MESSAGE_METHODS("editMessageReplyMarkup")
async def edit_message_reply_markup(req: Request) -> Any:
    message = _edit_target(req)
    markup = validate.reply_markup(req.get_json("reply_markup"))
    current = validate.FormattedText(message.text, message.entities, message.html)
    return _apply_edit(req, message, current, markup)


@MESSAGE_METHODS("deleteMessage")
async def delete_message(req: Request) -> Any:
    chat = req.chat()
    message_id = req.get_int("message_id", empty="message identifier is not specified")
    message = chat.messages.get(message_id or 0)
    if message is None or message.deleted:
        raise ApiError(400, errors.DELETE_NOT_FOUND)
    message.deleted = True
    req.state.emit("delete", chat.id, message_id=message.message_id, text=message.text)
    return True


@MESSAGE_METHODS("answerCallbackQuery")
async def answer_callback_query(req: Request) -> Any:
    text = req.get_str("text")
    validate.callback_answer_text(text)
    query = req.state.queries.get(req.get_str("callback_query_id") or "")
    if query is None:
        raise ApiError(400, errors.QUERY_TOO_OLD)
    answer = CallbackAnswer(
        query.id,
        text,
        req.get_bool("show_alert"),
        req.get_str("url"),
        req.get_int("cache_time"),
        accepted=False,
    )
    query.answers.append(answer)
    too_late = time.monotonic() - query.pressed_at > req.callback_timeout
    if too_late or any(a.accepted for a in query.answers):
        raise ApiError(400, errors.QUERY_TOO_OLD)
    event = req.state.emit(
        "answer", query.chat_id, query_id=query.id, text=text, show_alert=answer.show_alert
    )
    answer.accepted, answer.seq = True, event.seq
    return True


@MESSAGE_METHODS("sendChatAction")
async def send_chat_action(req: Request) -> Any:
    chat = req.chat()
    action = req.get_str("action")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    req.state.emit("action", chat.id, text=action)
    return True
