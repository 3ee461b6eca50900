"""The test PostgreSQL helper (tests/pg.py) really starts a server and manages databases."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import asyncpg
import pytest
from sqlalchemy.engine import make_url

try:
    from tests.pg import ENV_URL, PostgresServer, get_server
except ModuleNotFoundError:  # bare `pytest` (not `python -m pytest`): only tests/ is on sys.path
    from pg import ENV_URL, PostgresServer, get_server  # type: ignore[import-not-found, no-redef]

EXTERNAL = bool(os.environ.get(ENV_URL))


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _exists_sync(server: PostgresServer, name: str) -> bool:
    async def probe() -> bool:
        conn = await asyncpg.connect(server.admin_url)
        try:
            found = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        finally:
            await conn.close()
        return bool(found == 1)

    return asyncio.run(probe())


def test_server_starts_on_loopback() -> None:
    server = get_server()
    assert server is get_server()
    if not EXTERNAL:
        port = server.port
        assert server.host == "127.0.0.1"
        assert server.admin_url == f"postgresql://postgres@127.0.0.1:{port}/postgres"
        assert server.url_for("x") == f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x"
    url = make_url(server.url_for("x", driver="postgresql+psycopg"))
    assert (url.drivername, url.database, url.port) == ("postgresql+psycopg", "x", server.port)


async def test_create_connect_select_drop() -> None:
    server = get_server()
    name = _name("t_basic")
    await server.acreate_database(name)
    try:
        conn = await asyncpg.connect(server.url_for(name, driver="postgresql"))
        try:
            assert await conn.fetchval("select 1") == 1
            assert await conn.fetchval("select current_database()") == name
        finally:
            await conn.close()
    finally:
        await server.adrop_database(name)
    admin = await asyncpg.connect(server.admin_url)
    try:
        assert await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname=$1", name) == 0
    finally:
        await admin.close()


async def test_template_copy_async() -> None:
    server = get_server()
    template, copy = _name("t_tpl"), _name("t_copy")
    await server.acreate_database(template)
    try:
        conn = await asyncpg.connect(server.url_for(template, driver="postgresql"))
        try:
            await conn.execute("CREATE TABLE plans (id int PRIMARY KEY, title text)")
            await conn.execute("INSERT INTO plans VALUES (1, '还款')")
        finally:
            await conn.close()
        await server.acreate_database(copy, template=template)
        conn = await asyncpg.connect(server.url_for(copy, driver="postgresql"))
        try:
            assert await conn.fetchval("SELECT title FROM plans WHERE id = 1") == "还款"
        finally:
            await conn.close()
    finally:
        await server.adrop_database(copy)
        await server.adrop_database(template)


def test_sync_create_template_and_drop() -> None:
    server = get_server()
    template, copy = _name("t_stpl"), _name("t_scopy")
    server.create_database(template)
    try:
        server.create_database(copy, template=template)
        assert _exists_sync(server, template)
        assert _exists_sync(server, copy)
    finally:
        server.drop_database(copy)
        server.drop_database(template)
    assert not _exists_sync(server, copy)
    assert not _exists_sync(server, template)
    server.drop_database(copy)  # dropping a missing database is not an error


async def test_sync_api_inside_running_loop() -> None:
    # The sync API shells out to psql, so fixtures may call it while a loop is running.
    server = get_server()
    name = _name("t_inloop")
    server.create_database(name)
    conn = await asyncpg.connect(server.url_for(name, driver="postgresql"))
    try:
        assert await conn.fetchval("select 1") == 1
    finally:
        await conn.close()
    server.drop_database(name)  # WITH (FORCE): fine even with connections left open


def test_drop_terminates_open_connections() -> None:
    server = get_server()
    name = _name("t_force")
    server.create_database(name)

    async def scenario() -> None:
        conn = await asyncpg.connect(server.url_for(name, driver="postgresql"))
        try:
            await server.adrop_database(name)
            with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
                await conn.fetchval("select 1")
        finally:
            conn.terminate()

    asyncio.run(scenario())
    assert not _exists_sync(server, name)


def test_bad_database_name_rejected() -> None:
    with pytest.raises(ValueError, match="invalid database name"):
        get_server().create_database("")


@pytest.mark.skipif(EXTERNAL, reason=f"{ENV_URL} is set: tests use that server")
def test_own_server_context_manager_stops_and_cleans_up() -> None:
    with PostgresServer() as server:
        tmpdir = server._tmpdir
        assert tmpdir is not None
        assert tmpdir.exists()
        server.create_database("scratch")
        assert _exists_sync(server, "scratch")
    assert not tmpdir.exists()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.admin_url


def test_missing_binaries_is_an_error_not_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    pg = sys.modules[PostgresServer.__module__]
    monkeypatch.setattr(pg.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pg.shutil, "which", lambda *args, **kwargs: None)
    with pytest.raises(RuntimeError, match=r"binaries not found: apt-get install postgresql"):
        pg.find_bindir()
    with pytest.raises(RuntimeError, match="binaries not found"):
        PostgresServer().start()
