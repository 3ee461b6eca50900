"""Bot API methods about the bot itself: identity, updates, webhook, commands, chats.

Message sending and editing are in ``messaging.py``; both register into a
:class:`~bot.emulator.api.Registry` that ``server.py`` merges.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.emulator import errors
from bot.emulator.api import Registry, Request
from bot.emulator.errors import ApiError, bad_request
from bot.emulator.model import bot_user
from bot.emulator.webhook import max_connections

BOT_METHODS = Registry()


@BOT_METHODS("getMe")
async def get_me(req: Request) -> Any:
    return {
        **bot_user(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@BOT_METHODS("getUpdates")
async def get_updates(req: Request) -> Any:
    state = req.state
    if state.webhook.get("url"):
        raise ApiError(409, errors.CONFLICT_WEBHOOK)
    offset = req.get_int("offset")
    limit = min(max(req.get_int("limit") or 100, 1), 100)
    timeout = max(req.get_int("timeout") or 0, 0)
    allowed = req.get_json("allowed_updates")
    if isinstance(allowed, list):
        state.allowed_updates = [str(a) for a in allowed]
    generation = state.poll_generation.get(req.token, 0) + 1
    state.poll_generation[req.token] = generation
    state.notify()  # an older long poll of this token is now terminated with 409
    if offset is not None:
        state.confirm(offset)

    def ready() -> bool:
        superseded = state.poll_generation[req.token] != generation
        return superseded or bool(state.webhook.get("url")) or bool(state.deliverable(limit))

    await state.wait_until(ready, timeout)
    if state.webhook.get("url"):  # set during the long poll: the webhook gets the updates
        raise ApiError(409, errors.CONFLICT_WEBHOOK)
    if state.poll_generation[req.token] != generation and not req.client_gone():
        raise ApiError(409, errors.CONFLICT_POLL)
    return state.deliverable(limit)


@BOT_METHODS("deleteWebhook")
async def delete_webhook(req: Request) -> Any:
    req.state.webhook.clear()
    if req.get_bool("drop_pending_updates"):
        req.state.updates.clear()
    return True


@BOT_METHODS("setWebhook")
async def set_webhook(req: Request) -> Any:
    url = req.get_str("url") or ""
    if url and not url.startswith("https://"):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = req.get_str("secret_token")
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise bad_request("secret token contains unallowed characters")
    connections = req.get_int("max_connections")
    if connections is not None and not 1 <= connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    allowed = req.get_json("allowed_updates")
    if isinstance(allowed, list):
        req.state.allowed_updates = [str(a) for a in allowed]
    if url:
        params = {k: v for k, v in req.params.items() if k != "url" and v is not None}
        req.state.webhook = {"url": url, **params}
    else:  # an empty URL removes the webhook, as deleteWebhook does
        req.state.webhook.clear()
    if req.get_bool("drop_pending_updates"):
        req.state.updates.clear()
    req.state.notify()  # webhook delivery starts (or stops)
    return True


@BOT_METHODS("getWebhookInfo")
async def get_webhook_info(req: Request) -> Any:
    webhook = req.state.webhook
    info = {"url": webhook.get("url", ""), "has_custom_certificate": False}
    info["pending_update_count"] = len(req.state.updates)
    for key in ("last_error_date", "last_error_message"):
        if key in webhook:
            info[key] = webhook[key]
    if webhook.get("url"):
        info["max_connections"] = max_connections(webhook)
        if req.state.allowed_updates:
            info["allowed_updates"] = req.state.allowed_updates
    return info


def _commands_key(req: Request) -> tuple[str, str]:
    scope = req.get_json("scope") or {"type": "default"}
    language = req.get_str("language_code") or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("invalid language code specified")
    return json.dumps(scope, sort_keys=True), language


@BOT_METHODS("setMyCommands")
async def set_my_commands(req: Request) -> Any:
    commands = req.get_json("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not re.fullmatch(
            r"[a-z0-9_]{1,32}", str(command.get("command", ""))
        ):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    req.state.commands[_commands_key(req)] = commands
    return True


@BOT_METHODS("getMyCommands")
async def get_my_commands(req: Request) -> Any:
    return req.state.commands.get(_commands_key(req), [])


@BOT_METHODS("deleteMyCommands")
async def delete_my_commands(req: Request) -> Any:
    req.state.commands.pop(_commands_key(req), None)
    return True


@BOT_METHODS("getChat")
async def get_chat(req: Request) -> Any:
    chat = req.state.chats.get(req.get_int("chat_id", empty="chat_id is empty") or 0)
    if chat is None:
        raise ApiError(400, errors.CHAT_NOT_FOUND)
    gifts = dict.fromkeys(
        ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription"), True
    )
    gifts["gifts_from_channels"] = True
    extra = {"accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}
    return {**chat.to_dict(), **extra}


@BOT_METHODS("leaveChat")
async def leave_chat(req: Request) -> Any:
    chat = req.chat()
    if chat.user is not None:
        raise bad_request("chat member status can't be changed in private chats")
    chat.bot_is_member = False
    return True


@BOT_METHODS("close")
async def close(req: Request) -> Any:
    return True


@BOT_METHODS("logOut")
async def log_out(req: Request) -> Any:
    return True
