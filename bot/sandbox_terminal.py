"""The sandbox's terminal: the bot's messages printed as they arrive, buttons numbered,
typed lines read without holding up the printing, ``#N`` presses.

The bot acts on its own (reminders, auto-repay receipts) while the person is typing, so
printing never waits for input: one task on the event loop prints every event of the
terminal user's chat as it comes, and lines are read on a thread of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import ModuleType
from typing import Any, TextIO

from bot.emulator import BotApiEmulator, EmulatorError, Event, Message

PROMPT = "> "
# Telegram shows a keyboard as long as its message has it; a press of one that has gone
# (edited away, message deleted) is what a real client cannot send either.
GONE = "  (no such button: that message no longer has buttons)\n"
NO_SUCH = "  (no such button)\n"


def render(event: Event, number: int) -> tuple[str, int]:
    """One bot event as terminal text; buttons numbered from ``number``."""
    if event.kind == "answer":
        return (f"  ({event.text})\n" if event.text else ""), number
    if event.kind == "delete":
        return f"  (message {event.message_id} deleted)\n", number
    if event.kind == "action":  # "typing…": nothing to read
        return "", number
    if event.kind == "document" and event.document is not None:
        doc = event.document
        caption = f"\n{event.text}" if event.text else ""
        return f"bot: [document {doc.file_name}, {len(doc.data)} bytes]{caption}\n", number
    head = "bot (edited):" if event.kind == "edit" else "bot:"
    lines = [f"{head} {event.text or ''}".rstrip()]
    for row in event.buttons:
        cells = []
        for text, _ in row:
            number += 1
            cells.append(f"[{number}] {text}")
        lines.append("    " + "   ".join(cells))
    return "\n".join(lines) + "\n", number


class LineReader:
    """Typed lines, read on a daemon thread one at a time when asked for.

    A line is asked for only after the bot's answer to the previous one was printed, so
    the prompt comes after it. A daemon thread, because a pending ``input()`` cannot be
    cancelled and must not keep the process alive at exit.
    """

    def __init__(self, source: TextIO, out: TextIO, *, interactive: bool) -> None:
        self.source, self.out, self.interactive = source, out, interactive
        self.waiting = False  # a prompt is shown and the person may be typing
        # input() edits lines with readline once it is imported (and without it writes
        # its prompt to stderr); the typed text can then be shown again after an arrival.
        self.readline = _import_readline() if interactive else None
        # readline puts the terminal in raw mode while it reads; leaving mid-line (Ctrl-C)
        # must not leave the person's terminal without echo.
        self._terminal_mode = _terminal_mode(source) if interactive else None

    async def next_line(self) -> str | None:
        """The next typed line without its newline; None at end of input."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str | None] = loop.create_future()
        threading.Thread(target=self._read, args=(loop, answer), daemon=True).start()
        line = await answer
        if line is not None and not self.interactive and line.strip():
            self.out.write(f"{PROMPT}{line}\n")  # a piped script reads like a session
        return line

    def _read(self, loop: asyncio.AbstractEventLoop, answer: asyncio.Future[str | None]) -> None:
        line: str | None
        try:
            if self.interactive:
                self.waiting = True
                try:
                    line = input(PROMPT)  # readline: line editing, and a buffer to redraw
                finally:
                    self.waiting = False
            else:
                raw = self.source.readline()
                line = raw.rstrip("\n") if raw else None
        except EOFError:
            line = None
        except Exception as exc:  # handed to the loop, raised there
            loop.call_soon_threadsafe(_settle, answer, None, exc)
            return
        loop.call_soon_threadsafe(_settle, answer, line, None)

    def close(self) -> None:
        """Give the terminal back as it was, on a fresh line if a prompt was showing."""
        if self.waiting:
            self.out.write("\n")
            self.out.flush()
        if self._terminal_mode is not None:
            _restore_terminal_mode(self.source, self._terminal_mode)

    def around_output(self) -> tuple[str, str]:
        """What to write before and after output that arrives while a line is typed:
        clear the prompt's line, and afterwards show the prompt and the typed text again."""
        if not (self.interactive and self.waiting):
            return "", ""
        typed = self.readline.get_line_buffer() if self.readline is not None else ""
        return "\r\x1b[K", PROMPT + typed


def _settle(
    answer: asyncio.Future[str | None], line: str | None, error: BaseException | None
) -> None:
    if answer.done():
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(line)


def _import_readline() -> ModuleType | None:
    try:
        import readline
    except ImportError:  # Windows: the typed text stays in the terminal's own buffer
        return None
    return readline


def _terminal_mode(source: TextIO) -> list[Any] | None:
    try:
        import termios
    except ImportError:  # Windows
        return None
    try:
        return termios.tcgetattr(source.fileno())
    except (termios.error, OSError, ValueError):
        return None


def _restore_terminal_mode(source: TextIO, mode: list[Any]) -> None:
    import termios

    with contextlib.suppress(termios.error, OSError, ValueError):
        termios.tcsetattr(source.fileno(), termios.TCSADRAIN, mode)


class TerminalChat:
    """Bridges the terminal and the emulator for one sandbox user."""

    def __init__(self, emulator: BotApiEmulator, user_id: int, reader: LineReader) -> None:
        self.emulator, self.user_id, self.reader = emulator, user_id, reader
        self.out = reader.out
        self.printed = emulator.seq  # the last event looked at
        self.last_event_at = 0.0
        # ``#N`` presses button N of the latest message printed with buttons, as it is now.
        self.keyboard_message: int | None = None

    def print_new(self) -> None:
        """Print the bot's events in this user's chat since the last call. Other chats
        (the other demo users) stay in the emulator, unprinted."""
        fresh = self.emulator.events[self.printed :]
        if not fresh:
            return
        self.printed = fresh[-1].seq
        self.last_event_at = asyncio.get_running_loop().time()
        texts = []
        for event in fresh:
            if event.chat_id not in (self.user_id, None):
                continue
            if event.buttons:
                self.keyboard_message = event.message_id
            texts.append(render(event, 0)[0])
        self.write("".join(texts))

    def write(self, text: str) -> None:
        if not text:
            return
        before, after = self.reader.around_output()
        self.out.write(before + text + after)
        self.out.flush()

    async def follow(self) -> None:
        """Print whatever the bot does, when it does it, until cancelled."""
        while True:
            self.print_new()
            await self.emulator.state.wait_for_change(1.0)

    async def say(self, line: str) -> None:
        """Send a typed line (or press ``#N``), then wait until the bot has answered."""
        before = self.emulator.seq
        if line.startswith("#") and line[1:].isdigit():
            if not await self._press(int(line[1:]) - 1):
                return
        else:
            await self.emulator.send_text(self.user_id, line)
        await self._settle(before)

    async def _press(self, index: int) -> bool:
        message = self._keyboard()
        if message is None:
            self.write(NO_SUCH if self.keyboard_message is None else GONE)
            return False
        count = sum(len(row) for row in message.buttons)
        if not 0 <= index < count:
            self.write(NO_SUCH)
            return False
        try:
            await self.emulator.press(self.user_id, message.message_id, button_index=index)
        except EmulatorError as exc:  # e.g. a link button: say so, and go on
            self.write(f"  (button {index + 1} cannot be pressed here: {exc})\n")
            return False
        return True

    def _keyboard(self) -> Message | None:
        """The message whose buttons ``#N`` presses, if it still has buttons."""
        if self.keyboard_message is None:
            return None
        for message in self.emulator.chat_log(self.user_id):
            if message.message_id == self.keyboard_message:
                return None if message.deleted or not message.buttons else message
        return None

    async def _settle(self, before: int, quiet: float = 0.4, limit: float = 10.0) -> None:
        """Wait for the bot's first reaction (every action gets one), then until it has
        been quiet for ``quiet`` seconds, so the next line is read after the answer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while loop.time() < deadline:
            self.print_new()
            if self.printed > before and loop.time() - self.last_event_at >= quiet:
                return
            await asyncio.sleep(0.05)
