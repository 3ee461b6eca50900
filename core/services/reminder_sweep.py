"""The sending half of a sweep: claim the messages due now — one batch per user of the
reminders due, and each receipt (of an auto-debit, or of a confirm whose reply did not
show it) — and record how each send ended.

Every message is a ``reminder_log`` row under a unique key, so it goes out at most once.
Scheduled reminders are claimed by inserting their row; pending rows (snoozed reminders,
sends released after a flood limit or a timeout, receipts written with their payment) are
claimed by flipping them to ``claimed``. A claim carries a lease: a claim whose sender died
between sending and recording is claimed again when its lease runs out — the one case
where a message can go out twice, and it is logged.

Several instances on one PostgreSQL split the users between them: each user row is taken
``FOR UPDATE SKIP LOCKED`` for the claim, so a user another sweep holds is skipped, not
waited for. SQLite has one writer (``BEGIN IMMEDIATE``) and needs no row lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import or_, select, update

from core.db.models import PaymentMethodRow, ReminderLogRow, User
from core.db.uow import UnitOfWork
from core.domain.reminders import (
    CATCH_UP_WINDOW,
    Reminder,
    ReminderKind,
    ReminderPolicy,
    choose,
    window_reminders,
)
from core.services.autopay_sweep import AutopayReceipt
from core.services.books import load_open_plans, slices
from core.services.payment_receipts import RECEIPT, PaymentReceipt
from core.services.reminder_items import ReminderItem, scheduled_item, waiting_item, with_method
from core.services.reminder_rows import (
    CLAIMED,
    PENDING,
    SUPERSEDED,
    insert_new,
    known_keys,
)
from core.services.reminders import parse_days
from core.services.wakeups import Looked, is_due, plan_next_sweeps

log = logging.getLogger(__name__)
DEFAULT_LEASE = timedelta(minutes=2)
DEFAULT_AUTOPAY_TIME = time(10, 0)  # the setting's default; sweeps pass AUTOPAY_TIME
RECEIPT_WINDOW = timedelta(hours=24)  # a receipt older than this is no longer news
CHUNK_USERS = 600  # users per claim_chunk unless the caller says (the bot's sweep: 150)
# Days past the largest reminder offset whose installments a look must read: a day for
# the zones ahead of UTC, a day for the next look (at most MAX_SLEEP away), one to spare.
LOOK_AHEAD_DAYS = 3


@dataclass(frozen=True, slots=True)
class ReminderBatch:
    """One message to one user: the reminders due at one moment, or one receipt."""

    user_id: int
    language: str
    timezone: str
    items: tuple[ReminderItem, ...]
    receipt: AutopayReceipt | PaymentReceipt | None = None
    receipt_log_id: int | None = None
    attempts: int = 1  # how many times this message has been claimed (the most of its rows)
    due_at: datetime | None = None  # when the oldest part of it fell due

    @property
    def log_ids(self) -> list[int]:
        ids = [item.log_id for item in self.items]
        return ids if self.receipt_log_id is None else [*ids, self.receipt_log_id]


def policy_of(user: User) -> ReminderPolicy:
    return ReminderPolicy(
        enabled=user.reminders_enabled,
        days_before=parse_days(user.remind_days),
        at=user.remind_time,
        timezone=user.timezone,
        overdue_daily=user.overdue_daily,
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    """One chunk's claim: the messages to send, and how many users were looked at (fewer
    than asked for means nobody else is due now)."""

    batches: list[ReminderBatch]
    looked: int


async def claim_due_reminders(
    uow: UnitOfWork,
    now: datetime,
    *,
    lease: timedelta = DEFAULT_LEASE,
    autopay_at: time = DEFAULT_AUTOPAY_TIME,
) -> list[ReminderBatch]:
    """Claim every message due at ``now`` for active users, chunk by chunk (each chunk
    committed); a sender that sends as it goes uses :func:`claim_chunk` instead."""
    batches: list[ReminderBatch] = []
    while True:
        claimed = await claim_chunk(uow, now, users=CHUNK_USERS, lease=lease, autopay_at=autopay_at)
        batches += claimed.batches
        if claimed.looked < CHUNK_USERS:
            return batches


async def claim_chunk(
    uow: UnitOfWork,
    now: datetime,
    *,
    users: int = CHUNK_USERS,
    lease: timedelta = DEFAULT_LEASE,
    autopay_at: time = DEFAULT_AUTOPAY_TIME,
) -> Claimed:
    """Look at up to ``users`` users due at ``now`` (earliest due first), claim their
    messages and plan their next looks; commits. About a dozen queries per chunk,
    whatever its size: every user's plans, cards, reminder rows and pending messages are
    read for the whole chunk at once, and the claims are written in multi-row statements.
    """
    taken = await _take_users(uow, now, users)
    waiting = await _waiting(uow, [u.telegram_id for u in taken if u.active], now)
    # Only installments that can fall due before the next look (a day at most) matter:
    # reminders start at most the user's largest "days before" ahead of a due date, and
    # any user's local date is at most a day past the UTC date. Those of waiting messages
    # (a snooze, a send given back) are read too, whenever they are due.
    ahead = max((max(parse_days(u.remind_days)) for u in taken), default=0)
    plans = await load_open_plans(
        uow.session,
        [u.telegram_id for u in taken],
        due_by=now.date() + timedelta(days=ahead + LOOK_AHEAD_DAYS),
        including=[row.installment_id for row in waiting],
    )
    # An inactive user gets no message, but their auto-debits still need looks.
    looked = [
        Looked.of(
            u,
            plans[u.telegram_id],
            policy_of(u) if u.active else ReminderPolicy(enabled=False),
            now,
        )
        for u in taken
    ]
    views = {one.user.telegram_id: one for one in looked if one.user.active}
    methods = await _methods(uow, list(views))
    scheduled = await _claim_scheduled(uow, list(views.values()), now, lease)
    # A waiting row reads as things stand now; one whose subject is in the message
    # already, or that is too old or about nothing owed any more, is settled unsent.
    settle: list[int] = []
    take: list[tuple[ReminderLogRow, ReminderItem | None]] = []
    covered = {
        user_id: {i for item in items for i in item.installments}
        for user_id, items in scheduled.items()
    }
    for row in waiting:
        view = views[row.user_id or 0]
        mine = covered.setdefault(view.user.telegram_id, set())
        window = RECEIPT_WINDOW if row.kind == RECEIPT else CATCH_UP_WINDOW
        item = None if row.kind == RECEIPT else waiting_item(view, row)
        gone = row.kind != RECEIPT and item is None
        told = item is not None and bool(item.installments & mine)
        if now - row.fire_at > window or gone or told:
            settle.append(row.id)
        else:
            take.append((row, item))
            mine |= item.installments if item is not None else set()
    taken_ids = await _take(uow, [row for row, _ in take], now, lease)
    await _settle(uow, settle, SUPERSEDED)
    claimed_rows: dict[int, list[tuple[ReminderLogRow, ReminderItem | None]]] = {}
    for row, item in take:
        if row.id in taken_ids and row.user_id is not None:
            claimed_rows.setdefault(row.user_id, []).append((row, item))
    batches: list[ReminderBatch] = []
    for user_id, view in views.items():
        rows = claimed_rows.get(user_id, [])
        batches += _batches(view, scheduled.get(user_id, []), rows, methods.get(user_id, []))
    await plan_next_sweeps(uow, looked, now, autopay_at)
    await uow.commit()
    return Claimed(batches, len(taken))


async def _take_users(uow: UnitOfWork, now: datetime, limit: int) -> list[User]:
    """Row-lock (PostgreSQL: skipping users another sweep holds) the users due now, and
    those with a claim whose lease ran out (its sender died before recording it)."""
    expired = list(
        await uow.session.scalars(
            select(ReminderLogRow.user_id)
            .where(ReminderLogRow.status == CLAIMED, ReminderLogRow.lease_until < now)
            .distinct()
        )
    )
    due = is_due(now) if not expired else or_(is_due(now), User.telegram_id.in_(expired))
    users = await uow.session.scalars(
        select(User)
        .where(due)
        .order_by(User.next_sweep_at, User.telegram_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return sorted(users, key=lambda u: u.telegram_id)


async def _claim_scheduled(
    uow: UnitOfWork, views: list[Looked], now: datetime, lease: timedelta
) -> dict[int, list[ReminderItem]]:
    """The reminders each user's policy says are due now, claimed by inserting their rows
    (and the missed ones the sent reminder stands for, inserted as superseded)."""
    asking = [
        (v, window_reminders(now, v.policy, v.owing))
        for v in views
        if v.positions and v.user.reminders_enabled
    ]
    # Only the keys of reminders within the catch-up window can be due: look those up,
    # not every row ever written for these installments (one a day while overdue).
    keys = [r.dedup_key for _, found in asking for rs in found for r in rs]
    known = await known_keys(uow.session, keys)
    wanted: list[tuple[Looked, Reminder, str]] = []
    for view, found in asking:
        due = choose(found, known)
        chosen = {r.dedup_key for r in due.send}
        wanted += [(view, reminder, CLAIMED) for reminder in due.send]
        wanted += [
            (view, Reminder(ReminderKind(key[1]), key[0], key[2], now), SUPERSEDED)
            for key in sorted(due.settled - chosen)
        ]
    inserted = await insert_new(
        uow.session,
        [(v.user.telegram_id, r.key, r.kind.value, r.offset, r.fire_at, s) for v, r, s in wanted],
        claimed=CLAIMED,
        lease_until=now + lease,
        now=now,
    )
    claimed: dict[int, list[ReminderItem]] = {}
    for view, reminder, status in wanted:
        log_id = inserted.get(reminder.dedup_key)
        if status == CLAIMED and log_id is not None:  # None: another sweep inserted it
            item = scheduled_item(
                view, log_id, reminder.kind, reminder.offset, reminder.key, reminder.fire_at
            )
            if item is not None:
                claimed.setdefault(view.user.telegram_id, []).append(item)
    return claimed


async def _waiting(uow: UnitOfWork, user_ids: list[int], now: datetime) -> list[ReminderLogRow]:
    """The users' pending rows whose time has come, and claims whose sender never recorded
    an outcome (PostgreSQL: skipping rows another sweep holds)."""
    found: list[ReminderLogRow] = []
    for ids in slices(user_ids):
        rows = await uow.session.scalars(
            select(ReminderLogRow)
            .where(
                ReminderLogRow.user_id.in_(ids),
                or_(
                    (ReminderLogRow.status == PENDING) & (ReminderLogRow.fire_at <= now),
                    (ReminderLogRow.status == CLAIMED) & (ReminderLogRow.lease_until < now),
                ),
            )
            .order_by(ReminderLogRow.fire_at, ReminderLogRow.id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        found += rows
    return sorted(found, key=lambda r: (r.fire_at, r.id))


async def _take(
    uow: UnitOfWork, rows: list[ReminderLogRow], now: datetime, lease: timedelta
) -> set[int]:
    """Claim waiting rows (each only if still as it was read); the ids claimed."""
    pending = [r.id for r in rows if r.status == PENDING]
    expired = [r.id for r in rows if r.status == CLAIMED]
    claim = {
        "status": CLAIMED,
        "lease_until": now + lease,
        "attempts": ReminderLogRow.attempts + 1,
    }
    taken: set[int] = set()
    for ids, still in (
        (pending, ReminderLogRow.status == PENDING),
        (expired, (ReminderLogRow.status == CLAIMED) & (ReminderLogRow.lease_until < now)),
    ):
        for some in slices(ids):
            done = await uow.session.scalars(
                update(ReminderLogRow)
                .where(ReminderLogRow.id.in_(some), still)
                .values(**claim)
                .returning(ReminderLogRow.id)
                .execution_options(synchronize_session=False)
            )
            taken.update(done)
    for log_id in sorted(taken.intersection(expired)):
        log.warning("reclaimed message %s after its lease ran out: it may go out twice", log_id)
    return taken


async def _settle(uow: UnitOfWork, log_ids: list[int], status: str) -> None:
    for some in slices(log_ids):
        await uow.session.execute(
            update(ReminderLogRow)
            .where(ReminderLogRow.id.in_(some))
            .values(status=status, lease_until=None)
            .execution_options(synchronize_session=False)
        )


def _batches(
    view: Looked,
    scheduled: list[ReminderItem],
    taken: list[tuple[ReminderLogRow, ReminderItem | None]],
    methods: list[PaymentMethodRow],
) -> list[ReminderBatch]:
    """The user's messages: one with every reminder due, then each receipt."""
    user = view.user
    items = [with_method(item, view, methods) for item in scheduled]
    receipts: list[ReminderBatch] = []
    attempts = 1
    due_at = min((i.fire_at for i in items if i.fire_at is not None), default=None)
    for row, item in taken:  # read before the claim: one more attempt now
        if item is None:  # a receipt
            receipts.append(
                ReminderBatch(
                    user.telegram_id,
                    user.language,
                    user.timezone,
                    (),
                    _receipt_of(row),
                    row.id,
                    row.attempts + 1,
                    row.fire_at,
                )
            )
            continue
        attempts = max(attempts, row.attempts + 1)
        due_at = row.fire_at if due_at is None else min(due_at, row.fire_at)
        items.append(with_method(item, view, methods))
    if not items:
        return receipts
    items.sort(key=lambda i: (i.due_date, i.installment_id))
    batch = ReminderBatch(
        user.telegram_id,
        user.language,
        user.timezone,
        tuple(items),
        attempts=attempts,
        due_at=due_at,
    )
    return [batch, *receipts]


def _receipt_of(row: ReminderLogRow) -> AutopayReceipt | PaymentReceipt:
    payload = row.payload or {}
    if not PaymentReceipt.is_payload(payload):
        return AutopayReceipt.from_payload(payload)
    receipt = PaymentReceipt.from_payload(payload)
    if receipt.after_processing:  # the reply said "processing": nothing was shown twice
        return receipt
    # Only a confirm whose reply was not shown, or not recorded as shown, leaves its
    # receipt to the sweep: a crash between showing and recording makes this a second copy.
    log.warning(
        "receipt of payment %s was not recorded as shown by its confirm: sending it"
        " (it may go out twice)",
        row.offset,
    )
    return receipt


async def _methods(uow: UnitOfWork, user_ids: list[int]) -> dict[int, list[PaymentMethodRow]]:
    found: dict[int, list[PaymentMethodRow]] = {}
    for ids in slices(user_ids):
        rows = await uow.session.scalars(
            select(PaymentMethodRow)
            .where(PaymentMethodRow.user_id.in_(ids), PaymentMethodRow.removed_at.is_(None))
            .order_by(PaymentMethodRow.id)
        )
        for row in rows:
            found.setdefault(row.user_id, []).append(row)
    return found
