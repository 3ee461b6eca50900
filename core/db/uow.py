"""The unit of work: one session and one transaction; nothing is kept unless ``commit()``."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.db.engine import create_engine, session_factory
from core.db.migrate import migrate
from core.gateway.port import PaymentGateway
from core.gateway.simulated import GatewayFaults, SimulatedGateway

GatewayFactory = Callable[[AsyncSession], PaymentGateway]


class UnitOfWork:
    session: AsyncSession
    gateway: PaymentGateway

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], gateway_factory: GatewayFactory
    ) -> None:
        self._sessions = sessions
        self._gateway_factory = gateway_factory

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self.gateway = self._gateway_factory(self.session)
        return self

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
    """An engine, its sessions and the gateway wiring: what services need to open a unit of work."""

    def __init__(self, engine: AsyncEngine, faults: GatewayFaults | None = None) -> None:
        self.engine = engine
        self.faults = faults or GatewayFaults()
        self._sessions = session_factory(engine)

    @classmethod
    def from_url(cls, url: str, *, busy_timeout_ms: int = 5000) -> Database:
        return cls(create_engine(url, busy_timeout_ms=busy_timeout_ms))

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self._sessions, lambda s: SimulatedGateway(s, self.faults))

    async def migrate(self) -> None:
        await migrate(self.engine)

    async def dispose(self) -> None:
        await self.engine.dispose()
