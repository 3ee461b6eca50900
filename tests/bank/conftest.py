"""Fixtures: one real `repaybot bank` process per test module (tests use their own
accounts and references and reset its faults), a receiver and a client per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.bank.bank_process import BankClient, BankProcess, Receiver


@pytest.fixture(scope="module")
def bank_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BankProcess]:
    process = BankProcess(Path(tmp_path_factory.mktemp("bank")) / "bank.db", "--retry-base", "0.1")
    process.start()
    yield process
    assert process.stop() == 0


@pytest.fixture
async def client(bank_process: BankProcess) -> AsyncIterator[BankClient]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        bank = BankClient(session, bank_process.url)
        await bank.call("DELETE", "/control/faults")
        yield bank
        await bank.call("DELETE", "/control/faults")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = await Receiver().start()
    yield receiver
    await receiver.stop()


@pytest.fixture
def ids() -> str:
    """A prefix that keeps this test's accounts and references apart in the shared bank."""
    import uuid

    return uuid.uuid4().hex[:10]
