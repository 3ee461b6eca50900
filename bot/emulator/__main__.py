"""``python -m bot.emulator [--host 127.0.0.1] [--port 8081]``: run the emulator standalone.

Prints the ``base_url`` to give a bot (e.g. as ``TELEGRAM_BASE_URL``) and serves until
interrupted; drive the user side through the ``/_emulator/`` JSON API. For bots on a webhook,
``POST /_emulator/proxy`` with ``{"https://public.prefix": ["http://127.0.0.1:PORT", ...]}``
plays their reverse proxy; ``GET /_emulator/deliveries`` lists the webhook requests made.
"""

from __future__ import annotations

import argparse
import asyncio

from bot.emulator.server import BotApiEmulator


async def serve(host: str, port: int) -> None:
    """Run an emulator until cancelled."""
    emulator = BotApiEmulator()
    await emulator.start(host, port)
    try:
        print(f"base_url: {emulator.base_url}", flush=True)
        print(f"base_file_url: {emulator.base_file_url}", flush=True)
        print(f"control: {emulator.url}/_emulator/", flush=True)
        await asyncio.Event().wait()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.emulator", description=__doc__)
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address (default %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8081, help="port (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port))
    except ValueError as exc:  # a non-loopback host
        parser.error(str(exc))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
