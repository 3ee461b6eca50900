"""Error answers of the emulated Bot API, with the descriptions Telegram uses.

``ApiError`` is raised anywhere inside the emulator to produce an
``{"ok": false, "error_code": N, "description": ...}`` answer; ``EmulatorError`` is raised
to the *test* (or sandbox) that misused the user-side controls.
"""

from __future__ import annotations

from typing import Any

# Descriptions as the real Bot API words them (PTB strips "Bad Request: " and capitalizes).
UNAUTHORIZED = "Unauthorized"
NOT_FOUND = "Not Found"
CHAT_NOT_FOUND = "Bad Request: chat not found"
TEXT_EMPTY = "Bad Request: message text is empty"
TEXT_TOO_LONG = "Bad Request: message is too long"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
EDIT_NOT_FOUND = "Bad Request: message to edit not found"
DELETE_NOT_FOUND = "Bad Request: message to delete not found"
NO_TEXT_TO_EDIT = "Bad Request: there is no text in the message to edit"
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
ANSWER_TOO_LONG = "Bad Request: MESSAGE_TOO_LONG"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
TEXT_BUTTONS_UNALLOWED = (
    "Bad Request: can't parse inline keyboard button: "
    "Text buttons are unallowed in the inline keyboard"
)
MARKUP_TOO_LONG = "Bad Request: reply markup is too long"
BAD_MARKUP = "Bad Request: can't parse reply keyboard markup JSON object"
BLOCKED = "Forbidden: bot was blocked by the user"
CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
NOT_A_MEMBER = "Forbidden: bot is not a member of the group chat"
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)

_DEFAULT_BY_STATUS = {
    400: "Bad Request",
    401: UNAUTHORIZED,
    403: BLOCKED,
    404: NOT_FOUND,
    409: CONFLICT_POLL,
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def default_description(status: int, retry_after: int | None = None) -> str:
    """The description Telegram would most likely send with ``status``."""
    if status == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    return _DEFAULT_BY_STATUS.get(status, f"Error {status}")


class ApiError(Exception):
    """A Bot API error answer; ``body()`` is the JSON Telegram would send."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(f"{status} {description}")
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        """The JSON answer: ok, error_code, description and parameters.retry_after if any."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    """A 400 answer whose description is ``Bad Request: <reason>``."""
    return ApiError(400, f"Bad Request: {reason}")


class EmulatorError(ValueError):
    """The user side was asked for something impossible (unknown user, no such button...)."""
