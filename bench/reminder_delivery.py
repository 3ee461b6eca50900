"""Benchmark: 10,000 reminders due in the same minute, against Telegram's 30 messages a second.

Run: .venv/bin/python bench/reminder_delivery.py [--quick] [--users 10000]

10,000 users each have a plan due in 3 days and the default reminder time (09:00,
Asia/Shanghai), so all their 3-days-before reminders fall due at 09:00:00. RepayBot runs
in its own process as built by ``build_application`` (its rate limiter, JobQueue sweep every
SWEEP_SECONDS = 30 s, first tick 1 s after start), on SQLite, with its clock starting at
09:00:00 that day; the Bot API emulator enforces Telegram's limits (30 messages a second
overall, 1 a second per chat, a 429 with retry_after beyond them). Measured on the
emulator's side: the accepted sends and when, every 429, duplicates (a chat given more
than one reminder), and the achieved rate as a fraction of 30/s — over the span from the
first to the last accepted send, and from the bot being ready (polling) to the last send.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time as clock
from collections import Counter
from datetime import date, time, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from bench._dataset import FIRST_USER_ID, UserSpec, populate
from bench._harness import TimedEmulator, host_bot, machine, wait_for
from bot.jobs import SWEEP_SECONDS
from core.db.models import ReminderLogRow
from core.db.uow import Database
from core.domain.reminders import local_instant

LIMIT = 30
DAY = date(2026, 12, 1)
NINE = local_instant(DAY, time(9, 0), "Asia/Shanghai")
TARGET = 0.95


async def build_database(path: Path, users: int) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    db = Database.from_url(url)
    await db.migrate()
    spec = UserSpec(time(9, 0), (DAY + timedelta(days=3),), NINE, periods=6)
    counts = await populate(db, lambda _: spec, users, now=NINE - timedelta(days=30))
    await db.dispose()
    print(f"database: {counts.users:,} users with a plan due in 3 days ({counts.seconds:.1f} s)")
    return url


async def log_statuses(url: str) -> dict[str, int]:
    db = Database.from_url(url)
    async with db.uow() as uow:
        rows = await uow.session.execute(
            select(ReminderLogRow.status, func.count()).group_by(ReminderLogRow.status)
        )
        found = {status: count for status, count in rows.all()}
    await db.dispose()
    return found


async def main_async(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    print(f"bot: repaybot, {args.users:,} users due at 09:00")
    with tempfile.TemporaryDirectory(prefix="repaybot-bench-") as tmp:
        workdir = Path(tmp)
        url = await build_database(workdir / "delivery.db", args.users)
        ids = {FIRST_USER_ID + i for i in range(args.users)}
        async with TimedEmulator() as emu:
            for user_id in ids:
                emu.user(user_id, "U", language_code="zh-hans")
            emu.rate_limit(per_second=LIMIT, per_chat_per_second=1)
            bot = host_bot(
                workdir, url, emu.base_url, mode="repaybot", clock_start=NINE.isoformat(),
                sweep_seconds=SWEEP_SECONDS,
            )  # fmt: skip
            bot.start()
            try:
                if not await wait_for(lambda: "getUpdates" in emu.first_call, 60):
                    raise RuntimeError(f"the bot did not start:\n{bot.log_tail()}")
                ready = emu.first_call["getUpdates"]

                def delivered() -> int:
                    return len({t.chat_id for t in emu.sends() if t.status == 200})

                budget = min(args.users / LIMIT * 2 + 4 * SWEEP_SECONDS, args.max_seconds)
                done = await wait_for(lambda: delivered() >= args.users, budget, step=0.5)
            finally:
                bot.stop()
        print(f"machine after: {machine()}")
        report(emu, ids, ready, done, budget, bot.started_at)
        print(f"reminder_log by status: {await log_statuses(url)}")


def report(
    emu: TimedEmulator, ids: set[int], ready: float, done: bool, budget: float, spawned: float
) -> None:
    sends = emu.sends()
    ok = [t for t in sends if t.status == 200]
    flood = [t for t in sends if t.status == 429]
    per_chat = Counter(int(t.chat_id) for t in ok)
    duplicates = sum(1 for n in per_chat.values() if n > 1)
    missing = len(ids - set(per_chat))
    print(f"\nbot ready (first getUpdates) {ready - spawned:.1f} s after spawn")
    if not ok:
        print("no message was accepted")
        return
    first, last = ok[0].at, ok[-1].at
    span = max(last - first, 1e-9)
    rate = (len(ok) - 1) / span
    overall = len(ok) / max(last - ready, 1e-9)
    gaps = sorted(((b.at - a.at), a.at - first) for a, b in itertools.pairwise(ok))
    long_gaps = [g for g in gaps if g[0] > 1.0]
    print(
        f"accepted sendMessage: {len(ok):,} of {len(ids):,} users "
        f"({'all' if done else f'stopped after {budget:.0f} s'}), missing {missing}"
    )
    print(f"429 answers: {len(flood)}; other errors: {len(sends) - len(ok) - len(flood)}")
    print(f"duplicates (a chat given more than one message): {duplicates}")
    print(
        f"first send {first - ready:.1f} s after ready; first to last send {span:.1f} s: "
        f"{rate:.2f} msg/s = {rate / LIMIT:.3f} of the limit"
    )
    print(
        f"ready to last send {last - ready:.1f} s: {overall:.2f} msg/s = "
        f"{overall / LIMIT:.3f} of the limit"
    )
    if flood:
        print(f"first 429 {flood[0].at - first:.1f} s after the first send")
    print(
        f"pauses over 1 s between accepted sends: {len(long_gaps)}, "
        f"{sum(g[0] for g in long_gaps):.1f} s in all; longest "
        + ", ".join(f"{g:.1f} s at +{at:.0f} s" for g, at in gaps[::-1][:5])
    )
    per_second = Counter(int(t.at - first) for t in ok)
    busiest = max(per_second.values())
    print(f"most accepted in one second (sliding from first send, whole seconds): {busiest}")
    meets = rate / LIMIT >= TARGET and not flood and not duplicates and not missing
    print(
        f"target (≥ {TARGET} of the limit, no 429, no duplicate, none missing): "
        f"{'met' if meets else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="600 users, at most 35 s")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument(
        "--max-seconds", type=float, default=1800, help="stop waiting for the last send after"
    )
    args = parser.parse_args()
    if args.quick:
        args.users, args.max_seconds = 600, 35
    started = clock.monotonic()
    asyncio.run(main_async(args))
    print(f"benchmark wall time {clock.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
