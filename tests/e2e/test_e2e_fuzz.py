"""Issue 10 §6: the real Application, driven through the emulator by a seeded random walk
(three people, commands, hostile typed text, visible and forged buttons, edits, repeated
updates, a group, time passing), keeps every rule after every step: no traceback, no
refused Bot API call, every callback answered once, a reply within 2 s, a consistent
ledger. See fuzz_walk.py for the steps and fuzz_checks.py for the checks.

Hypothesis picks the seeds (derandomized: CI walks the same ones every run). Settings:

- ``FUZZ_STEPS=N``: steps per deployment (default ``DEFAULT_STEPS``: about 60 s for both
  on a quiet two-core machine), in walks of ``WALK_STEPS``;
  each walk starts from a fresh database with the demo data.
- ``FUZZ_SEED=S``: replay the walk of seed S only (a failure prints its seed).
- ``FUZZ_RANDOM=1``: new seeds each run instead of the same ones.
- ``FUZZ_KEEP_GOING=1``: walk on after a failure and report them all at the end.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from bot.emulator import BotApiEmulator
from tests.bank.bank_process import BankProcess
from tests.e2e.conftest import TWO_WEBHOOKS, Clock, RepayBot, bot_settings, demo_database
from tests.e2e.fuzz_checks import Completions, LogWatch
from tests.e2e.fuzz_walk import Walk

try:
    from tests.pg import database_url_for
except ModuleNotFoundError:  # bare `pytest`: see conftest.py
    from pg import database_url_for  # type: ignore[no-redef]

DEFAULT_STEPS = 900
WALK_STEPS = 150
STEPS = int(os.environ.get("FUZZ_STEPS", DEFAULT_STEPS))
SEED = os.environ.get("FUZZ_SEED")
KEEP_GOING = os.environ.get("FUZZ_KEEP_GOING") == "1"  # exploring: report every failure
WALKS = max(1, math.ceil(STEPS / WALK_STEPS))


async def _walk(deployment: str, folder: Path, seed: int, steps: int, bank: BankProcess) -> None:
    logs = LogWatch()
    root = logging.getLogger()
    root.addHandler(logs)
    try:
        async with (
            BotApiEmulator() as emulator,
            database_url_for(deployment, folder, "fuzz") as url,
        ):
            webhooks = deployment == TWO_WEBHOOKS
            db = await demo_database(url)
            bot = RepayBot(
                emulator,
                db,
                bot_settings(emulator, url, webhooks=webhooks, bank=bank if webhooks else None),
                Clock(),
                instances=2 if webhooks else 1,
            )
            await bot.start()
            completions = Completions()
            for app in bot.apps:
                completions.track(app)
            try:
                walk = Walk(
                    bot, seed, completions, logs, repeats_any=webhooks, keep_going=KEEP_GOING
                )
                await walk.run(steps)
            finally:
                await bot.stop()
                await db.dispose()
    finally:
        root.removeHandler(logs)


def _walks(test: object) -> object:
    """The seeds: FUZZ_SEED's alone, or ``WALKS`` drawn by Hypothesis."""
    if SEED is not None:
        return settings(max_examples=1, phases=[Phase.explicit], deadline=None)(
            example(seed=int(SEED))(test)
        )
    return settings(
        max_examples=WALKS,
        derandomize=os.environ.get("FUZZ_RANDOM") != "1",
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # a seed does not shrink: no shrinking
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )(test)


@pytest.mark.parametrize("where", ["sqlite", TWO_WEBHOOKS])
@_walks
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_random_walk_keeps_every_rule(
    where: str, seed: int, tmp_path_factory: pytest.TempPathFactory, bank_process: BankProcess
) -> None:
    steps = STEPS if SEED is not None else min(WALK_STEPS, STEPS)
    folder = tmp_path_factory.mktemp(f"fuzz-{seed}")  # made: database_url_for needs it
    asyncio.run(_walk(where, folder, seed, steps, bank_process))
