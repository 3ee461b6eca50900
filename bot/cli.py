"""The ``repaybot`` console script."""

from __future__ import annotations

from bot import sandbox, simulate
from bot.run import add_commands
from core.cli import build_parser, dispatch
from core.gateway.bank import command as bank


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the process arguments), run the command, return its exit code."""
    parser = build_parser()
    add_commands(parser.commands)
    sandbox.add_command(parser.commands)
    simulate.add_command(parser.commands)
    bank.add_command(parser.commands)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed on stderr
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    try:
        return dispatch(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
