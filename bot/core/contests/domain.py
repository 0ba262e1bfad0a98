"""Prompt contests as plain values: a contest and its phase, entries, votes, frozen results.

`db/contests.py` builds these from rows; the service returns them; the cog renders them.
Times are epoch seconds (floats), ages and durations whole seconds. Nothing here imports
discord or the database.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

TIE_RULE = (
    "Ties are not broken: entries with the same number of votes share a place, and the next "
    "place is skipped (1, 1, 3). A tie for first means joint winners."
)

DISCORD_EPOCH_MS = 1_420_070_400_000


def account_created_at(snowflake: int) -> float:
    """When a Discord account (or any snowflake) was created, in epoch seconds."""
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000


class Phase(StrEnum):
    SUBMISSIONS = "submissions"  # entering and withdrawing; entries are hidden
    VOTING = "voting"  # entries revealed with numbers; votes counted, counts hidden
    CLOSED = "closed"  # results frozen (or it ended with no entries)
    CANCELLED = "cancelled"  # stopped by a moderator; no results


OPEN_PHASES = frozenset({Phase.SUBMISSIONS, Phase.VOTING})


@dataclass(frozen=True)
class NewContest:
    """A validated contest to create; the repository gives it its per-server number."""

    guild_id: int
    channel_id: int
    title: str
    theme: str
    created_by: int
    created_at: float
    submissions_close_at: float
    voting_seconds: int
    entries_per_member: int = 1
    votes_per_member: int = 3
    min_account_age: int | None = None
    min_member_age: int | None = None


@dataclass(frozen=True)
class Contest:
    id: int  # the bot-wide row id
    guild_id: int
    number: int  # "Contest #N", counted per server: what members see and type
    channel_id: int
    title: str
    theme: str
    created_by: int
    created_at: float
    submissions_close_at: float  # the deadline; once closed, when they did close
    voting_seconds: int  # how long voting lasts once it opens
    voting_close_at: float  # the planned end, set again when voting opens; once closed, the end
    entries_per_member: int
    votes_per_member: int
    min_account_age: int | None  # seconds a voter's Discord account must be old; None: none
    min_member_age: int | None  # seconds a voter must have been in the server; None: none
    phase: Phase
    voting_opened_at: float | None
    ended_at: float | None  # closed or cancelled at
    announcement_message_id: int | None
    voting_message_id: int | None  # the "voting is open" post
    results_message_id: int | None  # the results post (or the "no entries" one)
    cancel_reason: str | None
    cancelled_by: int | None
    votes_cast: int = 0  # votes on live entries: the only figure public during voting

    @property
    def label(self) -> str:
        return f"Contest #{self.number}"

    @property
    def is_open(self) -> bool:
        return self.phase in OPEN_PHASES

    @property
    def deadline(self) -> float | None:
        """When the current phase ends by itself; None once the contest is over."""
        if self.phase is Phase.SUBMISSIONS:
            return self.submissions_close_at
        if self.phase is Phase.VOTING:
            return self.voting_close_at
        return None


@dataclass(frozen=True)
class Entry:
    id: int  # the bot-wide row id (in the Vote button's custom_id)
    contest_id: int
    number: int | None  # "Entry N", drawn in a shuffled order when submissions close
    job_id: int
    user_id: int  # the author: not shown before results
    prompt: str
    video_url: str | None
    message_id: int | None  # its reveal post
    entered_at: float
    withdrawn_at: float | None
    disqualified_at: float | None
    disqualified_by: int | None
    disqualify_reason: str | None

    @property
    def label(self) -> str:
        return (
            f"Entry {self.number}"
            if self.number is not None
            else f"the entry of Job #{self.job_id}"
        )

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def disqualified(self) -> bool:
        return self.disqualified_at is not None

    @property
    def is_live(self) -> bool:
        """Still in the running: neither withdrawn nor disqualified."""
        return self.withdrawn_at is None and self.disqualified_at is None


@dataclass(frozen=True)
class Vote:
    contest_id: int
    entry_id: int
    voter_id: int
    created_at: float


@dataclass(frozen=True)
class JobLink:
    """A job made with `/video contest:<n>`: the contest to enter it in once delivered."""

    job_id: int
    contest_id: int
    settled_at: float | None  # entered or refused: nothing more to do
    outcome: str | None  # "entered", or an EntryRefusal value


class EntryRefusal(StrEnum):
    NOT_YOURS = "not_yours"
    OTHER_SERVER = "other_server"
    NOT_DELIVERED = "not_delivered"
    BEFORE_CONTEST = "before_contest"  # made before the contest opened
    CLOSED = "closed"  # not in the submissions window
    LIMIT = "limit"  # the member's entry limit is reached
    ALREADY_ENTERED = "already_entered"  # this job is already a live entry


class VoteRefusal(StrEnum):
    NOT_VOTING = "not_voting"
    ENTRY_GONE = "entry_gone"  # withdrawn or disqualified
    OWN_ENTRY = "own_entry"
    BOT = "bot"
    ACCOUNT_TOO_NEW = "account_too_new"
    MEMBER_TOO_NEW = "member_too_new"
    BUDGET = "budget"


@dataclass(frozen=True)
class VoteRecord:
    """What the store did with a press. Vote: `changed` False means it was counted before;
    take back: `changed` False means there was no such vote."""

    changed: bool
    used: int  # the voter's votes on live entries in this contest, after the press


class VoteStatus(StrEnum):
    COUNTED = "counted"
    ALREADY_COUNTED = "already_counted"  # a second press: nothing changed
    TAKEN_BACK = "taken_back"
    NOT_VOTED = "not_voted"  # Take back on a vote that was not there: nothing changed


@dataclass(frozen=True)
class VoteOutcome:
    """The answer to a Vote or Take back press; `message` is what the member reads."""

    status: VoteStatus
    contest: Contest
    entry: Entry
    votes_left: int
    message: str


@dataclass(frozen=True)
class VoterStatus:
    """A member's votes in one contest (for /contest show)."""

    used: int
    left: int
    entry_numbers: tuple[int, ...]  # the live entries they voted for


@dataclass(frozen=True)
class ResultRow:
    place: int  # competition ranking: tied entries share a place, the next one is skipped
    entry: Entry  # its number, author (user_id), prompt, video and reveal post
    votes: int
    tied: bool  # another entry has the same place


@dataclass(frozen=True)
class ContestResults:
    contest: Contest
    rows: tuple[ResultRow, ...]  # rank order; within a place, by entry number
    disqualified: tuple[Entry, ...]  # left out of the ranking, with their reasons
    tie_rule: str = TIE_RULE

    @property
    def no_entries(self) -> bool:
        return not self.rows

    @property
    def no_votes(self) -> bool:
        return all(row.votes == 0 for row in self.rows)

    @property
    def winners(self) -> tuple[ResultRow, ...]:
        """First place (several on a tie); nobody wins when no votes were cast."""
        return tuple(r for r in self.rows if r.place == 1 and r.votes > 0)

    @property
    def ties(self) -> tuple[tuple[ResultRow, ...], ...]:
        """Each shared place, as the rows that share it, best place first."""
        groups: dict[int, list[ResultRow]] = {}
        for row in self.rows:
            groups.setdefault(row.place, []).append(row)
        return tuple(tuple(g) for g in groups.values() if len(g) > 1)


class ChangeKind(StrEnum):
    VOTING_OPENED = "voting_opened"  # submissions closed: reveal `entries`, post Vote buttons
    NO_ENTRIES = "no_entries"  # submissions closed with nothing entered: the contest is over
    RESULTS = "results"  # voting closed: `results` are frozen, post them


@dataclass(frozen=True)
class PhaseChange:
    """A phase change that this call made (another tick's change is not reported twice)."""

    kind: ChangeKind
    contest: Contest  # as it is after the change
    entries: tuple[Entry, ...] = ()  # VOTING_OPENED: every live entry, Entry 1 first
    results: ContestResults | None = None  # RESULTS
    closed_by: int | None = None  # the moderator who ended the phase early, if one did


K = TypeVar("K", bound=Hashable)


def competition_ranking(
    votes: Mapping[K, int], order: Sequence[K] = ()
) -> list[tuple[int, K, int]]:
    """(place, key, votes), most votes first, ties sharing a place and the next one skipped
    (1, 1, 3). Within a place keys keep `order` (default: the mapping's own order)."""
    position = {key: i for i, key in enumerate(order or list(votes))}
    ranked = sorted(votes, key=lambda k: (-votes[k], position.get(k, len(position))))
    out: list[tuple[int, K, int]] = []
    for i, key in enumerate(ranked):
        place = out[-1][0] if out and out[-1][2] == votes[key] else i + 1
        out.append((place, key, votes[key]))
    return out


def shuffled_numbers(entry_ids: Iterable[int], seed: int) -> dict[int, int]:
    """Entry id -> shown number 1..n in an order drawn from `seed` (the same seed and ids
    give the same numbers, whatever order the ids come in)."""
    ids = sorted(entry_ids)
    random.Random(seed).shuffle(ids)
    return {entry_id: n for n, entry_id in enumerate(ids, start=1)}
