"""The container files agree with the code: the commands they run exist, the settings
they pass are real settings, the compose file wires the bot to its PostgreSQL.

(No Docker engine runs in CI, so these check the files rather than build the image.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from bot.cli import main
from core.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def _dockerfile() -> list[str]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def _exec_form(instruction: str) -> list[str]:
    found = re.search(r"\[.*\]", instruction)
    assert found, instruction
    parsed: list[str] = json.loads(found.group(0))
    return parsed


def _runs(argv: list[str]) -> bool:
    """True when ``repaybot ARGS --help`` parses: the subcommand exists."""
    assert argv[0] == "repaybot"
    return main([*argv[1:], "--help"]) == 0 and main([*argv[1:], "--no-such-option"]) == 2


def test_dockerfile_is_multi_stage_non_root_with_a_real_healthcheck() -> None:
    lines = _dockerfile()
    assert sum(line.startswith("FROM ") for line in lines) >= 2
    user = [line for line in lines if line.startswith("USER ")]
    assert user
    assert user[-1].split()[1] not in ("root", "0")
    [health] = [line for line in lines if line.startswith("HEALTHCHECK ")]
    assert _runs(_exec_form(health))
    [cmd] = [line for line in lines if line.startswith("CMD ")]
    assert _runs(_exec_form(cmd))
    exposed = {int(p) for line in lines if line.startswith("EXPOSE ") for p in line.split()[1:]}
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert {defaults.http_port, defaults.webhook_port} <= exposed


def test_compose_runs_the_bot_against_its_postgres_once_healthy() -> None:
    compose: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    db, bot = compose["services"]["db"], compose["services"]["bot"]
    assert bot["build"] == "."
    assert _runs(bot["command"])
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    env = bot["environment"]
    known = {name.upper() for name in Settings.model_fields}
    assert set(env) <= known
    url = make_url(env["DATABASE_URL"].replace("${POSTGRES_PASSWORD:-repaybot}", "pw"))
    assert url.drivername == "postgresql+asyncpg"
    assert url.host == "db"
    assert url.username == db["environment"]["POSTGRES_USER"]
    assert url.database == db["environment"]["POSTGRES_DB"]
    assert "${POSTGRES_PASSWORD:-repaybot}" in db["environment"]["POSTGRES_PASSWORD"]
    assert any(str(env["HTTP_PORT"]) in port for port in bot["ports"])
    # Inside the container every address; on the host, loopback only.
    assert env["HTTP_HOST"] == "0.0.0.0"
    assert all(port.startswith("127.0.0.1:") for port in bot["ports"])
    assert "pgdata" in compose["volumes"]


def _env_of(lines: list[str]) -> dict[str, str]:
    """NAME=value pairs of the Dockerfile's ENV lines (of the last stage, the runtime)."""
    runtime = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    pairs = [p for line in runtime if line.startswith("ENV ") for p in line.split()[1:]]
    return dict(pair.split("=", 1) for pair in pairs)


def test_servers_listen_on_loopback_unless_the_container_says_otherwise() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert defaults.http_host == "127.0.0.1"  # /healthz and /metrics are not public
    assert defaults.webhook_host == "127.0.0.1"  # the reverse proxy is on the same host
    env = _env_of(_dockerfile())
    # A published port reaches the container's own address, never its loopback.
    assert env["HTTP_HOST"] == "0.0.0.0"
    assert env["WEBHOOK_HOST"] == "0.0.0.0"
