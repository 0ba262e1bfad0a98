"""One normalisation for prompts and blocked terms: hidden and lookalike characters cannot split a
blocked word, and ordinary text (emoji, accents, CJK) comes through unchanged."""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.core.errors import QuotaRefused
from bot.core.quotas import QuotaPolicy, QuotaService
from bot.core.text import match_key, mostly_invisible, normalize_text
from bot.services import quota_stores
from db.blocklist import BlocklistRepo
from db.database import Database

BYPASSES = ["G\u200bore", "Go\u00adre", "Ｇｏｒｅ"]  # zero-width space, soft hyphen, fullwidth
# Marks over a letter show, so they are sent as typed, but they hide nothing from the blocklist.
MARKED = ["Go\u0336re", "G\u0301ore", "G\u0336o\u0336r\u0336e\u0336"]
# Already NFKC and free of hidden characters outside emoji: these must come through as typed.
PLAIN = [
    "a paper boat on a stormy sea",
    "café crème, naïve façade, Øresund, Straße",
    "東京の夜、ネオンの雨 — 서울의 밤",
    "family 👨\u200d👩\u200d👧 at the beach, 🧑🏽\u200d🚀 in orbit",
    "🏳️\u200d🌈 and 🏳️\u200d⚧️ flags, ❤️\u200d🔥, 1️⃣ 2️⃣ #️⃣",
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Scotland at dawn",
    "ที่นี่ สวัสดี, नमस्ते दुनिया, مرحبا بالعالم, שלום",
    "a\nsecond line ↔️ ©️ ☀️ ★",
]
# Every character that renders as nothing: all of Cf and the ignorable marks and fillers.
HIDDEN = [
    chr(cp)
    for cp in range(sys.maxunicode + 1)
    if not 0xD800 <= cp <= 0xDFFF and unicodedata.category(chr(cp)) == "Cf"
] + list("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\ufe00\ufe0e\ufe0f\uffa0")
HIDDEN += [chr(cp) for cp in (0xE0100, 0xE01EF, 0xE0000, 0xE0080)]


def blocked(term: str, prompt: str) -> bool:
    """The screen's rule: the term's key as whole words inside the prompt's key."""
    key = match_key(term)
    return bool(re.search(rf"(?<!\w){re.escape(key)}(?!\w)", match_key(prompt)))


# --- examples ------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", BYPASSES)
def test_each_bypass_spelling_normalises_to_the_plain_word(typed: str):
    assert normalize_text(typed) == "Gore"
    assert match_key(typed) == "gore"
    assert blocked("gore", f"lots of {typed} please")
    assert blocked(typed, "lots of GORE please")  # the moderator's spelling is normalised too


@pytest.mark.parametrize("typed", MARKED)
def test_combining_marks_do_not_hide_a_blocked_word(typed: str):
    assert match_key(typed) == "gore"
    assert blocked("gore", f"lots of {typed} please")


@pytest.mark.parametrize("text", PLAIN)
def test_plain_text_is_unchanged(text: str):
    assert unicodedata.normalize("NFKC", text) == text
    assert normalize_text(text) == text
    assert not mostly_invisible(text)


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("e\u200b\u0301", "é"),  # dropping the hidden one lets the accent compose
        ("ﬁre ①", "fire 1"),
        ("\u202egore\u202c", "gore"),  # right-to-left override
        ("go\ufe0fre", "gore"),  # an emoji-style selector after a letter
        ("g\u200dore", "gore"),  # a joiner between letters
        ("🍆\u200b\u200d🍆", "🍆🍆"),  # a joiner that no longer joins emoji
        ("\U000e0067\U000e006f\U000e0072\U000e0065 hi", "hi"),  # tags outside a flag
        ("\u3164\uffa0 x", "x"),
    ],
)
def test_hidden_and_compatibility_characters(typed: str, normal: str):
    assert normalize_text(typed).strip() == normal


def test_a_casefold_that_decomposes_matches_the_bare_letter():
    assert match_key("ΐ") == match_key("ι\u0308\u0301") == "ι"  # marks are not compared
    assert match_key("Red   PANDA\n") == "red panda"


@pytest.mark.parametrize(
    ("text", "invisible"),
    [
        ("\u200b" * 10 + "a", True),
        ("a\u200bb", False),
        ("ab\u200b\u200b\u200b", True),
        ("ab\u200b\u200b", False),  # exactly half is enough
        ("a" + "\u3164" * 3, True),
        ("a" + "\u034f" * 3, True),
        ("a" + "\u0301" * 30, False),  # marks ride on their letter
        ("\u0301", False),
        ("a    \n\n  b", True),  # whitespace counts as hidden
        ("\U000e0067\U000e006f\U000e0072", True),
        ("\ue000\ue001x", True),  # private use
        ("\U0001fae9", False),  # unassigned here, an emoji in a newer Unicode
        ("👨\u200d👩\u200d👧", False),
        ("🏳️\u200d⚧️", False),
    ],
)
def test_mostly_invisible(text: str, invisible: bool):
    assert mostly_invisible(text) is invisible


# --- properties ----------------------------------------------------------------------------------

_hidden = st.sampled_from(HIDDEN)
_letters = st.characters(categories=("Lu", "Ll", "Lt", "Lo"))
_word = st.text(alphabet=_letters, min_size=1, max_size=12)
_any = st.text(alphabet=st.one_of(st.characters(exclude_categories=("Cs",)), _hidden), max_size=80)


def _sprinkle(word: str, extras: list[tuple[int, str]]) -> str:
    chars = list(word)
    for position, extra in extras:
        chars.insert(position % (len(chars) + 1), extra)
    return "".join(chars)


@settings(max_examples=500, deadline=None)
@given(_word, st.lists(st.tuples(st.integers(0, 20), _hidden), min_size=1, max_size=6))
def test_hidden_characters_inside_a_blocked_word_never_get_it_through(
    word: str, extras: list[tuple[int, str]]
):
    assume(match_key(word))
    sneaky = _sprinkle(word, extras)
    assert match_key(sneaky) == match_key(word)
    assert blocked(word, f"show me {sneaky} now")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="gore", min_size=1, max_size=8), st.lists(_hidden, max_size=4))
def test_fullwidth_and_hidden_together_never_get_it_through(word: str, extras: list[str]):
    fullwidth = "".join(chr(ord(c) - 0x20 + 0xFF00) for c in word.upper())
    sneaky = _sprinkle(fullwidth, list(enumerate(extras, start=1)))
    assert blocked(word, f"({sneaky})")


@settings(max_examples=500, deadline=None)
@given(_any)
def test_normalising_is_idempotent_and_leaves_only_emoji_joiners(text: str):
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert unicodedata.normalize("NFKC", once) == once
    assert match_key(match_key(text)) == match_key(text)
    # Whatever hidden characters remain are parts of emoji sequences: never after a letter, and
    # a joiner only before a symbol.
    for i, char in enumerate(once):
        if char in HIDDEN:
            assert i > 0 and not unicodedata.category(once[i - 1]).startswith("L"), repr(once)
        if char == "\u200d":
            assert unicodedata.category(once[i + 1 : i + 2] or "a") == "So", repr(once)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(categories=("L", "N", "P", "S")), min_size=1))
def test_text_without_hidden_characters_is_never_mostly_invisible(text: str):
    assume(not any(c in HIDDEN for c in text))
    assert not mostly_invisible(text)


# --- the screen ----------------------------------------------------------------------------------


@pytest.fixture
async def quotas(tmp_path: Path) -> AsyncIterator[QuotaService]:
    db = await Database.open(tmp_path / "screen.db")
    blocklist = BlocklistRepo(db)
    await blocklist.add(1, "gore", 99)
    # A term stored before `/blocklist add` normalised what it stores.
    await blocklist.add(1, "ｓｐｌａｔｔｅｒ", 99)
    yield QuotaService(QuotaPolicy(60, 2, {"480p": 1}), quota_stores(db))
    await db.close()


@pytest.mark.parametrize(
    "prompt", [*BYPASSES, "so much G\u2060O\u180eR\u200cE", "splatter", "S\u200bPLATTER!"]
)
async def test_the_screen_refuses_every_spelling(quotas: QuotaService, prompt: str):
    with pytest.raises(QuotaRefused, match="does not allow"):
        await quotas.screen(1, 5, f"a scene with {prompt} in it")


async def test_the_screen_lets_plain_text_through(quotas: QuotaService):
    for text in PLAIN:
        await quotas.screen(1, 5, text)
    await quotas.screen(1, 5, "gorean sunset")  # whole words only
