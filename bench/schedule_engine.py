"""Benchmark: how many schedules the engine builds per second, per method.

Run: make bench  (or .venv/bin/python bench/schedule_engine.py [--seconds 2])
Prints one line per method: schedules per second, without and with the APR (IRR).
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date
from decimal import Decimal

from core.domain.apr import annualized_rate
from core.domain.schedule import build_schedule
from core.domain.terms import Method, PlanTerms

CASES = {
    Method.FEE_PER_PERIOD: Decimal("0.006"),
    Method.ANNUITY: Decimal("0.18"),
    Method.EQUAL_PRINCIPAL: Decimal("0.18"),
    Method.INTEREST_FREE: Decimal("0"),
}


def rate_per_second(terms: PlanTerms, with_apr: bool, seconds: float) -> float:
    count, started = 0, time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        schedule = build_schedule(terms)
        if with_apr:
            annualized_rate(terms.principal, schedule)
        count += 1
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, 12-period plans of 6000")
    print(f"{'method':<16} {'schedules/s':>12} {'with APR/s':>12}")
    for method, rate in CASES.items():
        terms = PlanTerms(Decimal("6000.00"), 12, method, rate, date(2026, 12, 15))
        plain = rate_per_second(terms, False, args.seconds)
        full = rate_per_second(terms, True, args.seconds)
        print(f"{method.value:<16} {plain:>12,.0f} {full:>12,.0f}")


if __name__ == "__main__":
    main()
