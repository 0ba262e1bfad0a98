"""Text as members type it, made safe to screen: one normalisation for prompts and blocked terms.

A blocklist is easy to dodge with characters that show as nothing or as something else: a
zero-width space or a soft hyphen inside a word, fullwidth letters. `normalize_text` folds
compatibility forms (NFKC) and drops invisible code points, and the schema applies it to every
string option, so the prompt that is screened is exactly the prompt that is sent. `match_key`
is what both sides of the blocklist are compared as; `mostly_invisible` spots a prompt that is
padding rather than words.

Invisible means Unicode's Default_Ignorable_Code_Point: every format character (category Cf)
plus a few marks and fillers that render as nothing. Emoji need some of them, so a zero-width
joiner between two emoji, a variation selector after a symbol or a keycap digit, and the tags of
the England, Scotland and Wales flags are kept: none of them can sit inside a word.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

ZWJ = "\u200d"
_PRESENTATION = "\ufe0e\ufe0f"  # text / emoji style variation selectors
_KEYCAP = "\u20e3"
_KEYCAP_BASES = "0123456789#*"
# Default_Ignorable_Code_Point (DerivedCoreProperties.txt) outside category Cf: marks, fillers
# and unassigned reserves that render as nothing, yet NFKC keeps them and `unicodedata` has no
# property for them. Tags (E0020-E007F) are Cf but sit in the reserved block listed here.
_IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180d\u180f\u2065\u3164\ufe00-\ufe0f\uffa0"
    "\ufff0-\ufff8\U000e0000-\U000e0fff]"
)
# Subdivision flags: a black flag, two to seven tag letters or digits, a cancel tag.
_FLAG_TAGS = re.compile("\U0001f3f4[\U000e0030-\U000e0039\U000e0061-\U000e007a]{2,7}\U000e007f")

Visibility = Literal["shown", "hidden", "neutral"]


def normalize_text(text: str) -> str:
    """NFKC, without invisible characters (emoji sequences aside); idempotent."""
    while True:
        # Dropping a character can leave a composable pair behind (e, ZWSP, combining acute),
        # so fold again until nothing changes; it settles in one or two rounds.
        folded = _drop_invisible(unicodedata.normalize("NFKC", text))
        if folded == text:
            return text
        text = folded


def match_key(text: str) -> str:
    """What a prompt and a blocked term are compared as: normalised, casefolded, without
    combining marks (a strike-through or an accent over one letter does not hide a word),
    one space."""
    decomposed = unicodedata.normalize("NFKD", normalize_text(text).casefold())
    bare = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Me"))
    return " ".join(unicodedata.normalize("NFKC", bare).split())


def mostly_invisible(text: str) -> bool:
    """Whether fewer than half of the characters show, counted on the text as typed.

    Whitespace, separators, control, format, private-use and ignorable characters are hidden.
    Combining marks are neutral, neither shown nor hidden: they ride on a visible letter, and
    Thai or Devanagari words carry several per letter. Unassigned code points are neutral too:
    a newer Unicode than Python's may have made them emoji. So are the emoji joiners kept by
    `normalize_text`.
    """
    parts = _emoji_parts(text)
    kinds = [_visibility(c) for i, c in enumerate(text) if i not in parts]
    shown, hidden = kinds.count("shown"), kinds.count("hidden")
    return shown * 2 < shown + hidden


def _visibility(char: str) -> Visibility:
    category = unicodedata.category(char)
    if _is_invisible(char) or char.isspace() or category[0] == "Z":
        return "hidden"
    if category in ("Mn", "Me", "Cn"):
        return "neutral"
    return "hidden" if category[0] == "C" else "shown"


def _is_invisible(char: str) -> bool:
    return unicodedata.category(char) == "Cf" or _IGNORABLE.fullmatch(char) is not None


def _drop_invisible(text: str) -> str:
    if not any(_is_invisible(c) for c in text):
        return text
    parts = _emoji_parts(text)
    return "".join(c for i, c in enumerate(text) if i in parts or not _is_invisible(c))


def _emoji_parts(text: str) -> set[int]:
    """Positions of invisible characters that belong to an emoji sequence."""
    parts = {i for m in _FLAG_TAGS.finditer(text) for i in range(m.start() + 1, m.end())}
    for i, char in enumerate(text):
        before, after = text[i - 1 : i], text[i + 1 : i + 2]
        if char in _PRESENTATION:
            keep = _styles(before, after)
        else:
            # A joiner only between emoji; the one before may end in a kept selector (🏳️‍🌈).
            keep = char == ZWJ and _is_emoji(after) and (i - 1 in parts or _ends_emoji(before))
        if keep:
            parts.add(i)
    return parts


def _styles(before: str, after: str) -> bool:
    # Emoji style applies to symbols and punctuation (❤️, ‼️) and to keycaps (1️⃣); after a
    # letter it only hides a break inside a word.
    if not before:
        return False
    return unicodedata.category(before)[0] in "SP" or (before in _KEYCAP_BASES and after == _KEYCAP)


def _is_emoji(char: str) -> bool:
    return bool(char) and unicodedata.category(char) == "So"


def _ends_emoji(char: str) -> bool:
    # The skin-tone modifiers that end many emoji before a joiner are Sk, not So.
    return _is_emoji(char) or "\U0001f3fb" <= char <= "\U0001f3ff"
