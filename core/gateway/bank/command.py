"""``repaybot bank``: run the sandbox payment provider until interrupted.

The fault flags build the same JSON a ``POST /control/faults`` takes, so a fault is
described once whichever way it is turned on.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from core.gateway.bank.faults import Faults, parse_faults
from core.gateway.bank.ledger import FailureReason
from core.gateway.bank.server import BankConfig, BankServer
from core.gateway.bank.wire import BadRequest, parse_callback_url

DEFAULT_DB = Path("data/bank.db")
SECRET_ENV = "GATEWAY_SECRET"
BAD_INPUT = 2


def add_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub = commands.add_parser(
        "bank",
        help="run the simulated payment provider (its own process, database and HTTP API)",
        description="A sandbox payment provider on loopback: accounts per payment method, "
        "debits idempotent by the caller's reference, asynchronous settlement, signed "
        "notifications retried until answered, and faults on demand. The API is in "
        "docs/provider-api.md.",
    )
    sub.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    sub.add_argument("--port", type=int, default=8700, help="0: any free port (default 8700)")
    sub.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"SQLite file ({DEFAULT_DB})")
    sub.add_argument(
        "--secret",
        help=f"shared secret that signs notifications (default: ${SECRET_ENV}; 16+ characters)",
    )
    sub.add_argument("--callback-url", help="where notifications go when a debit names none")
    sub.add_argument("--retry-base", type=float, default=1.0, help="first retry wait, seconds")
    sub.add_argument("--retry-cap", type=float, default=600.0, help="longest retry wait, seconds")
    sub.add_argument("--notify-timeout", type=float, default=5.0, help="seconds per delivery")
    faults = sub.add_argument_group("faults (also at POST /control/faults)")
    faults.add_argument("--latency", type=float, default=0, help="seconds before each answer")
    faults.add_argument(
        "--decline", choices=[reason.value for reason in FailureReason], help="fail debits so"
    )
    faults.add_argument("--decline-times", type=int, help="only the next N debits")
    faults.add_argument("--decline-account", help="only debits of this account")
    faults.add_argument("--answer-lost", type=int, default=0, help="next N debits: answer lost")
    faults.add_argument("--answer-lost-mode", choices=["drop", "hang"], default="drop")
    faults.add_argument("--hang-seconds", type=float, default=30.0, help="how long a hang lasts")
    faults.add_argument(
        "--settlement-delay", type=float, default=0, help="answer processing, settle S s later"
    )
    faults.add_argument("--outage", type=int, default=0, help="next N debits answered 503")
    faults.add_argument("--notify-lost", type=int, default=0, help="next N never sent")
    faults.add_argument("--notify-duplicated", type=int, default=0, help="next N sent twice")
    faults.add_argument("--notify-delay", type=float, default=0, help="seconds before sending")
    faults.add_argument(
        "--notify-early", type=int, default=0, help="next N sent before the debit's answer"
    )
    sub.set_defaults(handler=run_command)


def faults_from_args(args: argparse.Namespace) -> Faults:
    """The fault flags as ``parse_faults`` reads a control request."""
    body: dict[str, Any] = {
        "latency": args.latency,
        "answer_lost": {
            "times": args.answer_lost,
            "mode": args.answer_lost_mode,
            "hang": args.hang_seconds,
        },
        "settlement_delay": args.settlement_delay,
        "outage": args.outage,
        "notify": {
            "lost": args.notify_lost,
            "duplicated": args.notify_duplicated,
            "delay": args.notify_delay,
            "early": args.notify_early,
        },
    }
    if args.decline is not None:
        decline = {"reason": args.decline, "times": args.decline_times}
        body["decline"] = {
            **{key: value for key, value in decline.items() if value is not None},
            **({"account": args.decline_account} if args.decline_account else {}),
        }
    return parse_faults(body)


def run_command(args: argparse.Namespace) -> int:
    secret = args.secret or os.environ.get(SECRET_ENV, "")
    callback = args.callback_url
    try:
        if not secret:
            raise ValueError(f"a shared secret is needed: --secret or ${SECRET_ENV}")
        config = BankConfig(
            database=args.db,
            secret=secret,
            host=args.host,
            port=args.port,
            callback_url=None if callback is None else parse_callback_url(callback),
            faults=faults_from_args(args),
            retry_base=args.retry_base,
            retry_cap=args.retry_cap,
            notify_timeout=args.notify_timeout,
        )
    except BadRequest as exc:
        print(f"repaybot bank: error: {exc.reason}", file=sys.stderr)
        return BAD_INPUT
    except ValueError as exc:
        print(f"repaybot bank: error: {exc}", file=sys.stderr)
        return BAD_INPUT
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        asyncio.run(serve(config))
    except OSError as exc:
        print(f"repaybot bank: error: {exc}", file=sys.stderr)
        return 1
    return 0


async def serve(config: BankConfig) -> None:
    """Run until SIGINT or SIGTERM; prints the URL once it listens."""
    server = BankServer(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await server.start()
    try:
        print(f"repaybot bank listening on {server.url} (database {config.database})", flush=True)
        await stop.wait()
    finally:
        await server.stop()
