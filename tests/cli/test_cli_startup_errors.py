"""``repaybot run`` and ``repaybot webhook`` that cannot start say why in one line, with
the documented exit code, and never print a secret: a bot token Telegram refuses (PTB
puts it in ``InvalidToken``'s text), a database URL and its password."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import pytest

from bot.emulator import BotApiEmulator
from bot.redaction import RedactingFilter, Redactor
from bot.run import DATABASE_EXIT, SETTINGS_EXIT
from core.settings import Settings

REPO = Path(__file__).resolve().parents[2]
# The emulator, like Telegram, refuses a token it does not know the form of.
REFUSED_TOKEN = "987654:REVOKED.t0ken-Zq9"
WEBHOOK = {"WEBHOOK_URL": "https://bot.example.test/tg", "WEBHOOK_SECRET": "s3cret-hook"}


async def _repaybot(command: str, workdir: Path, **settings: str) -> tuple[int, str]:
    ours = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in ours}
    env |= {"PYTHONPATH": str(REPO), "HTTP_PORT": "0", "SWEEP_SECONDS": "0", **settings}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        command,
        cwd=workdir,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace")


@pytest.mark.parametrize("command", ["run", "webhook"])
async def test_a_refused_token_is_never_printed(command: str, tmp_path: Path) -> None:
    async with BotApiEmulator() as emulator:
        code, output = await _repaybot(
            command,
            tmp_path,
            BOT_TOKEN=REFUSED_TOKEN,
            TELEGRAM_BASE_URL=emulator.base_url,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
            **WEBHOOK,
        )
    assert code == SETTINGS_EXIT, output
    assert f"repaybot {command}: Telegram refused BOT_TOKEN" in output
    assert "@BotFather" in output
    assert "REVOKED" not in output  # neither the whole token nor its secret part
    assert WEBHOOK["WEBHOOK_SECRET"] not in output


@pytest.mark.parametrize(
    ("url", "code", "says"),
    [
        ("not a url", SETTINGS_EXIT, "DATABASE_URL cannot be used: database URL: Could not parse"),
        ("oracle+nodriver://u:pw@h/db", SETTINGS_EXIT, "DATABASE_URL cannot be used: Can't load"),
        (
            "postgresql+asyncpg://repay:Pa55-word@127.0.0.1:1/repaybot",
            DATABASE_EXIT,
            "database postgresql+asyncpg://repay:***@127.0.0.1:1/repaybot cannot be reached: ",
        ),
    ],
)
@pytest.mark.parametrize("command", ["run", "webhook"])
async def test_a_bad_database_url_is_one_line(
    command: str, url: str, code: int, says: str, tmp_path: Path
) -> None:
    exit_code, output = await _repaybot(
        command, tmp_path, BOT_TOKEN="123:abc", DATABASE_URL=url, **WEBHOOK
    )
    assert exit_code == code, output
    assert output.startswith(f"repaybot {command}: {says}"), output
    assert output.count("\n") == 1, output  # one line, no traceback
    assert "Pa55-word" not in output


def test_the_log_filter_redacts_messages_and_tracebacks() -> None:
    redact = Redactor({REFUSED_TOKEN: "<BOT_TOKEN>", "Pa55-word": "<DATABASE_PASSWORD>"})
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(handler.format(record))  # type: ignore[method-assign]
    handler.addFilter(RedactingFilter(redact))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        logger.warning("GET https://api.telegram.org/bot%s/getMe", REFUSED_TOKEN)
        try:
            raise RuntimeError(f"The token `{REFUSED_TOKEN}` was rejected; pw Pa55-word")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert lines[0] == "GET https://api.telegram.org/bot<BOT_TOKEN>/getMe"
    assert "RuntimeError: The token `<BOT_TOKEN>` was rejected; pw <DATABASE_PASSWORD>" in lines[1]
    assert "REVOKED" not in "".join(lines)


@pytest.mark.parametrize("secret", ["", "short-secret"])
@pytest.mark.parametrize("command", ["run", "webhook"])
async def test_a_provider_without_its_secret_is_refused_before_anything_starts(
    command: str, secret: str, tmp_path: Path
) -> None:
    """GATEWAY_URL names a payment provider: its notifications cannot be verified without
    GATEWAY_SECRET (16+ characters) — one line, exit 2, the short secret not printed."""
    exit_code, output = await _repaybot(
        command,
        tmp_path,
        BOT_TOKEN="123:abc",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        GATEWAY_URL="http://127.0.0.1:8700",
        GATEWAY_SECRET=secret,
        **WEBHOOK,
    )
    assert exit_code == SETTINGS_EXIT, output
    assert output.startswith(f"repaybot {command}: GATEWAY_URL is set, so GATEWAY_SECRET"), output
    assert output.count("\n") == 1, output
    assert "short-secret" not in output or not secret
    assert not (tmp_path / "bot.db").exists()  # nothing started, nothing created
