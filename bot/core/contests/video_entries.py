"""`/video ... contest:<n>`: checked when the job is accepted, entered when it is delivered.

At acceptance `check` refuses (window closed, entry limit reached) before anything is charged;
the job row then carries the contest (`JobService.accept(contest_id=...)`, migration 0007). The
accept transaction counts again, with the member's videos for the contest still being made, so
two started together with room for one give one job and one refusal (`contest_refusal`).
Once the video is delivered, `settle` enters it, or says why it could not be (most often: the
window closed while it was being made). Settling is a compare-and-set on the link, so the
sink that saw the delivery and the start-up sweep after a crash never both report it; an entry
made just before a crash is found again as ALREADY_ENTERED and reported as entered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.contests import messages as m
from bot.core.contests.domain import Contest, Entry, EntryRefusal
from bot.core.contests.errors import EntryRefused
from bot.core.contests.ports import ContestStore, JobContestStore
from bot.core.contests.service import ContestService
from bot.core.domain import Job, JobStatus, Refusal

log = logging.getLogger(__name__)

ENTERED = "entered"
# The accept transaction's refusals for /video contest:<n> (db.contest_jobs.contest_room).
CONTEST_REFUSALS = frozenset({"contest_limit", "contest_closed"})


def contest_refusal(refusal: Refusal) -> EntryRefused:
    """The member's answer when the accept transaction found no room in the contest."""
    if refusal.reason == "contest_limit":
        text = m.limit_at_acceptance(
            refusal.contest_number or 0, refusal.entry_limit, refusal.used, refusal.active
        )
        return EntryRefused(EntryRefusal.LIMIT, text)
    return EntryRefused(EntryRefusal.CLOSED, m.closed_at_acceptance(refusal.contest_number))


@dataclass(frozen=True)
class VideoEntryOutcome:
    """What became of a delivered `/video contest:<n>` job; `message` is for its author."""

    job: Job
    contest: Contest
    entry: Entry | None  # None: refused, see `refusal`
    refusal: EntryRefusal | None
    message: str


class VideoEntries:
    def __init__(
        self,
        contests: ContestService,
        store: ContestStore,
        links: JobContestStore,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._contests = contests
        self._store = store
        self._links = links
        self._clock = clock

    async def check(self, guild_id: int, number: int, user_id: int) -> Contest:
        """Before the job is accepted: raises `EntryRefused` / `ContestNotFound`."""
        return await self._contests.check_can_enter(guild_id, number, user_id)

    async def settle(self, job: Job) -> VideoEntryOutcome | None:
        """Enter a delivered job in its contest; None when it has no contest, was settled
        already, or is not delivered (a failed job has nothing to enter)."""
        if job.status is not JobStatus.DELIVERED:
            return None
        link = await self._links.link_of(job.id)
        if link is None or link.settled_at is not None:
            return None
        contest = await self._store.get(link.contest_id)
        if contest is None:
            return None
        entry: Entry | None = None
        refusal: EntryRefusal | None = None
        try:
            entry = await self._contests.enter(contest.guild_id, contest.number, job.user_id, job)
        except EntryRefused as exc:
            refusal = exc.reason
        if refusal is EntryRefusal.ALREADY_ENTERED:  # entered just before a crash
            found = await self._store.member_entries(contest.id, job.user_id)
            entry = next((e for e in found if e.job_id == job.id), None)
            refusal = None if entry else refusal
        outcome = ENTERED if entry else str(refusal)
        if not await self._links.settle(job.id, outcome, self._clock()):
            return None  # another path reported it
        contest = await self._contests.refresh(contest)
        if entry is not None:
            log.info("job %d entered in contest %d from /video", job.id, contest.id)
            return VideoEntryOutcome(job, contest, entry, None, m.entered(contest, entry))
        assert refusal is not None
        text = m.not_entered_after_delivery(contest, refusal)
        return VideoEntryOutcome(job, contest, None, refusal, text)

    async def unsettled(self, limit: int = 100) -> list[int]:
        """Delivered jobs whose entry is still to be made (after a crash): for start-up."""
        return await self._links.unsettled_delivered(limit)
