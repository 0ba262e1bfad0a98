"""The voting side of the contest service (`ContestService` extends `ContestVoting`): a Vote
press, a Take back press, and a voter's own status.

The service checks what only it knows (the clock, bots, account and member age) and the store
refuses the rest itself (phase, own entry, the budget, a disqualified entry), so 50 presses at
once by one member still count at most `votes_per_member` votes, and a double click counts
once. Presses name the entry by its row id (the button's `custom_id`), so the contest is the
entry's; an entry of another server's contest is unknown here. Every answer is a `VoteOutcome`
with the votes left and the text to show; refusals raise `VoteRefused`.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.contests import messages as m
from bot.core.contests.domain import (
    Contest,
    Entry,
    Phase,
    VoteOutcome,
    VoteRecord,
    VoteRefusal,
    VoterStatus,
    VoteStatus,
)
from bot.core.contests.errors import EntryNotFound, VoteRefused
from bot.core.contests.ports import ContestStore


class ContestVoting:
    def __init__(self, store: ContestStore, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock

    async def vote(
        self,
        guild_id: int,
        entry_id: int,
        voter_id: int,
        *,
        voter_is_bot: bool,
        account_created_at: float,
        member_joined_at: float | None,
    ) -> VoteOutcome:
        """Count the member's vote for the entry (COUNTED), or say it already was
        (ALREADY_COUNTED, nothing changed). `account_created_at` is from the member's
        snowflake (`domain.account_created_at`); `member_joined_at` None counts as too new
        when the contest has a member-age minimum."""
        entry, contest = await self._entry_in_guild(guild_id, entry_id)
        now = self._clock()
        if voter_is_bot:
            raise self._refused(VoteRefusal.BOT, contest, entry)
        self._require_voting(contest, entry, now)
        if not entry.is_live:
            raise await self._refused_counting(VoteRefusal.ENTRY_GONE, contest, entry, voter_id)
        if entry.user_id == voter_id:
            raise await self._refused_counting(VoteRefusal.OWN_ENTRY, contest, entry, voter_id)
        if contest.min_account_age and now - account_created_at < contest.min_account_age:
            raise self._refused(VoteRefusal.ACCOUNT_TOO_NEW, contest, entry)
        if contest.min_member_age and (
            member_joined_at is None or now - member_joined_at < contest.min_member_age
        ):
            raise self._refused(VoteRefusal.MEMBER_TOO_NEW, contest, entry)
        record = await self._store.vote(entry, voter_id, now)
        if not isinstance(record, VoteRecord):
            raise await self._refused_counting(record, contest, entry, voter_id)
        left = contest.votes_per_member - record.used
        if record.changed:
            return VoteOutcome(
                VoteStatus.COUNTED, contest, entry, left, m.vote_counted(contest, entry, left)
            )
        return VoteOutcome(
            VoteStatus.ALREADY_COUNTED,
            contest,
            entry,
            left,
            m.vote_already_counted(contest, entry, left),
        )

    async def take_back(self, guild_id: int, entry_id: int, voter_id: int) -> VoteOutcome:
        """Remove the member's vote for the entry (TAKEN_BACK), or say there was none
        (NOT_VOTED); only while voting is open."""
        entry, contest = await self._entry_in_guild(guild_id, entry_id)
        self._require_voting(contest, entry, self._clock())
        record = await self._store.take_back(entry, voter_id)
        if not isinstance(record, VoteRecord):
            raise await self._refused_counting(record, contest, entry, voter_id)
        left = contest.votes_per_member - record.used
        if record.changed:
            text = m.vote_taken_back(contest, entry, left)
            return VoteOutcome(VoteStatus.TAKEN_BACK, contest, entry, left, text)
        text = m.vote_not_there(contest, entry, left)
        return VoteOutcome(VoteStatus.NOT_VOTED, contest, entry, left, text)

    async def voter_status(self, contest: Contest, voter_id: int) -> VoterStatus:
        """How many votes the member has used and left, and on which entries."""
        voted = await self._store.voted_entries(contest.id, voter_id)
        numbers = tuple(e.number for e in voted if e.number is not None)
        return VoterStatus(len(voted), contest.votes_per_member - len(voted), numbers)

    async def entry(self, guild_id: int, entry_id: int) -> tuple[Entry, Contest]:
        """An entry by its row id (from a button) with its contest; `EntryNotFound` if it is
        not part of a contest in this server."""
        return await self._entry_in_guild(guild_id, entry_id)

    async def _entry_in_guild(self, guild_id: int, entry_id: int) -> tuple[Entry, Contest]:
        entry = await self._store.entry(entry_id)
        contest = await self._store.get(entry.contest_id) if entry else None
        if entry is None or contest is None or contest.guild_id != guild_id:
            raise EntryNotFound(m.NO_SUCH_ENTRY)
        return entry, contest

    def _require_voting(self, contest: Contest, entry: Entry, now: float) -> None:
        if contest.phase is not Phase.VOTING or now >= contest.voting_close_at:
            raise self._refused(VoteRefusal.NOT_VOTING, contest, entry)

    def _refused(
        self, reason: VoteRefusal, contest: Contest, entry: Entry, left: int | None = None
    ) -> VoteRefused:
        return VoteRefused(reason, m.vote_refusal(reason, contest, entry, left))

    async def _refused_counting(
        self, reason: VoteRefusal, contest: Contest, entry: Entry, voter_id: int
    ) -> VoteRefused:
        """A refusal said with the contest as it is now (the database's may come from a race
        with a close or a disqualification), with the votes left when the member can still
        use them elsewhere (own entry, disqualified entry)."""
        contest = await self._store.get(contest.id) or contest
        entry = await self._store.entry(entry.id) or entry
        left = None
        if reason in (VoteRefusal.OWN_ENTRY, VoteRefusal.ENTRY_GONE):
            used = len(await self._store.voted_entries(contest.id, voter_id))
            left = contest.votes_per_member - used
        return self._refused(reason, contest, entry, left)
