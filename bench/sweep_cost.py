"""Benchmark: what a reminder sweep costs with 100,000 users × 10 plans, SQLite and PostgreSQL.

Run: .venv/bin/python bench/sweep_cost.py [--quick] [--backend sqlite|postgresql|both]
     [--users 100000] [--minutes 1440] [--cold-start N]

Data (bench/_dataset.py ``spread_users``): every user has 10 one-period plans (so 1 M
plans and 1 M installments), due on days drawn uniformly from the 30 days starting at the
measured day, and one bank card; remind times are spread over all 1440 minutes of the day;
reminders 3, 1 and 0 days before the due date at the user's time, Asia/Shanghai. In the
steady state every user is looked at once a day at their remind time, so each minute has
its ~69 users to look at, about two thirds of whom have a reminder due that minute.

Figures, each on the real services (``core/services/reminder_sweep.py``):
- select: the SELECT of due users alone (claim_chunk's user query), 20 times at
  09:00, in the steady state (after the sweeps of the minutes before);
- minute: a sweep of one minute's work, as ``bot/jobs.py: run_sweep`` does it minus the
  sending: ``run_due_autopays``, then ``claim_chunk`` of CLAIM_CHUNK users until done,
  timed apart; then ``record_outcome`` per message (what follows each accepted send);
- day ("plan a whole day's reminders"): that minute sweep run for every minute of one day
  (1440 sweeps, 00:00–23:59 local): the sum, and the per-minute p50/p99/max;
- cold start: the first sweep after an import, when ``next_sweep_at`` is AT_ONCE and every
  user's next look must be computed: ``--cold-start`` users set to NULL and swept (in
  the minute after the day's sweeps), the time per user extrapolated to all users.
PostgreSQL is a throwaway server started by tests/pg.py (fsync off, as in the tests).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time as clock
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text, update

from bench._dataset import FIRST_USER_ID, populate, spread_users
from bench._harness import machine, ms, percentile
from bot.jobs import CLAIM_CHUNK
from core.db.models import AT_ONCE, ReminderLogRow, User
from core.db.uow import Database
from core.domain.reminders import local_instant
from core.services.autopay_sweep import run_due_autopays
from core.services.reminder_sweep import DEFAULT_LEASE, claim_chunk
from core.services.send_outcomes import record_outcome
from core.services.wakeups import is_due

ZONE = "Asia/Shanghai"
DAY = date(2026, 12, 1)
MIDNIGHT = local_instant(DAY, time(0, 0), ZONE)
AUTOPAY_AT = time(10, 0)
TARGET = 0.200


def due_users(now: datetime, limit: int | None = CLAIM_CHUNK) -> Any:
    """claim_chunk's query of the users to look at (without its row locks)."""
    return (
        select(User.telegram_id)
        .where(is_due(now))
        .order_by(User.next_sweep_at, User.telegram_id)
        .limit(limit)
    )


async def open_database(backend: str, workdir: Path) -> tuple[Database, str]:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir}/sweep.db"
    else:
        from tests.pg import get_server

        server = get_server()
        name = f"bench_sweep_{int(clock.time())}"
        await asyncio.to_thread(server.create_database, name)
        url = server.url_for(name)
    db = Database.from_url(url)
    await db.migrate()
    return db, url


async def time_select(db: Database, now: datetime, repeats: int) -> dict[str, Any]:
    times, found = [], 0
    for _ in range(repeats):
        async with db.uow() as uow:
            started = clock.perf_counter()
            found = len(list(await uow.session.scalars(due_users(now))))
            times.append(clock.perf_counter() - started)
    async with db.engine.connect() as conn:
        compiled = due_users(now).compile(conn.engine, compile_kwargs={"literal_binds": True})
        explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
        plan = [
            " ".join(str(c) for c in row)
            for row in await conn.execute(text(explain + str(compiled)))
        ]
    return {"times": times, "rows": found, "plan": plan}


async def sweep_minute(db: Database, now: datetime) -> dict[str, float]:
    """One sweep at ``now``, without the sending: autopays, claims, then the records."""
    async with db.uow() as uow:
        looked = await uow.session.scalar(
            select(func.count()).select_from(due_users(now, None).subquery())
        )
    started = clock.perf_counter()
    async with db.uow() as uow:
        await run_due_autopays(uow, now, AUTOPAY_AT)
    autopay = clock.perf_counter()
    batches: list[Any] = []
    while True:
        async with db.uow() as uow:
            chunk = await claim_chunk(
                uow, now, users=CLAIM_CHUNK, lease=DEFAULT_LEASE, autopay_at=AUTOPAY_AT
            )
        batches += chunk.batches
        if chunk.looked < CLAIM_CHUNK:
            break
    claimed = clock.perf_counter()
    for batch in batches:  # what run_sweep does after each accepted send
        async with db.uow() as uow:
            await record_outcome(uow, batch.log_ids, now, message_id=1)
    recorded = clock.perf_counter()
    return {
        "users": float(looked or 0),
        "messages": float(len(batches)),
        "autopay": autopay - started,
        "claim": claimed - autopay,
        "record": recorded - claimed,
    }


async def cold_start(db: Database, now: datetime, users: int, sample: int) -> dict[str, float]:
    """``sample`` users' next look unknown (AT_ONCE), as after an import: the sweep that looks
    at them all, in CLAIM_CHUNK chunks as run_sweep claims; extrapolated to ``users``."""
    async with db.uow() as uow:
        await uow.session.execute(
            update(User)
            .where(User.telegram_id < FIRST_USER_ID + sample)
            .values(next_sweep_at=AT_ONCE)
        )
        await uow.commit()
    async with db.uow() as uow:  # the sample, and whoever else is due now
        looked = await uow.session.scalar(
            select(func.count()).select_from(due_users(now, None).subquery())
        )
    started = clock.perf_counter()
    while True:
        async with db.uow() as uow:
            chunk = await claim_chunk(uow, now, users=CLAIM_CHUNK, autopay_at=AUTOPAY_AT)
        if chunk.looked < CLAIM_CHUNK:
            break
    seconds = clock.perf_counter() - started
    looked = looked or 0
    return {"users": looked, "seconds": seconds, "all": seconds / max(looked, 1) * users}


async def bench_backend(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    db, _ = await open_database(backend, workdir)
    specs = spread_users(args.users, DAY, MIDNIGHT, plans=args.plans)
    counts = await populate(db, specs, args.users, now=MIDNIGHT - timedelta(days=1))
    print(
        f"\n[{backend}] {counts.users:,} users, {counts.plans:,} plans, "
        f"{counts.installments:,} installments written in {counts.seconds:.1f} s"
    )
    # The SELECT alone is timed in the steady state: at 09:00 (mid-run with --quick), after
    # the sweeps of every earlier minute, so it finds just that minute's users.
    probe = min(9 * 60, args.minutes // 2)
    minutes: list[dict[str, float]] = []
    started = clock.perf_counter()
    for minute in range(args.minutes):
        now = MIDNIGHT + timedelta(minutes=minute)
        if minute == probe:
            selected = await time_select(db, now, 20)
        minutes.append(await sweep_minute(db, now))
        if minute and minute % 240 == 0:
            print(f"  … {minute} minutes swept in {clock.perf_counter() - started:.0f} s")
    t = selected["times"]
    at = (MIDNIGHT + timedelta(minutes=probe)).astimezone(ZoneInfo(ZONE)).strftime("%H:%M")
    print(
        f"select due users at {at} ({selected['rows']} rows), 20 runs: "
        f"p50 {ms(percentile(t, 50))}, max {ms(max(t))}"
    )
    for line in selected["plan"]:
        print(f"  plan: {line}")
    result = {"backend": backend, "select": t, "minutes": minutes}
    report_day(minutes)
    async with db.uow() as uow:
        logged = await uow.session.scalar(select(func.count()).select_from(ReminderLogRow))
    print(f"reminder_log rows after the day: {logged:,}")
    if args.cold_start:
        after = MIDNIGHT + timedelta(minutes=args.minutes)  # the minute after the last sweep
        cold = await cold_start(db, after, args.users, args.cold_start)
        result["cold"] = cold
        print(
            f"cold start (next_sweep_at AT_ONCE): {cold['users']:,.0f} users looked at in "
            f"{cold['seconds']:.1f} s ({cold['seconds'] / max(cold['users'], 1) * 1000:.2f} ms "
            f"a user) → all {args.users:,} users ≈ {cold['all']:.0f} s"
        )
    await db.dispose()
    return result


def report_day(minutes: list[dict[str, float]]) -> None:
    def column(key: str) -> list[float]:
        return [m[key] for m in minutes]

    claim, autopay, record = column("claim"), column("autopay"), column("record")
    total = [m["autopay"] + m["claim"] + m["record"] for m in minutes]
    users, messages = column("users"), column("messages")
    print(
        f"{len(minutes)} one-minute sweeps: users looked at per minute p50 "
        f"{percentile(users, 50):.0f} (max {max(users):.0f}), messages claimed "
        f"{sum(messages):,.0f} in all, p50 {percentile(messages, 50):.0f} a minute"
    )
    print(f"{'per minute':<28} {'p50':>10} {'p99':>10} {'max':>10} {'day total':>10}")
    for name, values in (
        ("autopay query", autopay),
        ("claim_chunk", claim),
        ("record_outcome (all msgs)", record),
        ("whole sweep", total),
    ):
        print(
            f"{name:<28} {ms(percentile(values, 50)):>10} {ms(percentile(values, 99)):>10} "
            f"{ms(max(values)):>10} {sum(values):>9.1f}s"
        )
    verdict = "meets" if percentile(claim, 99) <= TARGET and max(claim) <= TARGET else "MISSES"
    print(
        f"find and claim one minute's work: p99 {ms(percentile(claim, 99))}, "
        f"max {ms(max(claim))}: {verdict} the 200 ms target"
    )


async def main_async(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="repaybot-bench-") as tmp:
        for backend in backends:
            await bench_backend(backend, args, Path(tmp))
    print(f"\nmachine after: {machine()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3,000 users, 30 minutes")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--plans", type=int, default=10, help="plans per user")
    parser.add_argument("--minutes", type=int, default=1440, help="minutes of the day to sweep")
    parser.add_argument("--cold-start", type=int, default=6000, help="users to time (0: skip)")
    args = parser.parse_args()
    if args.quick:
        args.users, args.minutes, args.cold_start = 3_000, 30, 300
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
