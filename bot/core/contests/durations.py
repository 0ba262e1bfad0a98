"""Durations as members type them ("45s", "90m", "2d 6h", "1 hour and 30 minutes") and as the
bot writes them back ("2 d 6 h").

`parse_duration` is liberal in spaces, case, commas, "and" and unit spellings (s, sec, second;
m, min, minute; h, hr, hour; d, day; w, wk, week; y, year = 365 d), sums repeated parts, and
takes decimals ("1.5h"). A bare number, an unknown unit or anything else is refused with an
`InvalidDuration` that says what to type. `format_duration` writes whole seconds with the units
d, h, min and s, and what it writes parses back to the same number.
"""

from __future__ import annotations

import math
import re

from bot.core.contests.errors import InvalidDuration

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
YEAR = 365 * DAY

SHORTEST_PHASE = 10  # seconds: short enough for an admin to try a whole contest out
LONGEST_PHASE = 60 * DAY
LONGEST_AGE = 10 * YEAR  # older than Discord itself

_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), MINUTE),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), HOUR),
    **dict.fromkeys(("d", "day", "days"), DAY),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), WEEK),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), YEAR),
}
_PART = r"(\d+(?:\.\d*)?|\.\d+)\s*([a-z]+)"
_WHOLE = re.compile(rf"(?:{_PART}\s*)+")
_PARTS = re.compile(_PART)
_SEPARATORS = re.compile(r",|\band\b|\+")

EXAMPLES = "for example 45s, 90m or 2d 6h"


def parse_duration(
    text: str,
    *,
    what: str = "The duration",
    minimum: int = SHORTEST_PHASE,
    maximum: int = LONGEST_PHASE,
) -> int:
    """Whole seconds (rounded to the nearest), within [minimum, maximum]; `what` names the
    option in the refusal ("Voting must be at least 10 s.")."""
    cleaned = " ".join(_SEPARATORS.sub(" ", text.casefold()).split())
    if not cleaned:
        raise InvalidDuration(f"{what} is empty: give a number and a unit, {EXAMPLES}.")
    if not _WHOLE.fullmatch(cleaned):
        if re.fullmatch(r"\d+(?:\.\d*)?", cleaned):
            raise InvalidDuration(
                f"{what} needs a unit: `{cleaned}s`, `{cleaned}m`, `{cleaned}h` or `{cleaned}d`?"
            )
        raise InvalidDuration(
            f"{what}: `{_shown(text)}` is not a duration the bot can read. Use a number and a "
            f"unit (s, m, h, d or w), {EXAMPLES}."
        )
    total = 0.0
    for number, unit in _PARTS.findall(cleaned):
        if unit not in _UNITS:
            raise InvalidDuration(
                f"{what}: `{unit}` is not a unit the bot knows. Use s, m, h, d or w, {EXAMPLES}."
            )
        total += float(number) * _UNITS[unit]
    seconds = math.floor(total + 0.5)
    if seconds < minimum:
        raise InvalidDuration(f"{what} must be at least {format_duration(minimum)}.")
    if seconds > maximum:
        raise InvalidDuration(f"{what} can be at most {format_duration(maximum)}.")
    return seconds


def format_duration(seconds: float) -> str:
    """ "2 d 6 h", "1 h 30 min", "45 s"; zero is "0 s"."""
    left = max(math.floor(seconds + 0.5), 0)
    parts = []
    for size, unit in ((DAY, "d"), (HOUR, "h"), (MINUTE, "min"), (1, "s")):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts) or "0 s"


def _shown(text: str) -> str:
    """The member's text, short and without backticks, to quote it back."""
    flat = " ".join(text.split()).replace("`", "'")
    return flat if len(flat) <= 40 else flat[:39] + "…"
