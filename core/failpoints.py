"""Failpoints: named places where a crash test can kill the process dead, to prove that a
crash exactly there loses no payment and sends nothing twice.

Inactive unless the environment variable ``REPAYBOT_FAILPOINTS`` lists the point's name
(comma-separated). An active point prints its name on stderr and sends the process
SIGKILL — the same as ``kill -9`` from outside, with no cleanup, no ``finally``, no
flush of anything not already committed.
"""

from __future__ import annotations

import os
import signal
import sys

ENV = "REPAYBOT_FAILPOINTS"

SEND_BEFORE = "send.before"  # a message is claimed (committed), not yet sent
SEND_AFTER = "send.after"  # Telegram accepted the message; the outcome is not recorded
PAYMENT_BEFORE_SUBMIT = "payment.before_submit"  # intent committed, provider not yet called
PAYMENT_AFTER_SUBMIT = "payment.after_submit"  # the provider answered; not yet recorded
PAYMENT_AFTER_COMMIT = "payment.after_commit"  # a confirm's payment settled, not yet shown


def failpoint(name: str) -> None:
    """Kill this process here if ``name`` is active."""
    active = os.environ.get(ENV, "")
    if active and name in active.split(","):
        print(f"failpoint {name}: killing the process", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
