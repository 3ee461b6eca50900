"""What the fuzz walk types and forges: a hostile corpus, plausible answers, and mutations
of callback data.

The hostile part holds every input issue 10 found crashing the bot (time zones that are
directories or no file name, first due dates at the ends of the calendar, callback
integers beyond the database's range, ``$`` patterns that accept a trailing newline,
words no handler knows), and the classes around them: HTML, long texts, emoji, zero-width
and right-to-left characters, full-width and other non-ASCII digits, format strings.
The plausible part moves the conversations on (amounts, dates, names, zones), so the walk
reaches the deep steps as well as the first."""

from __future__ import annotations

import random

from bot.callbacks import MAX_BYTES

HOSTILE = (
    # §6: time zones that crashed
    "Asia",
    "Asia/",
    "A" * 5000,
    "🌏/上海",
    "../../etc/passwd",
    "Etc/GMT+99",
    # §6: first due dates at the ends of the calendar, impossible dates
    "0001-01-01",
    "9999-12-31",
    "1900-01-01",
    "2026-02-30",
    "2026-13-01",
    "31/12/9999",
    # §6: ambiguous rates and odd numbers
    "18",
    "0.6",
    "36.5%",
    "-100",
    "0",
    "0.001",
    "1e309",
    "NaN",
    "Infinity",
    "99999999999999999999999",
    "1,000.50",
    "1.000,50",
    "¥100",
    "$5",
    "100元",
    "１０００",  # full-width digits
    "٣٠٠",  # Arabic-Indic digits
    "१२",  # Devanagari digits
    "1\u200b000",  # a zero-width space inside a number
    "\u200b",
    "\ufeff12",
    # HTML and markup the bot must escape
    "<b>bold</b>",
    "<script>alert(1)</script>",
    "</i><a href='tg://user?id=1'>x</a>",
    "&amp; &lt; &#0; &bogus;",
    "*bold* _it_ `code` [x](http://e.com)",
    # long and wide
    "x" * 4096,
    "长" * 3000,
    "😀" * 2100,  # over 4096 UTF-16 units
    "👨‍👩‍👧‍👦" * 40,
    # right to left, combining marks, control characters
    "\u202eevil\u202c",
    "مرحبا بالعالم",
    "שלום",
    "Z\u0351\u0352\u0353a\u0354\u0355lgo",
    "line1\nline2\r\nline3\ttab",
    # what a program would try
    "'; DROP TABLE users; --",
    '=HYPERLINK("http://evil.example","x")',
    "{name} {0} %s %(x)s",
    "${jndi:ldap://x}",
    "null",
    "None",
    "true",
    # commands the bot does not have, or addressed oddly
    "/unknowncmd",
    "/start@repaybot_test_bot",
    "/status@another_bot",
    "/STATUS",
    "/add extra words",
    "/",
    "/repay 100",
)

PLAUSIBLE = (
    "1000",
    "500",
    "12",
    "6",
    "3",
    "1",
    "18%",
    "0.6%",
    "0.05%",
    "2026-12-15",
    "2027-01-05",
    "12-20",
    "招商银行",
    "My card",
    "1234",
    "5678",
    "Xiaomi",
    "京东白条",
    "iPhone 16",
    "08:30",
    "21:00",
    "25:99",
    "Asia/Tokyo",
    "UTC",
    "Europe/London",
    "yes",
    "取消",
)

COMMANDS = (
    "/start",
    "/status",
    "/repay",
    "/payoff",
    "/plans",
    "/history",
    "/add",
    "/cards",
    "/autopay",
    "/remind",
    "/export",
    "/calendar",
    "/credit",
    "/advice",
    "/help",
    "/faq",
    "/support",
    "/lang",
    "/forget",
    "/cancel",
)

# Callback data that crashed or was answered twice (§6), and some that must be refused.
FORGED = (
    "pv:99999999999999999999999:1",
    "pv:1:99999999999999999999999",
    "hp:1:999999999999999999999999",
    "hp:99999999999999999999:0",
    "cv:9223372036854775807",
    "cv:9223372036854775808",
    "cv:2147483648",
    "cv:0",
    "lg:fr",
    "lg:zh\n",
    "lg:en\n",
    "pv:1:1\n",
    "ca:crypto",
    "rm:sideways",
    "rd:99-98",
    "sz:never",
    "fg:maybe",
    "qc:nosuchquote",
    "qm:x:1",
    "as:save",
    "ak:purchase",
    "am:annuity",
    "zz",
    ":",
    "mr:1:2:3:4",
    "pv:１:0",  # full-width digit: str.isdigit() says yes
    "pv:٣:0",  # Arabic-Indic digit
    "pv:-1:0",
    "hp:0:0",
)

# Integers a forger puts where an id or a page goes.
ODD_INTEGERS = (
    "0",
    "-1",
    "1",
    "2",
    "7",
    "30",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999",
    "007",
    "１",
    "٣",
)
ODD_TAILS = ("\n", ":1", ":", " ", ":0:0", "\u200b", "x")


def typed_text(rng: random.Random) -> str:
    """Something a person (or an attacker) types."""
    pool = HOSTILE if rng.random() < 0.5 else PLAUSIBLE
    return rng.choice(pool)


def plausible_text(rng: random.Random) -> str:
    """An answer to the bot's question, mostly a sensible one."""
    return rng.choice(PLAUSIBLE if rng.random() < 0.8 else HOSTILE)


def mutate(rng: random.Random, data: str) -> str:
    """``data`` of a real button, changed as a forging client would; at most 64 bytes."""
    head, *args = data.split(":")
    how = rng.randrange(6)
    if how == 0 and args:  # an argument replaced by an odd integer
        args[rng.randrange(len(args))] = rng.choice(ODD_INTEGERS)
    elif how == 1:  # something appended
        args.append(rng.choice(ODD_TAILS).lstrip(":"))
    elif how == 2 and args:  # an argument dropped
        args.pop()
    elif how == 3:  # another action with the same arguments
        head = rng.choice(("pv", "hp", "cv", "cf", "cr", "ct", "ap", "at", "ac", "qc", "qm", "rp"))
    elif how == 4:  # a small id: quite likely another user's plan, method or quote
        args = [str(rng.randrange(1, 40)) for _ in args] or [str(rng.randrange(1, 40))]
    else:
        return rng.choice(FORGED)
    forged = ":".join([head, *args])
    while len(forged.encode()) > MAX_BYTES:  # Telegram carries at most 64 bytes
        forged = forged[:-1]
    return forged or "x"
