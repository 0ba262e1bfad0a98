"""Checking /contest create's options before a contest exists: every problem at once, each in
words a member can act on."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.contests.durations import (
    LONGEST_AGE,
    LONGEST_PHASE,
    SHORTEST_PHASE,
    format_duration,
    parse_duration,
)
from bot.core.contests.errors import InvalidContest, InvalidDuration
from bot.core.text import normalize_text

MAX_TITLE = 100
MAX_THEME = 1000
MAX_ENTRIES_PER_MEMBER = 10
MAX_VOTES_PER_MEMBER = 25
NO_AGE = frozenset({"", "0", "none", "no", "off", "-"})


@dataclass(frozen=True)
class ContestOptions:
    """As the cog got them: durations as text (or seconds), ages None/"" for none."""

    title: str
    theme: str
    submissions: str | int
    voting: str | int
    entries_per_member: int = 1
    votes_per_member: int = 3
    min_account_age: str | int | None = None
    min_member_age: str | int | None = None


@dataclass(frozen=True)
class ValidOptions:
    title: str
    theme: str
    submissions: int  # seconds
    voting: int
    entries_per_member: int
    votes_per_member: int
    min_account_age: int | None
    min_member_age: int | None


def validate(options: ContestOptions) -> ValidOptions:
    """The options made exact, or `InvalidContest` listing what is wrong."""
    problems: list[str] = []
    title = " ".join(normalize_text(options.title).split())
    theme = normalize_text(options.theme).strip()
    if not title:
        problems.append("Give the contest a title.")
    elif len(title) > MAX_TITLE:
        problems.append(f"The title can be at most {MAX_TITLE} characters ({len(title)} now).")
    if not theme:
        problems.append("Give the contest a theme: it tells members what to make.")
    elif len(theme) > MAX_THEME:
        problems.append(f"The theme can be at most {MAX_THEME} characters ({len(theme)} now).")
    submissions = _phase(options.submissions, "Submissions", problems)
    voting = _phase(options.voting, "Voting", problems)
    epm = _count(options.entries_per_member, "Entries per member", MAX_ENTRIES_PER_MEMBER, problems)
    vpm = _count(options.votes_per_member, "Votes per member", MAX_VOTES_PER_MEMBER, problems)
    account = _age(options.min_account_age, "The minimum account age", problems)
    member = _age(options.min_member_age, "The minimum member age", problems)
    if problems:
        raise InvalidContest(problems)
    return ValidOptions(title, theme, submissions, voting, epm, vpm, account, member)


def _phase(value: str | int, what: str, problems: list[str]) -> int:
    try:
        if isinstance(value, str):
            return parse_duration(value, what=what)
        if not SHORTEST_PHASE <= value <= LONGEST_PHASE:
            raise InvalidDuration(
                f"{what} must be between {format_duration(SHORTEST_PHASE)} and "
                f"{format_duration(LONGEST_PHASE)}."
            )
        return int(value)
    except InvalidDuration as exc:
        problems.append(exc.message)
        return 0


def _age(value: str | int | None, what: str, problems: list[str]) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().casefold() in NO_AGE):
        return None
    if isinstance(value, int):
        if not 0 <= value <= LONGEST_AGE:
            problems.append(f"{what} can be at most {format_duration(LONGEST_AGE)}.")
        return value or None
    try:
        return parse_duration(value, what=what, minimum=1, maximum=LONGEST_AGE)
    except InvalidDuration as exc:
        problems.append(exc.message)
        return None


def _count(value: int, what: str, most: int, problems: list[str]) -> int:
    if not 1 <= value <= most:
        problems.append(f"{what} must be between 1 and {most}.")
    return value
