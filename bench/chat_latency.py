"""Benchmark: chat latency with 200 people using the bot at once.

Run: .venv/bin/python bench/chat_latency.py [--quick] [--people 200] [--background 100000]

Each person sends /status, then /repay, taps the current bill and confirms (4 updates; one
card, so no method choice), all 200 at once, through the Bot API emulator over loopback
HTTP. The same load then goes to a bare python-telegram-bot echo bot (replies to a text
with a one-button message, answers a press and edits the message: the same 2 texts and 2
presses per person), the framework's own floor, and to that echo bot with RepayBot's
rate limiter (bot/ratelimit.py). Each bot runs in its own process, long polling; the
emulator and the people run in this one. Handler latency is timed in the bot's process around
``Application.process_update`` (PTB handles one update at a time by default, so it
excludes the wait in the queue); the end-to-end step time (update queued → the bot's
answer seen by the person) includes it. The database is SQLite with ``--background``
other users (100,000 × 10 plans, as sweep_cost.py) besides the people, and RepayBot runs
once with the sweep off and once with the production sweep (every 30 s) claiming and
sending the background users' reminders as they fall due. ``repaybot-nolimit`` is a
diagnostic run: RepayBot with its rate limiter taken out in the bot's process.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._chat import ECHO_SCRIPT, RECEIPT_MARK, REPAY_SCRIPT, Person, last_text, run_people
from bench._dataset import FIRST_USER_ID, UserSpec, populate, spread_users
from bench._harness import (
    TimedEmulator,
    host_bot,
    machine,
    percentile,
    read_json,
    wait_for,
)
from core.db.uow import Database
from core.domain.reminders import local_instant

DAY = date(2026, 12, 1)
START = local_instant(DAY, time(10, 0), "Asia/Shanghai")  # the bots' clock starts here
WARM_UP = 5  # people who go through the script first, not counted
P99_TARGET = 0.100


async def build_database(path: Path, background: int, people: int) -> None:
    url = f"sqlite+aiosqlite:///{path}"
    db = Database.from_url(url)
    await db.migrate()
    others = spread_users(background, DAY, START)
    # The people owe a six-period plan whose first installment is due today (the bill).
    remind = local_instant(DAY + timedelta(days=1), time(9, 0), "Asia/Shanghai")
    person = UserSpec(time(9, 0), (DAY,), remind, periods=6)

    def spec(index: int) -> UserSpec:
        return others(index) if index < background else person

    counts = await populate(db, spec, background + people, now=START - timedelta(days=30))
    await db.dispose()
    print(
        f"database: {counts.users:,} users, {counts.plans:,} plans, "
        f"{counts.installments:,} installments, written in {counts.seconds:.1f} s"
    )
    if path.with_name(path.name + "-wal").exists():
        raise RuntimeError("the database was not checkpointed; copies would miss rows")


async def run_bot(
    workdir: Path, pristine: Path, mode: str, ids: list[int], sweep: float, background: int,
    profile: bool,
) -> dict[str, Any]:  # fmt: skip
    """One bot under the load: handler times (its process) and step times (the people's)."""
    name = f"{mode}-{sweep:g}"
    record = workdir / f"{name}.json"
    database = workdir / f"{name}.db"  # each run starts from the same data (bills unpaid)
    shutil.copyfile(pristine, database)
    url = f"sqlite+aiosqlite:///{database}"
    script = REPAY_SCRIPT if mode.startswith("repaybot") else ECHO_SCRIPT
    async with TimedEmulator() as emu:
        for user_id in ids:
            emu.user(user_id, f"P{user_id}", language_code="zh-hans")
        if sweep:  # the background users get their reminders
            for index in range(background):
                emu.user(FIRST_USER_ID + index, "B", language_code="zh-hans")
        bot = host_bot(
            workdir, url, emu.base_url, mode=mode, clock_start=START.isoformat(),
            sweep_seconds=sweep, record=record,
            profile=workdir / f"{name}.prof" if profile else None,
        )  # fmt: skip
        bot.start()
        try:
            if not await wait_for(lambda: "getUpdates" in emu.first_call, 60):
                raise RuntimeError(f"{mode} did not start:\n{bot.log_tail()}")
            warm = [Person(i, script) for i in ids[:WARM_UP]]
            for one in warm:
                await run_people(emu, [one])
            people = [Person(i, script) for i in ids[WARM_UP:]]
            wall = await run_people(emu, people)
        finally:
            bot.stop()
        reminders = len([t for t in emu.sends() if int(t.chat_id) not in set(ids)])
    handled = sorted(read_json(record)["handled"])[len(warm) * len(script) :]
    times = [h[1] for h in handled]
    span = max(h[0] + h[1] for h in handled) - min(h[0] for h in handled)
    steps = [s for p in people for _, s in p.latencies]
    failed = [p for p in people if p.error]
    paid = sum(RECEIPT_MARK in last_text(emu, p.user_id) for p in people)
    return {
        "mode": mode + (f" (sweep every {sweep:g} s)" if sweep else ""),
        "updates": len(times),
        "p50": percentile(times, 50),
        "p90": percentile(times, 90),
        "p99": percentile(times, 99),
        "max": max(times),
        "per_second": len(times) / span,
        "wall": wall,
        "step_p50": percentile(steps, 50),
        "step_p99": percentile(steps, 99),
        "failed": [p.error for p in failed][:3],
        "failures": len(failed),
        "paid": paid,
        "people": len(people),
        "reminders": reminders,
    }


def show(result: dict[str, Any]) -> None:
    r = result
    print(
        f"{r['mode']:<34} {r['updates']:>7} {r['p50'] * 1000:>8.1f} {r['p90'] * 1000:>8.1f} "
        f"{r['p99'] * 1000:>8.1f} {r['max'] * 1000:>8.1f} {r['per_second']:>9.1f} "
        f"{r['step_p50'] * 1000:>9.0f} {r['step_p99'] * 1000:>9.0f} {r['wall']:>7.1f}"
    )
    extra = f"  people {r['people']}, failed {r['failures']}"
    if r["mode"].startswith("repaybot"):
        extra += f", receipts {r['paid']}, reminders sent meanwhile {r['reminders']}"
    print(extra + "".join(f"\n  failure: {f}" for f in r["failed"]))


def keep_profiles(workdir: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for prof in workdir.glob("*.prof"):
        shutil.copy(prof, target / prof.name)
    print(f"cProfile statistics of each bot process in {target}/")


async def main_async(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="repaybot-bench-") as tmp:
        workdir = Path(tmp)
        total = args.people + WARM_UP
        pristine = workdir / "chat.db"
        await build_database(pristine, args.background, total)
        ids = [FIRST_USER_ID + args.background + i for i in range(total)]
        runs = [("echo", 0.0), ("echo-limited", 0.0), ("repaybot", 0.0)]
        if args.diagnostic:
            runs.append(("repaybot-nolimit", 0.0))
        if args.sweep_seconds:
            runs.append(("repaybot", args.sweep_seconds))
        print(
            f"\n{args.people} people at once, 4 updates each; times in ms; "
            "handler = around process_update in the bot's process, step = end to end"
        )
        print(
            f"{'bot':<34} {'updates':>7} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8} "
            f"{'updates/s':>9} {'step p50':>9} {'step p99':>9} {'wall s':>7}"
        )
        results = {}
        for mode, sweep in runs:
            result = await run_bot(
                workdir, pristine, mode, ids, sweep, args.background, args.profile is not None
            )
            results[(mode, sweep)] = result
            show(result)
        ours, floor = results[("repaybot", 0.0)], results[("echo", 0.0)]
        print(
            f"\nRepayBot / echo floor (sweep off): updates/s "
            f"{ours['per_second'] / floor['per_second']:.2f}×, "
            f"handler p50 {ours['p50'] / floor['p50']:.1f}×, p99 {ours['p99'] / floor['p99']:.1f}×"
        )
        if args.profile is not None:
            keep_profiles(workdir, args.profile)
        for (mode, _), result in results.items():
            if mode == "repaybot":
                verdict = "meets" if result["p99"] <= P99_TARGET else "MISSES"
                print(f"{result['mode']}: handler p99 {verdict} the 100 ms target")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="30 people, 1,000 other users")
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--background", type=int, default=100_000, help="other users in the db")
    parser.add_argument("--sweep-seconds", type=float, default=30, help="production sweep tick")
    parser.add_argument("--profile", type=Path, help="keep cProfile stats of each bot here")
    parser.add_argument(
        "--no-diagnostic", dest="diagnostic", action="store_false", help="skip repaybot-nolimit"
    )
    args = parser.parse_args()
    if args.quick:
        args.people, args.background, args.diagnostic = 30, 1_000, False
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
