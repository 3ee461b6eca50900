"""The unit of work: one session and one transaction; nothing is kept unless ``commit()``.

It also hands out the link to the payment provider, which is *not* part of the
transaction: whatever a service asks the provider happens whether or not it commits,
so services commit what they intend before they call it (core/services/payment_flow.py).
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.db.engine import create_engine, session_factory
from core.db.migrate import migrate
from core.gateway.link import ProviderLink


class NoProvider(RuntimeError):
    """Money was to move, but no payment provider is configured."""


class UnitOfWork:
    session: AsyncSession

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], provider: ProviderLink | None
    ) -> None:
        self._sessions = sessions
        self._provider = provider

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        return self

    @property
    def provider(self) -> ProviderLink:
        """The payment provider: outside this transaction (see the module's docstring)."""
        if self._provider is None:
            raise NoProvider("no payment provider is configured")
        return self._provider

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


class Database:
    """An engine, its sessions and the payment provider: what services need to open a
    unit of work. ``provider`` is set once the provider is reachable (bot start-up)."""

    def __init__(self, engine: AsyncEngine, provider: ProviderLink | None = None) -> None:
        self.engine = engine
        self.provider = provider
        self._sessions = session_factory(engine)

    @classmethod
    def from_url(
        cls, url: str, *, busy_timeout_ms: int = 5000, provider: ProviderLink | None = None
    ) -> Database:
        return cls(create_engine(url, busy_timeout_ms=busy_timeout_ms), provider)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self._sessions, self.provider)

    async def migrate(self) -> None:
        await migrate(self.engine)

    async def dispose(self) -> None:
        await self.engine.dispose()
