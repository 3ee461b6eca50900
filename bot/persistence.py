"""PTB persistence in our own database: conversation states and user scratch data survive a
restart of the bot (``/add`` half-way, a custom amount being typed), and are shared by
several instances: a user's data is read afresh before each handler and written only when
a handler changed it, so an instance never overwrites another's newer state with its own
stale copy (see ``RepayBotApplication`` for conversations)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from core.db.models import BotStateRow
from core.db.uow import Database

USER_DATA = "user_data"
CONVERSATION = "conversation"
Data = dict[str, Any]


class DatabasePersistence(BasePersistence[Data, Data, Data]):
    """Stores user data and conversations; bot, chat and callback data are not used."""

    def __init__(self, db: Database, update_interval: float = 1.0) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.db = db
        self._seen: dict[int, str] = {}  # user id → their data as last read or written

    @staticmethod
    def _text(data: Data) -> str:
        return json.dumps(data, sort_keys=True, ensure_ascii=False)

    async def _rows(self, kind: str, name: str = "") -> list[tuple[str, Data]]:
        """(key, data) of every row of a kind, read while the session is open."""
        async with self.db.uow() as uow:
            found = await uow.session.scalars(
                select(BotStateRow).where(BotStateRow.kind == kind, BotStateRow.name == name)
            )
            return [(row.key, dict(row.data)) for row in found]

    async def _put(self, kind: str, name: str, key: str, user_id: int, data: Data | None) -> None:
        async with self.db.uow() as uow:
            row = await uow.session.scalar(
                select(BotStateRow).where(
                    BotStateRow.kind == kind, BotStateRow.name == name, BotStateRow.key == key
                )
            )
            if data is None:
                if row is not None:
                    await uow.session.delete(row)
            elif row is None:
                uow.session.add(
                    BotStateRow(kind=kind, name=name, key=key, user_id=user_id, data=data)
                )
            else:
                row.data = data
            await uow.commit()

    async def get_user_data(self) -> dict[int, Data]:
        return {int(key): data for key, data in await self._rows(USER_DATA)}

    async def update_user_data(self, user_id: int, data: Data) -> None:
        # Round-trip through JSON: only plain values belong in persisted user data.
        plain = json.loads(json.dumps(data))
        text = self._text(plain)
        if self._seen.get(user_id) == text:
            return  # unchanged here: writing it could undo another instance's change
        await self._put(USER_DATA, "", str(user_id), user_id, plain or None)
        self._seen[user_id] = text

    async def drop_user_data(self, user_id: int) -> None:
        await self._put(USER_DATA, "", str(user_id), user_id, None)
        self._seen.pop(user_id, None)

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        """Before a handler runs: the user's data as the database has it now (another
        instance may have handled their last message)."""
        async with self.db.uow() as uow:
            row = await uow.session.scalar(
                select(BotStateRow.data).where(
                    BotStateRow.kind == USER_DATA,
                    BotStateRow.name == "",
                    BotStateRow.key == str(user_id),
                )
            )
        fresh = dict(row) if row else {}
        user_data.clear()
        user_data.update(fresh)
        self._seen[user_id] = self._text(fresh)

    async def conversation_state(self, name: str, key: ConversationKey) -> object | None:
        """One conversation's stored state (None: not in a conversation)."""
        async with self.db.uow() as uow:
            data = await uow.session.scalar(
                select(BotStateRow.data).where(
                    BotStateRow.kind == CONVERSATION,
                    BotStateRow.name == name,
                    BotStateRow.key == json.dumps(list(key)),
                )
            )
        return None if data is None else data["state"]

    async def get_conversations(self, name: str) -> ConversationDict:
        return {
            tuple(json.loads(key)): data["state"]
            for key, data in await self._rows(CONVERSATION, name)
        }

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        data = None if new_state is None else {"state": new_state}
        await self._put(CONVERSATION, name, json.dumps(list(key)), int(key[-1]), data)

    async def get_chat_data(self) -> dict[int, Data]:
        return {}

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        """Chat data is not used."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Chat data is not used."""

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        """Chat data is not used."""

    async def get_bot_data(self) -> Data:
        return {}

    async def update_bot_data(self, data: Data) -> None:
        """Bot data is not used (it holds live objects, not state)."""

    async def refresh_bot_data(self, bot_data: Data) -> None:
        """Bot data is not used."""

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        """Callback data is our own ids, not PTB's arbitrary callback data."""

    async def flush(self) -> None:
        """Every change is written when it is made."""
