"""Benchmark: resident memory and time to ready of ``repaybot run`` with 100,000 users.

Run: .venv/bin/python bench/memory_startup.py [--quick] [--users 100000] [--starts 3]

The database is SQLite with 100,000 users × 10 plans (bench/_dataset.py ``spread_users``,
around today's date, every user's next look at their remind time: the steady state) plus
the 200 people of chat_latency.py. ``python -m bot.cli run`` is started as a subprocess
(BOT_TOKEN, DATABASE_URL, TELEGRAM_BASE_URL = the emulator in this process, HTTP_PORT=0)
``--starts`` times; ready = its first getUpdates call seen by the emulator, timed from
the spawn. RSS is VmRSS from /proc/<pid>/status 2 s after ready and after traffic (the 200
people's /status + /repay, and a sweep tick sending the reminders due meanwhile); VmHWM
is the peak. The same is measured with only the 200 people in the database, as a baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time as clock
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._chat import REPAY_SCRIPT, Person, run_people
from bench._dataset import FIRST_USER_ID, UserSpec, populate, spread_users
from bench._harness import TOKEN, BotProcess, TimedEmulator, machine, rss_kib, wait_for
from core.db.uow import Database
from core.domain.reminders import local_instant

ZONE = "Asia/Shanghai"
RSS_TARGET_MB = 200
READY_TARGET = 3.0


def file_mb(path: Path) -> float:
    return path.stat().st_size / 1e6


async def build_database(path: Path, users: int, people: int) -> None:
    """``users`` spread users, then ``people`` who owe a bill due today (in real time)."""
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(ZONE)).date()
    db = Database.from_url(f"sqlite+aiosqlite:///{path}")
    await db.migrate()
    others = spread_users(users, today, now)
    tomorrow = local_instant(today + timedelta(days=1), time(9, 0), ZONE)
    person = UserSpec(time(9, 0), (today,), tomorrow, periods=6)

    def spec(index: int) -> UserSpec:
        return others(index) if index < users else person

    counts = await populate(db, spec, users + people, now=now - timedelta(days=30))
    await db.dispose()
    size = file_mb(path)
    print(
        f"database {path.name}: {counts.users:,} users, {counts.plans:,} plans, "
        f"{counts.installments:,} installments ({size:.0f} MB)"
    )


async def one_start(
    workdir: Path, database: Path, users: int, args: argparse.Namespace, traffic: bool
) -> dict[str, Any]:  # fmt: skip
    people = [FIRST_USER_ID + users + i for i in range(args.people)]
    async with TimedEmulator() as emu:
        for user_id in people:
            emu.user(user_id, "P", language_code="zh-hans")
        if traffic:  # the users whose reminders fall due meanwhile get them
            for index in range(users):
                emu.user(FIRST_USER_ID + index, "B", language_code="zh-hans")
        env = {
            "BOT_TOKEN": TOKEN,
            "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "TELEGRAM_BASE_URL": emu.base_url,
            "HTTP_PORT": "0",
        }
        bot = BotProcess(["-m", "bot.cli", "run"], workdir, env)
        bot.start()
        try:
            if not await wait_for(lambda: "getUpdates" in emu.first_call, 120, step=0.01):
                raise RuntimeError(f"repaybot run did not start:\n{bot.log_tail()}")
            result: dict[str, Any] = {
                "ready": emu.first_call["getUpdates"] - bot.started_at,
                "getMe": emu.first_call.get("getMe", 0) - bot.started_at,
            }
            await asyncio.sleep(2)
            result["rss_ready"] = rss_kib(bot.pid)
            if traffic:
                wall = await run_people(emu, [Person(i, REPAY_SCRIPT) for i in people])
                sent_before = len(emu.sends())
                await asyncio.sleep(args.idle)  # 32 s: at least one more sweep tick
                result["traffic"] = {
                    "wall": wall,
                    "sends": len(emu.sends()),
                    "sweep_sends": len(emu.sends()) - sent_before,
                }
                result["rss_traffic"] = rss_kib(bot.pid)
        finally:
            code = bot.stop()
        result["exit"] = code
    return result


def mb(kib: int) -> str:
    return f"{kib / 1024:.0f} MB"


async def measure(
    workdir: Path, users: int, starts: int, label: str, args: argparse.Namespace
) -> None:  # fmt: skip
    database = workdir / f"{label}.db"
    await build_database(database, users, args.people)
    results = [
        await one_start(workdir, database, users, args, i == starts - 1) for i in range(starts)
    ]
    readies = [r["ready"] for r in results]
    print(f"[{label}] time to ready (spawn → first getUpdates), {starts} starts:")
    for r in results:
        print(
            f"  ready {r['ready']:.2f} s (first getMe at {r['getMe']:.2f} s), "
            f"VmRSS 2 s after ready {mb(r['rss_ready']['VmRSS'])}, exit code {r['exit']}"
        )
    last = results[-1]
    traffic, rss = last["traffic"], last["rss_traffic"]
    print(
        f"  after traffic ({args.people} people through /status + /repay in "
        f"{traffic['wall']:.1f} s, then {args.idle:g} s idle with the sweep: "
        f"{traffic['sweep_sends']} reminders sent): "
        f"VmRSS {mb(rss['VmRSS'])}, peak VmHWM {mb(rss['VmHWM'])}"
    )
    best = sorted(readies)[len(readies) // 2]
    print(
        f"  median ready {best:.2f} s: {'meets' if best <= READY_TARGET else 'MISSES'} 3 s; "
        f"peak RSS {mb(rss['VmHWM'])}: "
        f"{'meets' if rss['VmHWM'] / 1024 <= RSS_TARGET_MB else 'MISSES'} 200 MB"
    )


async def main_async(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="repaybot-bench-") as tmp:
        workdir = Path(tmp)
        await measure(workdir, args.users, args.starts, f"{args.users}-users", args)
        if args.baseline:
            await measure(workdir, 0, 1, "people-only", args)
    print(f"machine after: {machine()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 users, 1 start, 50 people")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--people", type=int, default=200, help="who chat after the start")
    parser.add_argument("--idle", type=float, default=32, help="seconds idle after the chat")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    args = parser.parse_args()
    if args.quick:
        args.users, args.starts, args.baseline, args.people, args.idle = 10_000, 1, False, 50, 2
    os.environ.pop("BOT_TOKEN", None)
    started = clock.monotonic()
    asyncio.run(main_async(args))
    print(f"benchmark wall time {clock.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
