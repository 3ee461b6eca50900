"""PTB persistence in our own database: conversation states and user scratch data survive a
restart of the bot (``/add`` half-way, a custom amount being typed), and are shared by
several instances: a user's data is read afresh before each handler and written only when
a handler changed it, so an instance never overwrites another's newer state with its own
stale copy (see ``RepayBotApplication`` for conversations).

Each stored conversation state carries a step mark, new with every write. An instance
writes a conversation only if the mark is still the one it last read or wrote (compare
and set): when two instances handled the same chat at once, or one's timeout fired after
the other took the conversation on, the later write is dropped instead of undoing the
newer step, and only the instance holding the latest step may time a conversation out.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from sqlalchemy import delete, select
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from core.db.models import BotStateRow
from core.db.uow import Database

log = logging.getLogger(__name__)
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
        # (conversation name, key) → the step mark last read or written here (None: none)
        self._steps: dict[tuple[str, str], str | None] = {}

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
            row = await uow.session.scalar(self._row(kind, name, key))
            await self._write(uow.session, row, kind, name, key, user_id, data)
            await uow.commit()

    @staticmethod
    def _row(kind: str, name: str, key: str) -> Any:
        return (
            select(BotStateRow)
            .where(BotStateRow.kind == kind, BotStateRow.name == name, BotStateRow.key == key)
            .with_for_update()
        )

    @staticmethod
    async def _write(
        session: Any,
        row: BotStateRow | None,
        kind: str,
        name: str,
        key: str,
        user_id: int,
        data: Data | None,
    ) -> None:
        if data is None:
            if row is not None:
                await session.execute(delete(BotStateRow).where(BotStateRow.id == row.id))
        elif row is None:
            session.add(BotStateRow(kind=kind, name=name, key=key, user_id=user_id, data=data))
        else:
            row.data = data

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
        """One conversation's stored state (None: not in a conversation), noting its step."""
        stored = json.dumps(list(key))
        async with self.db.uow() as uow:
            data = await uow.session.scalar(
                select(BotStateRow.data).where(
                    BotStateRow.kind == CONVERSATION,
                    BotStateRow.name == name,
                    BotStateRow.key == stored,
                )
            )
        self._steps[(name, stored)] = None if data is None else data.get("step")
        return None if data is None else data["state"]

    async def get_conversations(self, name: str) -> ConversationDict:
        found = {}
        for key, data in await self._rows(CONVERSATION, name):
            self._steps[(name, key)] = data.get("step")
            found[tuple(json.loads(key))] = data["state"]
        return found

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        stored = json.dumps(list(key))
        async with self.db.uow() as uow:
            row = await uow.session.scalar(self._row(CONVERSATION, name, stored))
            if not self._current(name, stored, row):
                log.info("conversation %s: a newer step was stored elsewhere; kept it", name)
                return
            step = None if new_state is None else uuid.uuid4().hex
            data = None if new_state is None else {"state": new_state, "step": step}
            await self._write(uow.session, row, CONVERSATION, name, stored, int(key[-1]), data)
            await uow.commit()
        self._steps[(name, stored)] = step

    async def end_conversation_if_current(self, name: str, key: ConversationKey) -> bool:
        """End a conversation that timed out here, if this instance holds its latest step
        (no other instance took it on since); True if it was ended here, now."""
        stored = json.dumps(list(key))
        async with self.db.uow() as uow:
            row = await uow.session.scalar(self._row(CONVERSATION, name, stored))
            if row is None or not self._current(name, stored, row):
                return False
            await self._write(uow.session, row, CONVERSATION, name, stored, int(key[-1]), None)
            await uow.commit()
        self._steps[(name, stored)] = None
        return True

    def _current(self, name: str, stored: str, row: BotStateRow | None) -> bool:
        """Whether the stored step is the one this instance last read or wrote."""
        step = None if row is None else row.data.get("step")
        return step == self._steps.get((name, stored))

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
