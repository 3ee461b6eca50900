"""/add's way of asking: the draft of answers, the step awaited and asked, the preview
when every answer is in (or the step a refusal is about), and the end of an /add."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.deps import deps
from bot.handlers import awaiting
from bot.handlers.add_steps import (
    AWAITING,
    DRAFT,
    STEP_OF_FIELD,
    Step,
    after_edit,
    plan_draft,
    question_keyboard,
    question_text,
)
from bot.handlers.add_typed import preview_text
from bot.handlers.common import show
from bot.texts import t
from core.domain.terms import MAX_FIRST_PERIOD_DAYS, MIN_FIRST_PERIOD_DAYS
from core.services.errors import InvalidInput


def draft_of(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any] | None:
    found = context.user_data.get(DRAFT) if context.user_data is not None else None
    return found if isinstance(found, dict) else None


def ours(question: dict[str, Any] | None, draft: dict[str, Any] | None) -> bool:
    """Whether ``question`` is a step of the /add whose answers are ``draft``."""
    return (
        question is not None
        and draft is not None
        and question.get("what") == AWAITING
        and question.get("run") == draft.get("run")
    )


async def ask(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    lang: str,
    step: Step,
    *,
    before: str = "",
    edit: bool = False,
) -> None:
    """Await ``step`` and ask it (after ``before``, a reason or a note, if any); while a
    field of the preview is being changed, the preview comes back once it is."""
    draft = draft_of(context)
    assert draft is not None
    step = after_edit(step, draft)
    if step is Step.CONFIRM:
        try:
            text = preview_text(lang, plan_draft(draft))
        except InvalidInput as exc:
            step = STEP_OF_FIELD.get(exc.field, Step.FIRST_DUE)
            await ask(update, context, lang, step, before=does_not_fit(lang, exc), edit=edit)
            return
    else:
        text = question_text(lang, step, draft)
    awaiting.expect(context, AWAITING, deps(context).clock(), step=step.value, run=draft["run"])
    text = f"{before}\n{text}" if before else text
    await show(update, text, question_keyboard(lang, step, draft, draft["run"]), edit=edit)


def does_not_fit(lang: str, exc: InvalidInput) -> str:
    """Why the answers make no plan: the first period's bounds said with their numbers."""
    if exc.field == "start_date":
        return t(
            lang,
            "add.bad_first_period",
            shortest=MIN_FIRST_PERIOD_DAYS,
            longest=MAX_FIRST_PERIOD_DAYS,
        )
    return t(lang, "add.does_not_fit")


async def end(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """Stop awaiting /add and forget its answers, then say ``text``."""
    assert context.user_data is not None
    awaiting.done(context)
    context.user_data.pop(DRAFT, None)
    await show(update, text)
