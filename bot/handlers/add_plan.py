"""/add: a guided series of questions that builds a plan, previews its schedule and APR,
then saves it.

Each step is an awaited question (``bot.handlers.awaiting``), so there is one question at
a time: a typed answer goes to the question asked last, and another question or command
ends the /add and says so. Every answer is checked where it is typed — the credit line as
soon as the lender is known — and a bad one is asked again with the reason. Every step has
Back and Cancel; a button of an earlier step or an earlier /add has expired.
"""

from __future__ import annotations

import secrets
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.callbacks import Action, decode
from bot.deps import deps
from bot.handlers import awaiting
from bot.handlers.add_flow import ask, does_not_fit, draft_of, end, ours
from bot.handlers.add_quick import quick_fields
from bot.handlers.add_steps import (
    BUTTON_STEPS,
    DRAFT,
    EDITABLE,
    EDITING,
    ORDER,
    STEP_OF_FIELD,
    Step,
    edit_keyboard,
    plan_draft,
    previous,
    quick_answers,
    readings_of,
)
from bot.handlers.add_typed import answer_typed, credit_refusal
from bot.handlers.common import current_user, show
from bot.texts import esc, limit_text, t
from core.domain.credit import CreditRefused
from core.domain.notices import read_notice
from core.domain.quick_plan import read_plan
from core.domain.terms import Method, PlanKind
from core.services.clock import local_date
from core.services.draws import check_draw, closed_lines
from core.services.errors import InvalidInput, LimitReached, NoCreditLine
from core.services.limits import ensure_room_for_plan
from core.services.plans import add_plan
from core.services.users import UserView


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/add: which credit lines can take no new plan, then the first question; "/add 花呗
    3000 12期 0.6%": what the line says, then what it does not."""
    user = await current_user(update, context)
    line = " ".join(context.args or [])
    if not line:
        await _begin(update, context, {})
        return
    fields = quick_fields(read_plan(line, local_date(deps(context).clock(), user.timezone)))
    unread = [] if "provider" in fields else [t(user.language, "add.quick_unread")]
    await _begin(update, context, fields, unread)


async def from_notice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """A pasted or forwarded repayment notice (an SMS, an app notice): the plan it speaks
    of, to the same preview as /add; False when the text is not one."""
    user = await current_user(update, context)
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    notice = read_notice(text, local_date(deps(context).clock(), user.timezone))
    if notice is None:
        return False
    note = t(user.language, "add.from_notice")
    await _begin(update, context, quick_fields(notice.as_plan()), [note])
    return True


async def _begin(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    fields: dict[str, str],
    notes: list[str] | None = None,
) -> None:
    assert context.user_data is not None
    user = await current_user(update, context)
    lang, d = user.language, deps(context)
    notes = list(notes or [])
    question = awaiting.pending(context)
    if (
        ours(question, draft_of(context))
        and question is not None
        and not awaiting.expired(question, d.clock(), d.settings)
    ):
        notes.insert(0, t(lang, "add.interrupted"))  # the /add before this one
    try:
        async with d.db.uow() as uow:
            await ensure_room_for_plan(uow, user.telegram_id)
            closed = await closed_lines(uow, user.telegram_id, d.clock())
    except LimitReached as exc:
        await show(update, "\n".join([*notes, limit_text(lang, exc)]), edit=False)
        return
    if closed:
        lines = [
            t(lang, f"add.closed.{'frozen' if c.frozen else 'exhausted'}", provider=esc(c.provider))
            for c in closed
        ]
        notes.append(t(lang, "add.closed_lines", lines=t(lang, "add.list_separator").join(lines)))
    today = local_date(d.clock(), user.timezone).isoformat()  # for the due-date buttons
    draft: dict[str, Any] = {"run": secrets.token_hex(3), "today": today} | fields
    context.user_data[DRAFT] = draft
    first = next((step for step in ORDER if step.value not in draft), Step.CONFIRM)
    await ask(update, context, lang, first, before="\n".join(notes))


async def typed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: dict[str, Any]
) -> None:
    """A typed answer to the step awaited (``text_message`` routes it here)."""
    user = await current_user(update, context)
    lang, draft = user.language, draft_of(context)
    step = Step(question["step"])
    if draft is None or not ours(question, draft):
        awaiting.done(context)  # a question whose draft is gone: nothing to answer
        await show(update, t(lang, "add.interrupted"), edit=False)
        return
    if step in BUTTON_STEPS:
        await ask(update, context, lang, step, before=t(lang, "add.use_buttons"))
        return
    message = update.effective_message
    assert message is not None
    outcome = await answer_typed(context, user, step, draft, (message.text or "").strip())
    if outcome.reason:
        await ask(update, context, lang, step, before=outcome.reason)
    else:
        await ask(update, context, lang, outcome.next_step)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Kind, method, a rate's reading, Save, Back or Cancel, for the step awaited only."""
    query = update.callback_query
    assert query is not None
    user = await current_user(update, context)
    lang, d, data = user.language, deps(context), decode(query.data)
    run, step = data.args[0], data.args[1]
    question, draft = awaiting.pending(context), draft_of(context)
    current = ours(question, draft) and question is not None and question.get("step") == step
    if data.action is Action.ADD_RATE and draft is not None:
        current = current and int(data.args[2]) < len(readings_of(draft))
    if data.action is Action.ADD_PICK and draft is not None and current:
        current = int(data.args[2]) < len(quick_answers(lang, Step(step), draft))
    if not current or draft is None or draft.get("run") != run or question is None:
        await query.answer(t(lang, "add.stale_button"), show_alert=True)
        return
    await query.answer()
    if awaiting.expired(question, d.clock(), d.settings):
        await end(
            update, context, t(lang, "add.timeout", minutes=awaiting.timeout_minutes(d.settings))
        )
        return
    if data.action is Action.ADD_CANCEL:
        await end(update, context, t(lang, "common.cancelled"))
    elif data.action is Action.ADD_BACK:
        back = previous(Step(step), draft)
        await ask(update, context, lang, back or Step.PROVIDER, edit=True)
    elif data.action is Action.ADD_KIND:
        await _kind(update, context, user, draft, PlanKind(data.args[2]))
    elif data.action is Action.ADD_METHOD:
        draft.pop("rate_known", None)  # the terms are being given: the rate is known
        draft["method"] = data.args[2]
        if Method(data.args[2]) is Method.INTEREST_FREE:
            draft["rate"] = "0"
            await ask(update, context, lang, Step.FIRST_DUE, edit=True)
        else:
            await ask(update, context, lang, Step.RATE, edit=True)
    elif data.action is Action.ADD_EDIT:
        await _edit(update, context, lang, draft, data.args[2] if len(data.args) > 2 else None)
    elif data.action is Action.ADD_PICK:  # as if its answer were typed
        assert draft is not None
        picked = quick_answers(lang, Step(step), draft)[int(data.args[2])][1]
        outcome = await answer_typed(context, user, Step(step), draft, picked)
        if outcome.reason:
            await ask(update, context, lang, Step(step), before=outcome.reason)
        else:
            await ask(update, context, lang, outcome.next_step)
    elif data.action is Action.ADD_RATE:
        draft["rate"] = str(readings_of(draft)[int(data.args[2])].rate)
        await ask(update, context, lang, Step.FIRST_DUE, edit=True)
    else:
        await _save(update, context, user, draft)


async def _edit(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    lang: str,
    draft: dict[str, Any] | None,
    field: str | None,
) -> None:
    """ "Edit" on the preview: which answer to change; that one's question; or, with no
    field (Back), the preview again."""
    assert draft is not None
    if field is None and draft.get(EDITING) != "?":
        draft[EDITING] = "?"
        text = t(lang, "add.edit_which")
        await show(update, text, edit_keyboard(lang, draft, draft["run"]), edit=True)
        return
    if field is None or field not in {s.value for s in EDITABLE}:
        draft.pop(EDITING, None)
        await ask(update, context, lang, Step.CONFIRM, edit=True)
        return
    draft[EDITING] = field
    await ask(update, context, lang, Step(field), edit=True)


async def _kind(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    user: UserView,
    draft: dict[str, Any],
    kind: PlanKind,
) -> None:
    """A cash advance needs a credit line with the lender: said now, not at Save."""
    d, lang = deps(context), user.language
    try:
        async with d.db.uow() as uow:
            await check_draw(uow, user.telegram_id, draft["provider"], d.clock(), kind=kind)
    except NoCreditLine:
        reason = t(lang, "add.refused.no_credit_line", provider=esc(draft["provider"]))
        await ask(update, context, lang, Step.KIND, before=reason, edit=True)
        return
    except CreditRefused as exc:
        await ask(update, context, lang, Step.PROVIDER, before=credit_refusal(lang, exc), edit=True)
        return
    draft["kind"] = kind.value
    await ask(update, context, lang, Step.PRINCIPAL, edit=True)


async def _save(
    update: Update, context: ContextTypes.DEFAULT_TYPE, user: UserView, draft: dict[str, Any]
) -> None:
    """Save; a refusal (the line changed since, or the terms) goes back to its step."""
    d, lang = deps(context), user.language
    try:
        async with d.db.uow() as uow:
            await add_plan(uow, user.telegram_id, plan_draft(draft), d.clock())
    except CreditRefused as exc:
        step = Step.PRINCIPAL if exc.line.available > 0 else Step.PROVIDER
        await ask(update, context, lang, step, before=credit_refusal(lang, exc), edit=True)
        return
    except NoCreditLine:
        reason = t(lang, "add.refused.no_credit_line", provider=esc(draft["provider"]))
        await ask(update, context, lang, Step.KIND, before=reason, edit=True)
        return
    except InvalidInput as exc:
        step = STEP_OF_FIELD.get(exc.field, Step.FIRST_DUE)
        await ask(update, context, lang, step, before=does_not_fit(lang, exc), edit=True)
        return
    except LimitReached as exc:  # another device added the last plan meanwhile
        await end(update, context, limit_text(lang, exc))
        return
    await end(update, context, t(lang, "add.saved"))


async def after_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """After every update's handler: an /add whose question was replaced by another
    question, or that waits while another command ran, is over; say so (not when it had
    already timed out, nor after /cancel, which says it itself)."""
    draft = draft_of(context)
    if draft is None or context.user_data is None:
        return
    question, d = awaiting.pending(context), deps(context)
    waiting = ours(question, draft)
    if waiting and not _other_command(update):
        return
    if waiting:
        awaiting.done(context)
    context.user_data.pop(DRAFT, None)
    if question is None or update.effective_chat is None:
        return  # ended by /cancel, by the timeout, or by Save
    if waiting and awaiting.expired(question, d.clock(), d.settings):
        return
    user = await current_user(update, context)
    await context.bot.send_message(update.effective_chat.id, t(user.language, "add.interrupted"))


def _other_command(update: Update) -> bool:
    """A command other than /add (which starts afresh) and /cancel."""
    message = update.message
    text = message.text if message is not None and message.text else ""
    if not text.startswith("/"):
        return False
    name = text.split()[0][1:].split("@")[0]
    return name not in ("add", "cancel")
