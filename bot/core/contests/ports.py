"""What the contest service needs from storage, as a Protocol (`db.contests.ContestRepo` is the
sqlite one).

The store, not the service, holds the fairness rules: an entry over the member's limit, a vote
over the budget, for one's own entry or outside the voting phase is refused by the store itself
(returned as an `EntryRefusal` / `VoteRefusal`), and every phase change is a compare-and-set
that returns None when the contest was no longer in the phase it was changed from.
"""

from __future__ import annotations

from typing import Literal, Protocol

from bot.core.contests.domain import (
    Contest,
    Entry,
    EntryRefusal,
    JobLink,
    NewContest,
    Phase,
    VoteRecord,
    VoteRefusal,
)
from bot.core.domain import Job

MessageKind = Literal["announcement", "voting", "results"]


class ContestStore(Protocol):
    async def create(self, new: NewContest, max_open: int) -> Contest | None:
        """Numbered next in its server; None when `max_open` contests are running there."""
        ...

    async def get(self, contest_id: int) -> Contest | None: ...
    async def by_number(self, guild_id: int, number: int) -> Contest | None: ...
    async def in_guild(
        self, guild_id: int, phases: frozenset[Phase], limit: int
    ) -> list[Contest]: ...
    async def due(self, now: float) -> list[Contest]: ...
    async def needing_posts(self) -> list[Contest]: ...
    async def set_message(self, contest_id: int, kind: MessageKind, message_id: int) -> None: ...

    async def enter(
        self, contest_id: int, job_id: int, user_id: int, at: float
    ) -> Entry | EntryRefusal: ...
    async def withdraw(self, entry_id: int, at: float) -> Entry | None: ...
    async def entry(self, entry_id: int) -> Entry | None: ...
    async def entry_by_number(self, contest_id: int, number: int) -> Entry | None: ...
    async def entries(self, contest_id: int, *, live_only: bool = True) -> list[Entry]: ...
    async def member_entries(self, contest_id: int, user_id: int) -> list[Entry]: ...
    async def set_entry_message(self, entry_id: int, message_id: int) -> None: ...
    async def eligible_jobs(self, contest_id: int, user_id: int, limit: int) -> list[Job]: ...
    async def disqualify(
        self, entry_id: int, actor_id: int, reason: str, at: float
    ) -> Entry | None: ...

    async def vote(self, entry: Entry, voter_id: int, at: float) -> VoteRecord | VoteRefusal: ...
    async def take_back(self, entry: Entry, voter_id: int) -> VoteRecord | VoteRefusal: ...
    async def voted_entries(self, contest_id: int, voter_id: int) -> list[Entry]: ...

    async def open_voting(
        self, contest_id: int, opened_at: float, voting_close_at: float, seed: int
    ) -> Contest | None:
        """submissions -> voting with shuffled entry numbers, or -> closed with no entries."""
        ...

    async def close_voting(self, contest_id: int, at: float) -> Contest | None:
        """voting -> closed and the tally frozen, in one transaction."""
        ...

    async def cancel(
        self, contest_id: int, actor_id: int, reason: str | None, at: float
    ) -> Contest | None: ...
    async def results(self, contest_id: int) -> list[tuple[int, Entry, int]]:
        """The frozen (place, entry, votes) rows, in rank order."""
        ...


class JobContestStore(Protocol):
    """Videos made with `/video contest:<n>`: the link is written with the job (0007); it is
    settled once, when the delivered video was entered or refused."""

    async def link_of(self, job_id: int) -> JobLink | None: ...
    async def settle(self, job_id: int, outcome: str, at: float) -> bool:
        """Compare-and-set: True for the one call that settled it."""
        ...

    async def unsettled_delivered(self, limit: int) -> list[int]:
        """Delivered jobs whose link is not settled (a crash after delivery), oldest first."""
        ...
