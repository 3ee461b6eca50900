"""A seeded random walk through the running bot, as three people and an attacker would:
commands, typed text from the hostile corpus, presses of visible buttons and of forged
callback data, edits of old messages, updates delivered twice, messages in a group, and
time passing. After every step the checks of ``fuzz_checks.py`` and these hold:

- the update was handled within ``REPLY_SECONDS`` and the person saw an answer (a
  message, an edit, a document or the callback answer) — except for an edit or a repeated
  update, which must change nothing and show nothing;
- a pressed button's query was answered exactly once, and no Bot API call was refused.

Every choice comes from one ``random.Random(seed)``, so a seed replays the same walk."""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from telegram.ext import CallbackContext

from bot import jobs
from bot.emulator.model import Message
from tests.e2e.conftest import RepayBot
from tests.e2e.fuzz_checks import (
    Completions,
    LogWatch,
    ledger_problems,
    money,
    money_moves,
)
from tests.e2e.fuzz_corpus import COMMANDS, mutate, plausible_text, typed_text

REPLY_SECONDS = 2.0
KEPT = timedelta(hours=24)  # how long Telegram keeps an update it could deliver again
GROUP = -500
# Who walks: two people of the demo data (Chinese and English) and a newcomer whose
# Telegram speaks a language the bot does not.
PEOPLE = {1001: "zh-hans", 1002: "en", 4242: "fr"}
# The demo's third person does not act, but has a chat: the sweep writes to them.
SILENT = {1003: "zh-hans"}
# How often each kind of step is taken.
WEIGHTS = {
    "command": 22,
    "text": 24,
    "press": 34,
    "forge": 8,
    "edit": 4,
    "repeat": 4,
    "group": 3,
    "time": 2,
}
# How often a person goes on with what the bot showed them last (answers its question,
# presses a button of the newest screen): deep steps, such as confirming a payment or
# saving a plan, need several in a row.
FOLLOW = 0.7
# The example a question gives ("e.g. 2999 or 2,999.00", "例如：小米、京东白条").
EXAMPLE = re.compile(r"(?:e\.g\.|例如[：:]?)\s*([^\s,，、。；;（()]+)")
NUMBERS = ("12", "6", "3", "500", "1000")  # periods, amounts
FLOWS = ("/repay", "/payoff", "/cards", "/autopay", "/remind", "/add", "/plans", "/history")


@dataclass
class Step:
    """What a step did, and what the bot must do about it."""

    what: str
    chat_id: int
    updates: Counter[int] = field(default_factory=Counter)  # id → completions expected
    query_id: str | None = None
    answer: bool | None = True  # must the person see something? False: nothing; None: either
    may_top_up: bool = False


class FuzzFailure(AssertionError):
    """A step broke a rule; the message has the seed and the last steps."""


def pressable(message: Message) -> list[tuple[int, str, str]]:
    """(index in reading order, label, callback data) of the buttons a person can press."""
    markup = message.reply_markup or {}
    flat = [button for row in markup.get("inline_keyboard", []) for button in row]
    return [(i, b["text"], b["callback_data"]) for i, b in enumerate(flat) if "callback_data" in b]


class Walk:
    def __init__(
        self,
        bot: RepayBot,
        seed: int,
        completions: Completions,
        logs: LogWatch,
        *,
        repeats_any: bool,
        keep_going: bool = False,
    ) -> None:
        self.bot = bot
        self.emulator = bot.emulator
        self.seed = seed
        self.rng = random.Random(seed)
        self.completions = completions
        self.logs = logs
        self.repeats_any = repeats_any  # webhooks: any old update can come again
        self.keep_going = keep_going  # collect the failures of the whole walk (exploring)
        self.failures: list[str] = []
        self.transcript: list[str] = []
        # (update id, chat id, when on the bot's clock) of the walk's updates
        self.sent: list[tuple[int, int, datetime]] = []
        for user_id, language in {**PEOPLE, **SILENT}.items():
            bot.chat(user_id, language)
        # The newcomer's name is shown back in the greeting: markup and control characters.
        self.emulator.user(4242, "<i>Zoë</i> & 🦄\u202e", "fr", last_name="</b>")
        self.emulator.group(GROUP, "Family")

    # -- the walk --------------------------------------------------------------------------
    async def run(self, steps: int) -> None:
        self.money = await money(self.bot.db)
        for number in range(steps):
            await self.step(number)
        if self.failures:
            raise FuzzFailure("\n\n".join(self.failures))

    async def step(self, number: int) -> None:
        user_id = self.rng.choice(list(PEOPLE))
        if self.rng.random() < FOLLOW:
            kind = "follow"
        else:
            kind = self.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        seq, calls, logged = self.emulator.seq, len(self.emulator.calls), len(self.logs.bad)
        loop = asyncio.get_running_loop()
        started = loop.time()
        step = await getattr(self, kind)(user_id)
        self.transcript.append(f"{number}: {step.what}")
        problems = []
        if not await self.completions.wait(step.updates, REPLY_SECONDS):
            late = await self.completions.wait(step.updates, 10)
            waited = loop.time() - started
            problems.append(f"handled after {waited:.1f} s" if late else "not handled within 12 s")
        problems += self._answer_problems(step, seq)
        problems += [
            f"refused {c.method} {c.params}: {c.response.get('description')}"
            for c in self.emulator.calls[calls:]
            if c.status != 200
        ]
        problems += self.logs.describe(logged)
        problems += await ledger_problems(self.bot.db)
        now = await money(self.bot.db)
        problems += money_moves(self.money, now, may_top_up=step.may_top_up)
        self.money = now
        if problems and self.keep_going:
            self.failures.append(self.report(problems, last=3))
        elif problems:
            raise FuzzFailure(self.report(problems))

    def _answer_problems(self, step: Step, seq: int) -> list[str]:
        shown = self.emulator.state.outputs(step.chat_id, seq)
        if step.query_id is not None:
            answers = self.emulator.callback_answers(step.query_id)
            if step.answer and [a.accepted for a in answers] != [True]:
                return [f"callback answered {len(answers)} times: {answers}"]
            if step.answer is False and len(answers) > 1:
                return [f"callback answered again when delivered again: {answers}"]
        elif step.answer and step.updates and not shown:
            return ["no answer"]
        if step.answer is False and shown:
            return [f"answered what must change nothing: {[e.text for e in shown]}"]
        return []

    def report(self, problems: list[str], last: int = 25) -> str:
        lines = [
            f"fuzz walk seed={self.seed} failed at step {len(self.transcript) - 1}",
            f"reproduce: FUZZ_SEED={self.seed} FUZZ_STEPS={len(self.transcript)}",
            "last steps:",
            *self.transcript[-last:],
            "problems:",
            *problems,
        ]
        return "\n".join(lines)

    # -- steps -----------------------------------------------------------------------------
    def _queued(self, chat_id: int) -> int:
        update_id = self.emulator.state.next_update_id - 1
        self.sent.append((update_id, chat_id, self.bot.clock.now))
        return update_id

    async def _say(self, user_id: int, text: str, what: str) -> Step:
        await self.emulator.send_text(user_id, text)
        update_id = self._queued(user_id)
        step = Step(f"{user_id} {what} {text[:60]!r}", user_id, Counter({update_id: 1}))
        step.may_top_up = True
        return step

    async def command(self, user_id: int) -> Step:
        return await self._say(user_id, self.rng.choice(COMMANDS), "sends")

    async def text(self, user_id: int) -> Step:
        return await self._say(user_id, typed_text(self.rng), "types")

    def _screens(self, user_id: int) -> list[Message]:
        """The person's bot messages with buttons that carry callback data, newest last."""
        return [m for m in self.emulator.chat_log(user_id) if not m.deleted and pressable(m)]

    async def follow(self, user_id: int) -> Step:
        """Go on with the newest screen: type the example its question gives (so /add
        can reach Save), press one of its buttons, or start something."""
        shown = [m for m in self.emulator.chat_log(user_id) if not m.deleted]
        newest = shown[-1] if shown else None
        example = EXAMPLE.search(newest.text) if newest is not None else None
        if example is not None and self.rng.random() < 0.6:
            return await self._say(user_id, example[1], "answers as asked")
        if newest is not None and pressable(newest) and self.rng.random() < 0.6:
            return await self.press(user_id, newest=True)
        if self.rng.random() < 0.5:  # perhaps the bot asked something: often a number
            number = self.rng.random() < 0.5
            answer = self.rng.choice(NUMBERS) if number else plausible_text(self.rng)
            return await self._say(user_id, answer, "answers")
        return await self._say(user_id, self.rng.choice(FLOWS), "starts")

    async def press(self, user_id: int, *, newest: bool = False) -> Step:
        screens = self._screens(user_id)
        if not screens:
            return await self.command(user_id)
        # Mostly the newest screen; sometimes an older one, whose buttons may be stale.
        message = screens[-1] if newest or self.rng.random() < 0.7 else self.rng.choice(screens)
        buttons = pressable(message)
        # Going on, a person mostly takes one of the first buttons (the choices), seldom
        # the last (Back, Cancel); otherwise any.
        weights = [1 / (n + 1) if newest else 1 for n in range(len(buttons))]
        index, label, data = self.rng.choices(buttons, weights)[0]
        if data.startswith("fg:yes") and self.rng.random() < 0.9:
            return await self.command(user_id)  # forgetting everything ends the walk's story
        query = await self.emulator.press(user_id, message.message_id, button_index=index)
        update_id = self._queued(user_id)
        what = f"{user_id} presses {label[:30]!r} ({data}) on message {message.message_id}"
        return Step(what, user_id, Counter({update_id: 1}), query)

    async def forge(self, user_id: int) -> Step:
        screens = self._screens(user_id)
        shown = self.emulator.chat_log(user_id)
        if not shown:
            return await self.command(user_id)
        message = self.rng.choice(screens) if screens else shown[-1]
        buttons = [data for _, _, data in pressable(message)]
        data = mutate(self.rng, self.rng.choice(buttons) if buttons else "mr")
        query = await self.emulator.press(
            user_id, message.message_id, callback_data=data, forge=True
        )
        update_id = self._queued(user_id)
        what = f"{user_id} forges {data!r} on message {message.message_id}"
        return Step(what, user_id, Counter({update_id: 1}), query)

    async def edit(self, user_id: int) -> Step:
        chat = self.emulator.state.chats[user_id]
        own = [m for m in chat.messages.values() if not m.from_bot]
        if not own:
            return await self.text(user_id)
        message = self.rng.choice(own)
        text = typed_text(self.rng)
        await self.emulator.edit_text(user_id, message.message_id, text)
        update_id = self._queued(user_id)
        what = f"{user_id} edits message {message.message_id} to {text[:60]!r}"
        return Step(what, user_id, Counter({update_id: 1}), answer=False)

    async def repeat(self, user_id: int) -> Step:
        """The same update delivered again: an old one (webhooks: Telegram did not get the
        answer), or the one just sent (polling: the bot restarted before confirming)."""
        # Telegram keeps an update for 24 hours: none older comes again.
        recent = [s for s in self.sent if self.bot.clock.now - s[2] <= KEPT]
        if self.repeats_any and not recent:  # (a webhook delivery ends every copy at once)
            return await self.command(user_id)
        if not self.repeats_any:
            step = await self.rng.choice((self.command, self.text, self.press))(user_id)
            [(update_id, _)] = step.updates.items()
            self.emulator.redeliver(update_id)
            step.updates[update_id] = 2
            step.what += " (delivered twice)"
            return step
        update_id, chat_id, _ = self.rng.choice(recent)
        done = self.completions.count[update_id]
        self.emulator.redeliver(update_id)
        update = self.emulator.state.sent_updates[update_id]
        query = update.get("callback_query", {}).get("id")
        kind = next(k for k in update if k != "update_id")
        what = f"update {update_id} ({kind}) delivered again"
        return Step(what, chat_id, Counter({update_id: done + 1}), query, answer=False)

    async def group(self, user_id: int) -> Step:
        in_group = [m for m in self.emulator.chat_log(GROUP) if not m.deleted]
        if in_group and self.rng.random() < 0.3:
            data = mutate(self.rng, "mr")
            query = await self.emulator.press(
                user_id, in_group[-1].message_id, callback_data=data, chat_id=GROUP, forge=True
            )
            update_id = self._queued(GROUP)
            what = f"{user_id} presses {data!r} in the group"
            return Step(what, GROUP, Counter({update_id: 1}), query)
        text = self.rng.choice((*COMMANDS, typed_text(self.rng)))
        await self.emulator.send_text(user_id, text, chat_id=GROUP)
        update_id = self._queued(GROUP)
        return Step(f"{user_id} writes {text[:60]!r} in the group", GROUP, Counter({update_id: 1}))

    async def time(self, user_id: int) -> Step:
        """Time passes, and the sweep runs as its job would: reminders, auto-repay."""
        hours = self.rng.choice((1, 5, 24, 72, 24 * 9, 24 * 31))
        self.bot.clock.advance(hours=hours)
        app = self.rng.choice(self.bot.apps)
        await jobs.sweep(CallbackContext(app))
        return Step(f"{hours} hours pass, then a sweep", user_id, answer=None)
