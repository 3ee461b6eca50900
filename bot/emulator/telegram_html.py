"""Telegram's HTML ``parse_mode``: HTML source -> plain text and entities.

Tokenized by the stdlib's :mod:`html.parser`.  What it tolerates but Telegram does not
(stray ``<``, silently dropped characters) is caught by checking that every source
character belongs to some token; error reasons follow Telegram's wording ("Unsupported
start tag ... at byte offset N").  One deliberate strictness beyond Telegram: a bare
``&`` (or a named entity other than ``&lt; &gt; &amp; &quot;``) is rejected, since
Telegram would show it literally and that is always a bug in the bot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, NoReturn

from bot.emulator.errors import bad_request

_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    tag: str
    start: int  # UTF-16 offset in the output
    entity: dict[str, Any] | None


class _TelegramHTML(HTMLParser):
    """One-shot parser of Telegram's HTML subset into (plain text, entities)."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.cursor = 0  # source offset up to which every character belongs to a token
        self.out: list[str] = []
        self.utf16 = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        self.feed(self.source)
        self.close()
        self._account(len(self.source))
        if self.stack:
            tag = self.stack[-1].tag
            self._fail(f'Can\'t find end tag corresponding to start tag "{tag}"')
        return "".join(self.out), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))

    # -- helpers -------------------------------------------------------------------------
    def _fail(self, reason: str) -> NoReturn:
        raise bad_request(f"can't parse entities: {reason}")

    def _byte(self, offset: int) -> int:
        return len(self.source[:offset].encode("utf-8"))

    def _here(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def _account(self, start: int) -> None:
        """Fail if html.parser silently skipped source text before ``start``."""
        if start > self.cursor:
            gap = self.source[self.cursor : start]
            for i, char in enumerate(gap):
                if char in "<&":
                    self._stray(self.cursor + i)
            self._fail(f"Unexpected text at byte offset {self._byte(self.cursor)}")

    def _stray(self, offset: int) -> NoReturn:
        at = self._byte(offset)
        if self.source[offset] == "&":
            self._fail(f'Unescaped "&" at byte offset {at}; use "&amp;"')
        name = re.match(r"[^\s>]*", self.source[offset + 1 :])
        name_text = name.group(0) if name else ""
        if offset + 1 + len(name_text) >= len(self.source):
            self._fail(f"Unclosed start tag at byte offset {at}")
        self._fail(f'Unsupported start tag "{name_text.lower()}" at byte offset {at}')

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self.utf16 += utf16_len(text)

    def _entity_end(self, start: int, name_len: int) -> int:
        end = start + name_len
        if self.source[end : end + 1] != ";":
            self._stray(start)
        return end + 1

    # -- tokens --------------------------------------------------------------------------
    def handle_data(self, data: str) -> None:
        start = self._here()
        self._account(start)
        for i, char in enumerate(data):
            if char in "<&":
                self._stray(start + i)
        self._emit(data)
        self.cursor = start + len(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._here()
        self._account(start)
        at = self._byte(start)
        if tag not in _TAGS:
            self._fail(f'Unsupported start tag "{tag}" at byte offset {at}')
        attr = {name: value or "" for name, value in attrs}
        entity: dict[str, Any] | None = {"type": _TAGS[tag]}
        if tag == "a":
            entity = {"type": "text_link", "url": attr["href"]} if attr.get("href") else None
        elif tag == "span" and attr.get("class") != "tg-spoiler":
            self._fail(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        elif tag == "tg-emoji":
            if not attr.get("emoji-id"):
                self._fail(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {at}')
            entity = {"type": "custom_emoji", "custom_emoji_id": attr["emoji-id"]}
        elif tag == "blockquote" and "expandable" in attr:
            entity = {"type": "expandable_blockquote"}
        elif tag == "code" and attr.get("class", "").startswith("language-"):
            entity = {"type": "code", "language": attr["class"].removeprefix("language-")}
        self.stack.append(_Open(tag, self.utf16, entity))
        self.cursor = start + len(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._here()
        self._account(start)
        self._fail(f'Unsupported start tag "{tag}/" at byte offset {self._byte(start)}')

    def handle_endtag(self, tag: str) -> None:
        start = self._here()
        self._account(start)
        at = self._byte(start)
        if not self.stack:
            self._fail(f"Unexpected end tag at byte offset {at}")
        top = self.stack[-1]
        if tag != top.tag:
            self._fail(
                f'Unmatched end tag at byte offset {at}, expected "</{top.tag}>", found "</{tag}>"'
            )
        self.stack.pop()
        entity = top.entity
        parent = self.stack[-1] if self.stack else None
        if entity is not None and tag == "code" and parent is not None and parent.tag == "pre":
            if parent.entity is not None and "language" in entity:
                parent.entity["language"] = entity["language"]
            entity = None  # <pre><code class="language-x"> is one pre entity
        elif entity is not None and entity["type"] == "code":
            entity.pop("language", None)
        if entity is not None and self.utf16 > top.start:
            self.entities.append({**entity, "offset": top.start, "length": self.utf16 - top.start})
        self.cursor = self.source.index(">", start) + 1

    def handle_entityref(self, name: str) -> None:
        start = self._here()
        self._account(start)
        end = self._entity_end(start, 1 + len(name))
        if name not in _NAMED_ENTITIES:
            self._fail(f'Unsupported HTML entity "&{name};" at byte offset {self._byte(start)}')
        self._emit(_NAMED_ENTITIES[name])
        self.cursor = end

    def handle_charref(self, name: str) -> None:
        start = self._here()
        self._account(start)
        end = self._entity_end(start, 2 + len(name))
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            char = chr(code)
        except (ValueError, OverflowError):
            self._stray(start)
        self._emit(char)
        self.cursor = end

    def _unsupported_markup(self) -> None:
        start = self._here()
        self._account(start)
        self._stray(start)

    def handle_comment(self, data: str) -> None:
        self._unsupported_markup()

    def handle_decl(self, decl: str) -> None:
        self._unsupported_markup()

    def handle_pi(self, data: str) -> None:
        self._unsupported_markup()

    def unknown_decl(self, data: str) -> None:
        self._unsupported_markup()


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into (plain text, entities with UTF-16 offsets); 400 on error."""
    return _TelegramHTML(source).run()
