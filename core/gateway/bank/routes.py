"""The bank's HTTP JSON API: accounts, top-ups, debits, queries and the fault controls.

Every answer is JSON; a refusal is ``{"error": "<reason>"}`` with 400 (malformed),
404 (unknown account or debit), 409 (conflicts with the bank's state), 413 (body too
large) or 503 (an injected outage). ``docs/provider-api.md`` is the reference.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from core.gateway.bank.faults import Faults, LostAnswer, parse_faults
from core.gateway.bank.notifier import Notifier
from core.gateway.bank.store import BankStore, DebitRequest, Refused
from core.gateway.bank.wire import (
    BadRequest,
    fields,
    parse_callback_url,
    parse_identifier,
    parse_kind,
    parse_label,
    parse_money,
)

MAX_BODY = 16 * 1024
REPLAYED_HEADER = "Idempotent-Replayed"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class BankContext:
    """What the handlers work with; ``faults`` is replaced by the control endpoint."""

    store: BankStore
    notifier: Notifier
    faults: Faults
    callback_url: str | None  # where notifications go when a debit names no URL
    wake: Callable[[], None]  # tells the background worker there is work


CONTEXT = web.AppKey("bank", BankContext)


def _answer(data: dict[str, Any], status: int = 200, *, replayed: bool = False) -> web.Response:
    headers = {REPLAYED_HEADER: "true"} if replayed else None
    return web.json_response(data, status=status, headers=headers)


def _error(status: int, reason: str) -> web.Response:
    return _answer({"error": reason}, status)


async def _body(request: web.Request) -> object:
    raw = await request.read()
    try:
        return json.loads(raw)
    except ValueError:
        raise BadRequest("the body is not JSON") from None


@web.middleware
async def refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refusals as JSON; the injected latency before anything but the controls."""
    bank = request.app[CONTEXT]
    try:
        if bank.faults.latency and not request.path.startswith("/control/"):
            # The request is read first, as a slow provider has it: it goes on even
            # when its caller gives up waiting (aiohttp drops an unread body then).
            await request.read()
            await asyncio.sleep(bank.faults.latency)
        return await handler(request)
    except BadRequest as exc:
        return _error(400, exc.reason)
    except Refused as exc:
        return _error(exc.status, exc.reason)
    except web.HTTPRequestEntityTooLarge:
        return _error(413, f"body_too_large: at most {MAX_BODY} bytes")
    except web.HTTPNotFound:
        return _error(404, "no_such_endpoint")
    except web.HTTPMethodNotAllowed:
        return _error(405, "method_not_allowed")


def _now() -> datetime:
    return datetime.now(UTC)


async def health(request: web.Request) -> web.Response:
    return _answer({"ok": True})


async def open_account(request: web.Request) -> web.Response:
    body = fields(await _body(request), required=("account", "kind", "label", "balance"))
    account, created = await request.app[CONTEXT].store.open_account(
        parse_identifier(body["account"], "account"),
        parse_kind(body["kind"]),
        parse_label(body["label"]),
        parse_money(body["balance"], "balance", allow_zero=True),
        _now(),
    )
    return _answer(account.to_json(), 201 if created else 200)


async def get_account(request: web.Request) -> web.Response:
    account = parse_identifier(request.match_info["account"], "account")
    return _answer((await request.app[CONTEXT].store.account(account)).to_json())


async def top_up(request: web.Request) -> web.Response:
    account = parse_identifier(request.match_info["account"], "account")
    body = fields(await _body(request), required=("amount",), optional=("reference",))
    reference = body.get("reference")
    state, replayed = await request.app[CONTEXT].store.top_up(
        account,
        parse_money(body["amount"], "amount"),
        None if reference is None else parse_identifier(reference, "reference"),
        _now(),
    )
    return _answer(state.to_json(), replayed=replayed)


async def close_account(request: web.Request) -> web.Response:
    account = parse_identifier(request.match_info["account"], "account")
    return _answer((await request.app[CONTEXT].store.close_account(account, _now())).to_json())


async def submit_debit(request: web.Request) -> web.StreamResponse:
    bank = request.app[CONTEXT]
    body = fields(
        await _body(request),
        required=("reference", "account", "amount"),
        optional=("callback_url",),
    )
    callback = body.get("callback_url")
    debit = DebitRequest(
        parse_identifier(body["reference"], "reference"),
        parse_identifier(body["account"], "account"),
        parse_money(body["amount"], "amount"),
        bank.callback_url if callback is None else parse_callback_url(callback),
    )
    if bank.faults.take_outage():
        return _error(503, "provider_unavailable")
    submitted = await bank.store.submit_debit(debit, _now(), bank.faults)
    if submitted.replayed:
        return _answer(submitted.debit.to_json(), replayed=True)
    bank.wake()
    if submitted.notification is not None and bank.faults.take_notify_early():
        await bank.notifier.deliver_now(submitted.notification)
    lost = bank.faults.take_answer_lost()
    if lost is not None:
        return await _lose_answer(request, lost, bank.faults.hang_seconds)
    return _answer(submitted.debit.to_json())


async def _lose_answer(request: web.Request, how: LostAnswer, hang: float) -> web.Response:
    """The debit is committed; its caller never hears so (dropped, or after a hang)."""
    if how is LostAnswer.HANG:
        await asyncio.sleep(hang)
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=200)  # written to a closed connection: nobody reads it


async def get_debit(request: web.Request) -> web.Response:
    reference = parse_identifier(request.match_info["reference"], "reference")
    return _answer((await request.app[CONTEXT].store.debit(reference)).to_json())


async def get_faults(request: web.Request) -> web.Response:
    return _answer(request.app[CONTEXT].faults.to_json())


async def set_faults(request: web.Request) -> web.Response:
    bank = request.app[CONTEXT]
    bank.faults = parse_faults(await _body(request))
    return _answer(bank.faults.to_json())


async def clear_faults(request: web.Request) -> web.Response:
    bank = request.app[CONTEXT]
    bank.faults = Faults()
    return _answer(bank.faults.to_json())


def bank_app(context: BankContext) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[refusals])
    app[CONTEXT] = context
    app.router.add_get("/health", health)
    app.router.add_post("/accounts", open_account)
    app.router.add_get("/accounts/{account}", get_account)
    app.router.add_post("/accounts/{account}/top-ups", top_up)
    app.router.add_post("/accounts/{account}/close", close_account)
    app.router.add_post("/debits", submit_debit)
    app.router.add_get("/debits/{reference}", get_debit)
    app.router.add_get("/control/faults", get_faults)
    app.router.add_post("/control/faults", set_faults)
    app.router.add_delete("/control/faults", clear_faults)
    return app
