"""kill -9 of the real bot process at a failpoint, then a restart (SPEC §6, guarantees 1, 2
and 4): exactly one payment, and no duplicate message beyond the logged lost-answer case.

Each test starts ``repaybot run`` with one failpoint active, waits for it to die of SIGKILL,
checks what the crash left behind, then starts it again without the failpoint and waits
for the outcome and then a few more sweeps, so that a late duplicate would be seen.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from core.failpoints import (
    PAYMENT_AFTER_COMMIT,
    PAYMENT_AFTER_SUBMIT,
    PAYMENT_BEFORE_SUBMIT,
    SEND_AFTER,
    SEND_BEFORE,
)
from tests.crash.conftest import (
    BALANCE,
    LEASE_SECONDS,
    RECLAIM_WARNING,
    SWEEP_SECONDS,
    USER_ID,
    WAIT,
    BotProcess,
    CrashLab,
    eventually,
)
from tests.e2e.conftest import Chat

INSTALLMENT = Decimal("100.00")  # 300.00 interest free in 3 periods
BALANCE_AFTER = "¥4,900.00"  # the card after one debit of the installment
REMINDER = "Repayment reminder"
AUTO_RECEIPT = "Auto-repay succeeded"
MANUAL_RECEIPT = "Payment succeeded"
PROCESSING = "Payment processing"
LATER_RECEIPT = "The payment you confirmed at"  # a confirm's receipt sent by the sweep
MORE_SWEEPS = 4  # after the outcome: one more lease runs out meanwhile


async def _reminder_due_now(lab: CrashLab) -> None:
    """A plan due tomorrow and a reminder time two minutes ago: the 1-day reminder is due."""
    tomorrow = lab.noon.today + timedelta(days=1)
    await lab.add_user(
        first_due=tomorrow, autopay=False, reminders=True, remind_at=lab.noon.minutes_ago(2)
    )


async def _recorded_sent(lab: CrashLab) -> bool:
    return [row.status for row in await lab.log_rows()] == ["sent"]


async def _quiet_for_a_while(run: BotProcess) -> None:
    """Let the process make ``MORE_SWEEPS`` more sweeps, at least one lease long."""
    assert MORE_SWEEPS * SWEEP_SECONDS >= LEASE_SECONDS
    await run.wait_for_sweeps(MORE_SWEEPS, after=run.sweeps())


async def _stop_cleanly(run: BotProcess) -> None:
    assert await run.stop() == 0
    run.assert_no_errors()


async def test_kill_before_send_sends_the_reminder_once_after_the_lease(lab: CrashLab) -> None:
    await _reminder_due_now(lab)
    crashed = await lab.start(SEND_BEFORE)
    await crashed.killed()
    assert lab.messages() == []
    [row] = await lab.log_rows()
    assert (row.kind, row.offset) == ("before_due", 1)
    assert (row.status, row.message_id, row.attempts) == ("claimed", None, 1)

    restarted = await lab.start()
    await eventually(lambda: _recorded_sent(lab), "the reminder recorded as sent", restarted)
    await _quiet_for_a_while(restarted)
    [reminder] = lab.messages()
    assert REMINDER in reminder.text
    assert "Kettle" in reminder.text
    [row] = await lab.log_rows()
    assert (row.status, row.message_id) == ("sent", reminder.message_id)
    # The claim after the lease counts. Not == 2: reminder_sweep._take currently adds 1 in
    # its UPDATE and 1 more on the loaded row, so one reclaim leaves 3.
    assert row.attempts > 1
    # The sweep cannot tell "died before sending" from "died after": it warns either way.
    assert restarted.count(f"reclaimed message {row.id}", RECLAIM_WARNING) == 1
    await _stop_cleanly(restarted)


async def test_kill_after_send_sends_at_most_one_logged_duplicate(lab: CrashLab) -> None:
    await _reminder_due_now(lab)
    crashed = await lab.start(SEND_AFTER)
    await crashed.killed()
    [first] = lab.messages()  # Telegram accepted it; the sender died before recording it
    assert REMINDER in first.text
    [row] = await lab.log_rows()
    assert (row.status, row.message_id) == ("claimed", None)

    restarted = await lab.start()
    await eventually(lambda: _recorded_sent(lab), "the reminder recorded as sent", restarted)
    await _quiet_for_a_while(restarted)
    first_again, second = lab.messages()  # the one allowed duplicate, never a third
    assert first_again.message_id == first.message_id
    assert second.text == first.text
    [row] = await lab.log_rows()
    assert (row.status, row.message_id) == ("sent", second.message_id)
    assert restarted.count(f"reclaimed message {row.id}", RECLAIM_WARNING) == 1
    assert restarted.count(RECLAIM_WARNING) == 1
    await _stop_cleanly(restarted)


@pytest.mark.parametrize("point", [PAYMENT_BEFORE_SUBMIT, PAYMENT_AFTER_SUBMIT])
async def test_kill_mid_autopay_debits_once_and_sends_one_receipt(
    lab: CrashLab, point: str
) -> None:
    """Killed with the attempt's intent committed, before the bank was called or after it
    debited: the restarted bot's check (after the payment lease) settles it from the
    bank — submitting it again under its reference if the bank never got it."""
    # Due today, auto-repay three minutes ago, and a due-today reminder two minutes ago
    # that must not go out once the installment is paid.
    await lab.add_user(
        first_due=lab.noon.today, autopay=True, reminders=True, remind_at=lab.noon.minutes_ago(2)
    )
    crashed = await lab.start(point)
    await crashed.killed()
    [intent] = await lab.payments()
    assert (intent.kind, intent.status, intent.amount) == ("auto", "pending", INSTALLMENT)
    debited = INSTALLMENT if point == PAYMENT_AFTER_SUBMIT else Decimal(0)
    assert await lab.balance() == BALANCE - debited
    assert await lab.log_rows() == []  # no receipt queued, no reminder claimed
    assert lab.messages() == []

    restarted = await lab.start()
    await eventually(lambda: bool(lab.messages(AUTO_RECEIPT)), "a receipt", restarted)
    await _quiet_for_a_while(restarted)
    await _paid_once_by_autopay(lab)
    await _stop_cleanly(restarted)

    # Another restart: the attempt's key is stored, so nothing is debited or sent again.
    rows_before = await lab.log_rows()
    again = await lab.start()
    await again.wait_for_sweeps(MORE_SWEEPS)
    await _paid_once_by_autopay(lab)
    assert await lab.log_rows() == rows_before
    await _stop_cleanly(again)


async def _paid_once_by_autopay(lab: CrashLab) -> None:
    [payment] = await lab.payments()
    assert (payment.kind, payment.status, payment.amount) == ("auto", "succeeded", INSTALLMENT)
    assert payment.idempotency_key.startswith("auto:")
    assert await lab.balance() == BALANCE - INSTALLMENT  # the bank's ledger and ours agree
    [receipt] = lab.messages()  # the receipt, and no reminder of the paid installment
    assert AUTO_RECEIPT in receipt.text
    assert BALANCE_AFTER in receipt.text
    [row] = await lab.log_rows()
    assert (row.kind, row.offset) == ("receipt", payment.id)
    assert (row.status, row.message_id) == ("sent", receipt.message_id)


async def _confirm_the_bill(lab: CrashLab) -> tuple[Chat, int, int]:
    """/repay, Current bill, Confirm: the chat, the confirmation's message id, the press."""
    chat = Chat(lab.emulator, USER_ID)
    await chat.say("/repay")
    await chat.tap("Current bill")  # one card: straight to the confirmation
    assert "Please confirm" in chat.last().text
    message_id, confirm = chat.button("Confirm")
    pressed = await lab.emulator.press(USER_ID, message_id, callback_data=confirm)
    return chat, message_id, pressed


async def _paid_once_by_hand(lab: CrashLab) -> None:
    [payment] = await lab.payments()
    assert (payment.kind, payment.status, payment.amount) == ("manual", "succeeded", INSTALLMENT)
    assert payment.idempotency_key.startswith("quote:")
    assert await lab.balance() == BALANCE - INSTALLMENT  # the bank's ledger and ours agree
    [receipt] = lab.messages(MANUAL_RECEIPT)
    assert BALANCE_AFTER in receipt.text


@pytest.mark.parametrize("point", [PAYMENT_BEFORE_SUBMIT, PAYMENT_AFTER_SUBMIT])
async def test_kill_mid_manual_payment_settles_it_once_and_tells_the_user(
    lab: CrashLab, point: str
) -> None:
    """Killed around the submit of a confirmed payment: the user's tap got no answer; the
    restarted bot settles the payment from the bank and sends its receipt."""
    await lab.add_user(first_due=lab.noon.today, autopay=False, reminders=False)
    crashed = await lab.start(point)
    await crashed.wait_for_log("Application started")
    chat, _, pressed = await _confirm_the_bill(lab)
    await crashed.killed()
    assert lab.emulator.callback_answers(pressed) == []  # it died before answering
    [intent] = await lab.payments()
    assert (intent.kind, intent.status) == ("manual", "pending")
    debited = INSTALLMENT if point == PAYMENT_AFTER_SUBMIT else Decimal(0)
    assert await lab.balance() == BALANCE - debited

    restarted = await lab.start()
    await eventually(lambda: bool(lab.messages(MANUAL_RECEIPT)), "the receipt", restarted)
    await _quiet_for_a_while(restarted)
    await _paid_once_by_hand(lab)
    assert LATER_RECEIPT in chat.last().text  # a message of its own, after the restart
    await _stop_cleanly(restarted)


@pytest.mark.parametrize("mode", ["drop", "hang"])
async def test_a_lost_answer_shows_processing_then_the_receipt(lab: CrashLab, mode: str) -> None:
    """The bank debits but its answer never arrives (the connection dropped, or held past
    the bot's timeout): the user is told the payment is processing; the bank's
    notification or the sweep's query settles it, once."""
    await lab.add_user(first_due=lab.noon.today, autopay=False, reminders=False)
    run = await lab.start()
    await run.wait_for_log("Application started")
    await lab.bank_fault({"answer_lost": {"times": 1, "mode": mode, "hang": 4}})
    _, message_id, pressed = await _confirm_the_bill(lab)
    assert (await lab.emulator.wait_for_answer(pressed, timeout=WAIT)).accepted
    await eventually(lambda: bool(lab.messages(MANUAL_RECEIPT)), "the receipt", run)
    await _quiet_for_a_while(run)
    await _paid_once_by_hand(lab)  # one receipt, one debit
    [confirmation] = [m for m in lab.messages() if m.message_id == message_id]
    # The confirmation says "processing" and the receipt follows as a message of its own
    # — or, when the bank's notification settled it before the bot gave up waiting, the
    # confirmation became the receipt.
    assert PROCESSING in confirmation.text or MANUAL_RECEIPT in confirmation.text
    assert run.count("may go out twice") == 0
    await _stop_cleanly(run)


async def test_kill_after_the_confirm_commits_tells_the_outcome_once_after_the_restart(
    lab: CrashLab,
) -> None:
    await lab.add_user(first_due=lab.noon.today, autopay=False, reminders=False)
    emulator = lab.emulator
    crashed = await lab.start(PAYMENT_AFTER_COMMIT)
    await crashed.wait_for_log("Application started")
    chat = Chat(emulator, USER_ID)
    await chat.say("/repay")
    await chat.tap("Current bill")  # one card: straight to the confirmation
    message_id, confirm = chat.button("Confirm")
    pressed = await emulator.press(USER_ID, message_id, callback_data=confirm)
    await crashed.killed()
    assert emulator.callback_answers(pressed) == []  # it died before answering
    [payment] = await lab.payments()  # paid, and the user not told
    assert (payment.kind, payment.status, payment.amount) == ("manual", "succeeded", INSTALLMENT)
    assert await lab.balance() == BALANCE - INSTALLMENT
    assert "Please confirm" in chat.last().text
    [row] = await lab.log_rows()  # the receipt, queued with the payment
    assert (row.kind, row.offset, row.status) == ("receipt", payment.id, "pending")

    restarted = await lab.start()
    await eventually(lambda: bool(lab.messages(MANUAL_RECEIPT)), "the receipt", restarted)
    await _quiet_for_a_while(restarted)
    [receipt] = lab.messages(MANUAL_RECEIPT)
    assert receipt.message_id != message_id  # a message of its own, after the restart
    assert LATER_RECEIPT in receipt.text
    assert BALANCE_AFTER in receipt.text
    assert await lab.payments() == [payment]
    assert await lab.balance() == BALANCE - INSTALLMENT
    [row] = await lab.log_rows()
    assert (row.status, row.message_id) == ("sent", receipt.message_id)
    # The sweep cannot tell "died before showing" from "died after": it warns either way.
    assert restarted.count(f"receipt of payment {payment.id}", RECLAIM_WARNING) == 1
    await _stop_cleanly(restarted)
