"""Durations as members type them, read liberally, refused plainly, and written back so that
what the bot writes reads back the same."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.contests.durations import (
    DAY,
    HOUR,
    LONGEST_PHASE,
    MINUTE,
    SHORTEST_PHASE,
    WEEK,
    format_duration,
    parse_duration,
)
from bot.core.contests.errors import InvalidDuration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("45s", 45),
        ("90m", 90 * MINUTE),
        ("2d 6h", 2 * DAY + 6 * HOUR),
        ("2d6h", 2 * DAY + 6 * HOUR),
        ("1h30m", HOUR + 30 * MINUTE),
        ("1h 30m", HOUR + 30 * MINUTE),
        ("10 seconds", 10),
        ("10 Seconds", 10),
        ("  1 hour and 30 minutes ", HOUR + 30 * MINUTE),
        ("2 days, 6 hours", 2 * DAY + 6 * HOUR),
        ("1 d + 12 h", DAY + 12 * HOUR),
        ("1.5h", 90 * MINUTE),
        (".5m", 30),
        ("3 min 20 sec", 200),
        ("2 wks", 2 * WEEK),
        ("1w 1d", 8 * DAY),
        ("1 hr 1 hr", 2 * HOUR),  # repeated parts add up
        ("10.4s", 10),
        ("2D 6H", 2 * DAY + 6 * HOUR),
    ],
)
def test_reads_what_members_type(text: str, seconds: int):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("90", "needs a unit: `90s`, `90m`"),
        ("soon", "is not a duration"),
        ("1h30", "is not a duration"),
        ("-5m", "is not a duration"),
        ("2 months", "`months` is not a unit"),
        ("5 parsecs", "`parsecs` is not a unit"),
        ("h", "is not a duration"),
        ("1h`@everyone`", "is not a duration"),
    ],
)
def test_refuses_garbage_saying_what_to_type(text: str, says: str):
    with pytest.raises(InvalidDuration) as caught:
        parse_duration(text, what="Voting")
    assert says in caught.value.message
    assert caught.value.message.startswith("Voting")
    assert "@everyone`" not in caught.value.message  # quoted back without its backticks


def test_bounds_are_ten_seconds_to_sixty_days():
    assert parse_duration("10s") == SHORTEST_PHASE
    assert parse_duration("60d") == LONGEST_PHASE
    with pytest.raises(InvalidDuration, match="at least 10 s"):
        parse_duration("9s", what="Submissions")
    with pytest.raises(InvalidDuration, match="at most 60 d"):
        parse_duration("61d")
    with pytest.raises(InvalidDuration, match="at most 60 d"):
        parse_duration("9w")
    assert parse_duration("1s", minimum=1) == 1
    assert parse_duration("2y", maximum=3 * 365 * DAY) == 730 * DAY


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (90 * MINUTE, "1 h 30 min"),
        (2 * DAY + 6 * HOUR, "2 d 6 h"),
        (14 * DAY, "14 d"),
        (DAY + 1, "1 d 1 s"),
        (59.6, "1 min"),
    ],
)
def test_writes_durations_back(seconds: float, text: str):
    assert format_duration(seconds) == text


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=SHORTEST_PHASE, max_value=LONGEST_PHASE))
def test_what_is_written_reads_back_the_same(seconds: int):
    assert parse_duration(format_duration(seconds)) == seconds


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=30))
def test_any_text_parses_or_is_refused_plainly(text: str):
    try:
        seconds = parse_duration(text)
    except InvalidDuration as exc:
        assert exc.message  # a message for the member, never another exception
    else:
        assert SHORTEST_PHASE <= seconds <= LONGEST_PHASE
