"""Benchmark: the heaviest account the limits allow, and what it costs everyone else.

Run: .venv/bin/python bench/heavy_user.py [--quick] [--people 4] [--statuses 50]
     [--background 1000] [--rounds 10] [--heavy-pause 1.0] [--no-chat | --no-sweep]
     [--workdir DIR]

The heavy user (``core/limits.py``): MAX_OPEN_PLANS plans × MAX_PLAN_PERIODS periods, all
first due on the earliest date allowed (so all 1,200 installments are overdue, the oldest
by five years), on auto-repay, MAX_PAYMENT_METHODS payment methods, reminders on at every
offset (five "days before", the daily overdue notice). Everything is made through the
services a person's /add and /cards call, so the limits hold. SQLite.

Figures:
- sweep cost: one sweep's look at that user alone — the auto-debit pass, ``claim_chunk``
  (its overdue notices claimed: one per plan), then ``record_outcome`` of the message —
  at 09:00 on ``--rounds`` days in a row, after one sweep the day before (a running
  bot's first sweep compiles its statements; that one is printed apart); and the look
  after a /remind toggle (``wake``) the same minute, with nothing new to claim. Wall
  time (target ≤ 50 ms) and the process's CPU time (the SQLite thread's included),
  which is what the wall time would be on a machine with nothing else running. For
  comparison, the reminder policy as first written (one overdue reminder per
  installment per day since its due date, ``tests/unit/reminder_oracle.py``) on the same
  installments.
- /status of other users: ``--people`` people each send /status ``--statuses`` times,
  through the emulator to the bot in its own process (sweep every second, clock from
  08:59:50 so the heavy user's overdue batch falls due during the run), once without the
  heavy user in the database and once with them, while they toggle /remind and ask
  /status at a person's pace (``--heavy-pause`` seconds from each answer to their next
  step; 0: back to back, as fast as the bot answers — a stress figure, in which even a
  one-plan user slows the others by ~1.2×). End-to-end p99 (update sent → answer seen);
  target: with ≤ 1.2 × without.
- event loop: in the bot's process a task sleeps 10 ms and records how late it wakes;
  the longest lateness is the longest time the loop was held. Target ≤ 100 ms. Next to
  it, the main thread's CPU time over that span (a lateness with little CPU is the
  machine not running the process, not our code), the longest run of the main thread
  between two ticks, and the garbage collector's longest pause.

Diagnosis: ``HEAVY_PROFILE=path`` writes a cProfile of the bot's process per run;
``HEAVY_SLOW_CALLBACKS=0.05`` logs (to DIR/bot.log with ``--workdir``) every callback that
held the loop longer than that.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import sys
import tempfile
import time as clock
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import update

from bench._chat import Person, run_people
from bench._dataset import FIRST_USER_ID, UserSpec, populate, spread_users
from bench._harness import BotProcess, TimedEmulator, machine, ms, percentile, wait_for
from core.db.models import AT_ONCE, User
from core.db.uow import Database
from core.domain.reminders import ReminderPolicy, local_instant
from core.domain.terms import Method
from core.limits import MAX_OPEN_PLANS, MAX_PAYMENT_METHODS, MAX_PLAN_PERIODS
from core.services.autopay_sweep import run_due_autopays
from core.services.books import load_open_plans
from core.services.clock import local_date
from core.services.limits import first_due_range
from core.services.methods import MethodKind, add_method, set_autopay
from core.services.plans import PlanDraft, add_plan
from core.services.reminder_sweep import claim_chunk
from core.services.reminders import update_reminder_settings
from core.services.send_outcomes import record_outcome
from core.services.users import ensure_user
from core.services.wakeups import Looked
from tests.unit.reminder_oracle import due_reminders_oracle

ZONE = "Asia/Shanghai"
DAY = date(2026, 12, 1)
NINE = local_instant(DAY, time(9, 0), ZONE)
AUTOPAY_AT = time(10, 0)
HEAVY = 1
OFFSETS = (30, 7, 3, 1, 0)  # the most "days before" a user may choose (MAX_OFFSETS)
SWEEP_TARGET = 0.050
RATIO_TARGET = 1.2
BLOCK_TARGET = 0.100
HOST_FLAG = "--host"


async def add_heavy_user(db: Database, now: datetime) -> None:
    """The heaviest account, made through the services (so every limit is checked)."""
    async with db.uow() as uow:
        await ensure_user(uow, HEAVY, now, language_code="zh-hans")
    for n in range(MAX_PAYMENT_METHODS):
        async with db.uow() as uow:
            view = await add_method(uow, HEAVY, MethodKind.BANK_CARD, f"卡 {n}", f"{n:04d}", now)
    earliest, _ = first_due_range(local_date(now, ZONE))
    for n in range(MAX_OPEN_PLANS):
        draft = PlanDraft(
            provider="小米",
            title=f"分期 {n}",
            principal=Decimal("60000.00"),
            periods=MAX_PLAN_PERIODS,
            method=Method.FEE_PER_PERIOD,
            rate=Decimal("0.006"),
            first_due=earliest,
        )
        async with db.uow() as uow:
            plan_id = await add_plan(uow, HEAVY, draft, now)
        async with db.uow() as uow:
            await set_autopay(uow, HEAVY, plan_id, True, view.method_id)
    async with db.uow() as uow:
        await update_reminder_settings(
            uow, HEAVY, enabled=True, days_before=OFFSETS, overdue_daily=True
        )


async def wake_heavy(db: Database) -> None:
    async with db.uow() as uow:
        await uow.session.execute(
            update(User).where(User.telegram_id == HEAVY).values(next_sweep_at=AT_ONCE)
        )
        await uow.commit()


async def one_sweep(db: Database, now: datetime) -> tuple[float, float, int]:
    """The sweep as bot/jobs.py runs it, minus sending: seconds, the process's CPU seconds
    (the SQLite thread's included: what the sweep costs on a machine with nothing else
    running), and reminders claimed."""
    started, cpu = clock.perf_counter(), clock.process_time()
    async with db.uow() as uow:
        await run_due_autopays(uow, now, AUTOPAY_AT)
    async with db.uow() as uow:
        chunk = await claim_chunk(uow, now, users=150, autopay_at=AUTOPAY_AT)
    items = 0
    for batch in chunk.batches:
        items += len(batch.items)
        async with db.uow() as uow:
            await record_outcome(uow, batch.log_ids, now, message_id=1)
    return clock.perf_counter() - started, clock.process_time() - cpu, items


async def sweep_cost(workdir: Path, rounds: int) -> dict[str, Any]:
    db = Database.from_url(f"sqlite+aiosqlite:///{workdir}/sweep.db")
    await db.migrate()
    await add_heavy_user(db, NINE - timedelta(days=1))
    gc.freeze()  # as the bot does once started (bot/app.py): what exists now stays
    # A running bot has swept before: its first sweep compiles the sweep's statements and
    # fills the caches of local instants, once per process. Measured apart.
    await wake_heavy(db)
    first, _, _ = await one_sweep(db, NINE - timedelta(days=1, seconds=-30))
    looks: list[float] = []
    again: list[float] = []
    looks_cpu: list[float] = []
    again_cpu: list[float] = []
    claimed: list[int] = []
    for n in range(rounds):
        now = NINE + timedelta(days=n, seconds=30)
        await wake_heavy(db)
        seconds, cpu, items = await one_sweep(db, now)
        looks.append(seconds)
        looks_cpu.append(cpu)
        claimed.append(items)
        await wake_heavy(db)  # a /remind toggle: looked at again at once
        seconds, cpu, items = await one_sweep(db, now + timedelta(seconds=5))
        again.append(seconds)
        again_cpu.append(cpu)
        assert items == 0
    old = await old_definition_cost(db, NINE + timedelta(seconds=30))
    await db.dispose()
    return {
        "looks": looks,
        "again": again,
        "looks_cpu": looks_cpu,
        "again_cpu": again_cpu,
        "claimed": claimed,
        "first": first,
        "old": old,
    }


async def old_definition_cost(db: Database, now: datetime) -> tuple[float, int]:
    """The reminder policy as first written, on the heavy user's open installments."""
    async with db.uow() as uow:
        user = await uow.session.get(User, HEAVY)
        assert user is not None
        plans = await load_open_plans(uow.session, [HEAVY])
        policy = ReminderPolicy(True, OFFSETS, user.remind_time, ZONE, True)
        view = Looked.of(user, plans[HEAVY], policy, now)
        items = view.owing
    started = clock.process_time()
    due_reminders_oracle(now, policy, items)
    return clock.process_time() - started, len(items)


# ----------------------------------------------------------------- the bot's process


async def host(argv: list[str]) -> dict[str, Any]:
    """The bot as bench/_bot_host.py serves it, with an event-loop lag monitor."""
    from bench import _bot_host

    parser = argparse.ArgumentParser()
    for name in ("--mode", "--database-url", "--base-url", "--clock-start", "--record"):
        parser.add_argument(name, default="")
    parser.add_argument("--sweep-seconds", type=float, default=0)
    args = parser.parse_args(argv)
    lateness: list[list[float]] = []
    collections: list[list[float]] = []

    async def monitor() -> None:
        loop = asyncio.get_running_loop()
        while True:
            before, cpu = loop.time(), clock.thread_time()
            await asyncio.sleep(0.010)
            # Monotonic clock, shared by the processes: the parent keeps the measured span.
            # The main thread's CPU time over the same span tells a loop held by our code
            # from a process the machine did not run (other load).
            late = loop.time() - before - 0.010
            lateness.append([clock.monotonic(), late, clock.thread_time() - cpu])

    def garbage_collection(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append([clock.monotonic(), 0.0, info["generation"]])
        elif collections:
            collections[-1][1] = clock.monotonic() - collections[-1][0]

    gc.callbacks.append(garbage_collection)
    watch = asyncio.create_task(monitor())
    if os.environ.get("HEAVY_SLOW_CALLBACKS"):  # diagnosis: name the callbacks that block
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = float(os.environ["HEAVY_SLOW_CALLBACKS"])
    handled = await _bot_host.serve(args)
    watch.cancel()
    return {
        "record": args.record,
        "handled": handled,
        "lateness": lateness,
        "collections": collections,
    }


def start_host(workdir: Path, url: str, base_url: str, record: Path) -> BotProcess:
    start = (NINE - timedelta(seconds=10)).isoformat()
    args = [__file__, HOST_FLAG, "--mode", "repaybot", "--database-url", url]
    args += ["--base-url", base_url, "--clock-start", start, "--sweep-seconds", "1"]
    args += ["--record", str(record)]
    return BotProcess(args, workdir)


async def build_chat_database(path: Path, background: int, people: int, heavy: bool) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{path}")
    await db.migrate()
    others = spread_users(background, DAY, NINE)
    remind = local_instant(DAY + timedelta(days=1), time(9, 0), ZONE)
    person = UserSpec(time(9, 0), (DAY,), remind, periods=6)

    def spec(index: int) -> UserSpec:
        return others(index) if index < background else person

    await populate(db, spec, background + people, now=NINE - timedelta(days=30))
    if heavy:
        await add_heavy_user(db, NINE - timedelta(days=1))
    await db.dispose()


HEAVY_SCRIPT = (("say", "/remind"), ("tap", "开 / 关提醒"), ("say", "/status"))


async def paced(emu: TimedEmulator, person: Person, pause: float) -> None:
    """The heavy user's script over and over at a person's pace: ``pause`` seconds from
    each answer to the next step, until cancelled."""
    while True:
        for step in HEAVY_SCRIPT:
            one = Person(person.user_id, (step,))
            await run_people(emu, [one], timeout=60)
            person.latencies += one.latencies
            person.error = person.error or one.error
            await asyncio.sleep(pause)


async def chat_run(
    workdir: Path, args: argparse.Namespace, heavy: bool
) -> dict[str, Any]:  # fmt: skip
    name = "with" if heavy else "without"
    database = workdir / f"chat-{name}.db"
    await build_chat_database(database, args.background, args.people, heavy)
    record = workdir / f"{name}.json"
    ids = [FIRST_USER_ID + args.background + i for i in range(args.people)]
    async with TimedEmulator() as emu:
        for user_id in [*ids, HEAVY]:
            emu.user(user_id, f"P{user_id}", language_code="zh-hans")
        for index in range(args.background):
            emu.user(FIRST_USER_ID + index, "B", language_code="zh-hans")
        bot = start_host(workdir, f"sqlite+aiosqlite:///{database}", emu.base_url, record)
        bot.start()
        try:
            if not await wait_for(lambda: "getUpdates" in emu.first_call, 60):
                raise RuntimeError(f"the bot did not start:\n{bot.log_tail()}")
            await run_people(emu, [Person(i, (("say", "/status"),)) for i in ids])  # warm up
            people = [Person(i, (("say", "/status"),) * args.statuses) for i in ids]
            measured_from = clock.monotonic()
            heavy_person = Person(HEAVY, ())
            if heavy and args.heavy_pause > 0:
                pacing = asyncio.create_task(paced(emu, heavy_person, args.heavy_pause))
                wall = await run_people(emu, people, timeout=600)
                pacing.cancel()
            else:  # back to back, as fast as the bot answers: a stress figure
                heavy_person.script = HEAVY_SCRIPT * (args.statuses // 3 + 1)
                wall = await run_people(emu, [*people, heavy_person] if heavy else people, 600)
            crowd = [*people, heavy_person] if heavy else people
            await asyncio.sleep(2)  # a last sweep or two
        finally:
            bot.stop()
        heavy_sends = [
            t for t in emu.timeline if str(t.chat_id) == str(HEAVY) and t.method == "sendMessage"
        ]
    data = json.loads(record.read_text())
    measured = [(late, cpu) for at, late, cpu in data["lateness"] if at >= measured_from]
    lateness = [late for late, _ in measured]
    longest = max(measured, default=(0.0, 0.0))
    collections = [c for c in data["collections"] if c[0] >= measured_from]
    steps = [s for p in people for _, s in p.latencies]
    return {
        "name": name,
        "steps": steps,
        "p50": percentile(steps, 50),
        "p99": percentile(steps, 99),
        "max": max(steps),
        "top": sorted(steps)[-5:],
        "wall": wall,
        "errors": [p.error for p in crowd if p.error],
        "block": max(lateness, default=0.0),
        "block_p99": percentile(lateness, 99),
        "block_cpu": longest[1],  # the main thread's CPU time during the longest block
        "cpu_block": max((cpu for _, cpu in measured), default=0.0),
        "gc_longest": max((c[1] for c in collections), default=0.0),
        "gc_full": sum(1 for c in collections if c[2] == 2),
        "heavy_steps": len(heavy_person.latencies) if heavy else 0,
        "heavy_sends": [t.status for t in heavy_sends],
    }


async def main_async(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    if args.workdir:  # kept, with the bot's log
        await measure(Path(args.workdir), args)
        return
    with tempfile.TemporaryDirectory(prefix="repaybot-heavy-") as tmp:
        await measure(Path(tmp), args)


async def measure(workdir: Path, args: argparse.Namespace) -> None:
    if not args.no_sweep:
        report_sweep_cost(await sweep_cost(workdir, args.rounds), args)
    if args.no_chat:
        return
    runs = [await chat_run(workdir, args, heavy) for heavy in (False, True)]
    print(
        f"\n/status of {args.people} other people × {args.statuses}, end to end (sweep every 1 s)"
    )
    for r in runs:
        print(
            f"  {r['name']:<8} the heavy user: p50 {ms(r['p50'])}, p99 {ms(r['p99'])}, "
            f"max {ms(r['max'])}; longest event-loop block {ms(r['block'])} "
            f"(p99 {ms(r['block_p99'])}; the main thread ran {ms(r['block_cpu'])} of it; "
            f"longest run of the main thread between two ticks {ms(r['cpu_block'])}; "
            f"longest garbage collection {ms(r['gc_longest'])}, {r['gc_full']} full); "
            f"wall {r['wall']:.1f} s"
            + (f"; errors {r['errors'][:2]}" if r["errors"] else "")
            + f"; slowest {[round(t * 1000) for t in r['top']]} ms"
        )
    heavy = runs[1]
    print(
        f"  heavy user meanwhile: {heavy['heavy_steps']} steps answered; "
        f"{len(heavy['heavy_sends'])} messages sent to them, statuses "
        f"{sorted(set(heavy['heavy_sends']))}"
    )
    ratio = runs[1]["p99"] / runs[0]["p99"]
    verdict = "meets" if ratio <= RATIO_TARGET else "MISSES"
    print(f"/status p99 with / without: {ratio:.2f}× {verdict} the 1.2× target")
    block = max(r["block"] for r in runs)
    verdict = "meets" if block <= BLOCK_TARGET else "MISSES"
    print(f"longest event-loop block: {ms(block)} {verdict} the 100 ms target")


def report_sweep_cost(cost: dict[str, Any], args: argparse.Namespace) -> None:
    looks, again = cost["looks"], cost["again"]
    print(
        f"\nheavy user: {MAX_OPEN_PLANS} plans × {MAX_PLAN_PERIODS} periods, all overdue "
        f"since the earliest first due date, {MAX_PAYMENT_METHODS} methods, "
        f"reminders at {OFFSETS} days before and daily overdue"
    )
    looks_cpu, again_cpu = cost["looks_cpu"], cost["again_cpu"]
    print(
        f"one sweep of that user at 09:00 ({args.rounds} days, {cost['claimed'][0]} "
        f"reminders claimed each): p50 {ms(percentile(looks, 50))}, max {ms(max(looks))}; "
        f"CPU p50 {ms(percentile(looks_cpu, 50))}, max {ms(max(looks_cpu))}"
    )
    print(
        f"the look after a /remind toggle (nothing new): p50 {ms(percentile(again, 50))}, "
        f"max {ms(max(again))}; CPU p50 {ms(percentile(again_cpu, 50))}, "
        f"max {ms(max(again_cpu))}"
    )
    print(
        f"the process's first sweep (the day before; statements compiled, caches filled): "
        f"{ms(cost['first'])}"
    )
    seconds, installments = cost["old"]
    print(
        f"the reminder policy as first written, same {installments} installments: "
        f"{seconds:.2f} s of CPU for one look"
    )
    worst = max(*looks, *again)
    verdict = "meets" if worst <= SWEEP_TARGET else "MISSES"
    print(f"sweep cost: max {ms(worst)} {verdict} the 50 ms target")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == HOST_FLAG:
        profile = os.environ.get("HEAVY_PROFILE")  # diagnosis: cProfile of the bot's process
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:
            profiler.enable()
        result = asyncio.run(host(sys.argv[2:]))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(f"{profile}.{result['record'].rsplit('/', 1)[-1]}.prof")
        Path(result.pop("record")).write_text(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 rounds, 20 /status each")
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--statuses", type=int, default=50)
    parser.add_argument("--background", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--no-chat", action="store_true", help="the sweep cost only")
    parser.add_argument(
        "--heavy-pause",
        type=float,
        default=1.0,
        help="seconds from each answer to the heavy user's next step (0: back to back)",
    )
    parser.add_argument("--no-sweep", action="store_true", help="the /status runs only")
    parser.add_argument("--workdir", help="where the databases and the bot's log go")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.statuses = 3, 20
    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
