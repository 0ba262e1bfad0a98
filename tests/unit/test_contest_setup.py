"""/contest create's options checked before a contest exists, and the rules the card shows."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.contests import messages as m
from bot.core.contests.domain import Contest, EntryRefusal, Phase, VoteRefusal
from bot.core.contests.durations import DAY, HOUR
from bot.core.contests.errors import InvalidContest
from bot.core.contests.setup import ContestOptions, validate


def contest(**kw: Any) -> Contest:
    values: dict[str, Any] = {
        "id": 1,
        "guild_id": 1,
        "number": 3,
        "channel_id": 2,
        "title": "Boats",
        "theme": "paper boats",
        "created_by": 9,
        "created_at": 0.0,
        "submissions_close_at": 100.0,
        "voting_seconds": 100,
        "voting_close_at": 200.0,
        "entries_per_member": 1,
        "votes_per_member": 3,
        "min_account_age": None,
        "min_member_age": None,
        "phase": Phase.SUBMISSIONS,
        "voting_opened_at": None,
        "ended_at": None,
        "announcement_message_id": None,
        "voting_message_id": None,
        "results_message_id": None,
        "cancel_reason": None,
        "cancelled_by": None,
    }
    return Contest(**{**values, **kw})


def test_valid_options_are_made_exact():
    done = validate(
        ContestOptions("  Paper   boats ", " folded ships\n", "2d 6h", "90m", 2, 5, "30d", "0")
    )
    assert (done.title, done.theme) == ("Paper boats", "folded ships")
    assert (done.submissions, done.voting) == (2 * DAY + 6 * HOUR, 90 * 60)
    assert (done.entries_per_member, done.votes_per_member) == (2, 5)
    assert (done.min_account_age, done.min_member_age) == (30 * DAY, None)


def test_seconds_are_taken_as_they_are():
    done = validate(ContestOptions("t", "x", 10, 60, min_account_age=3600, min_member_age=0))
    assert (done.submissions, done.voting, done.min_account_age, done.min_member_age) == (
        10,
        60,
        3600,
        None,
    )


def test_every_problem_is_listed_at_once():
    with pytest.raises(InvalidContest) as caught:
        validate(ContestOptions("", "x" * 1001, "5s", "soon", 0, 99, "forever", 10**12))
    problems = caught.value.problems
    assert len(problems) == 8, problems
    text = caught.value.message
    for part in ("title", "theme", "Submissions must be at least 10 s", "Voting:", "Entries per",
                 "Votes per", "minimum account age", "minimum member age"):  # fmt: skip
        assert part in text


def test_the_rules_state_the_tie_rule_and_the_age_minimums():
    lines = m.rules(contest(min_account_age=7 * DAY, min_member_age=HOUR, entries_per_member=2))
    text = "\n".join(lines)
    assert "1, 1, 3" in text and "2 videos" in text and "3 votes" in text
    assert "7 d old" in text and "1 h in this server" in text
    assert not any(line.startswith("To vote you need") for line in m.rules(contest()))


def test_every_refusal_has_its_own_text():
    texts = {m.entry_refusal(r, contest()) for r in EntryRefusal}
    assert len(texts) == len(EntryRefusal)
    voting = contest(phase=Phase.VOTING, min_account_age=60, min_member_age=60)
    assert len({m.vote_refusal(r, voting) for r in VoteRefusal}) == len(VoteRefusal)
    assert "1 entry in Contest #3" in m.entry_refusal(EntryRefusal.LIMIT, contest())
    assert "3 entries in Contest #3" in m.entry_refusal(
        EntryRefusal.LIMIT, contest(entries_per_member=3)
    )


def test_a_window_that_closed_while_making_is_said_so():
    text = m.not_entered_after_delivery(contest(phase=Phase.VOTING), EntryRefusal.CLOSED)
    assert "closed while this video was being made" in text
    text = m.not_entered_after_delivery(contest(phase=Phase.CANCELLED), EntryRefusal.CLOSED)
    assert text == "Contest #3 was cancelled while this video was being made."
