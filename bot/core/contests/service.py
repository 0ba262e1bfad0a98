"""The contest service the cog and the ticker call: create, enter, vote, advance, results.

Discord-free; time comes from the injected clock, the shuffle of entry numbers from the injected
random source. Contests are named by their per-server number (`Contest #N`, what members see and
type) together with the server id, so another server's contest is simply unknown; entries by
their row id (the Vote button's `custom_id`) or, for moderators, their shown number. Every
refusal is a `ContestError` (a `UserFacingError`) whose message is written for the member.

Phases: submissions -> voting -> closed, or -> cancelled by a moderator. `due()` lists the
contests whose deadline has passed and `advance()` moves one on (None if another tick did);
`tick()` does both and is what the ticker runs every few seconds and once at start, so a deadline
that passed while the bot was down is caught up. When submissions close, voting lasts
`voting_seconds` from then: a deadline caught up late, or a phase ended early by a moderator,
moves the voting deadline accordingly (the cog edits the card); a tick at most `catch_up_grace`
(and a tenth of the voting time) late keeps the announced one. The voting side (votes,
take-backs, a voter's status) is in `bot.core.contests.voting`, which this class extends.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from bot.core.contests import messages as m
from bot.core.contests.domain import (
    OPEN_PHASES,
    ChangeKind,
    Contest,
    ContestResults,
    Entry,
    EntryRefusal,
    NewContest,
    Phase,
    PhaseChange,
    ResultRow,
)
from bot.core.contests.errors import (
    ContestNotFound,
    EntryNotFound,
    EntryRefused,
    TooManyContests,
    WrongPhase,
)
from bot.core.contests.ports import ContestStore
from bot.core.contests.setup import ContestOptions, validate
from bot.core.contests.voting import ContestVoting
from bot.core.domain import Job, JobStatus

log = logging.getLogger(__name__)

MAX_OPEN = 10  # running contests per server at once
# How late a tick may close submissions and still keep the announced voting deadline (and at
# most a tenth of the voting time, so a short test contest keeps most of its voting).
CATCH_UP_GRACE = 60.0
ALL_PHASES = frozenset(Phase)


class ContestService(ContestVoting):
    def __init__(
        self,
        store: ContestStore,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        max_open: int = MAX_OPEN,
        catch_up_grace: float = CATCH_UP_GRACE,
    ) -> None:
        super().__init__(store, clock)
        self._rng = rng or random.SystemRandom()
        self._max_open = max_open
        self._grace = catch_up_grace

    # --- creating and reading ------------------------------------------------------------

    async def create(
        self,
        guild_id: int,
        channel_id: int,
        created_by: int,
        *,
        title: str,
        theme: str,
        submissions: str | int,
        voting: str | int,
        entries_per_member: int = 1,
        votes_per_member: int = 3,
        min_account_age: str | int | None = None,
        min_member_age: str | int | None = None,
    ) -> Contest:
        """Durations as members type them ("2d 6h") or as seconds; ages None/"" for none.
        Raises `InvalidContest` listing every problem, or `TooManyContests`."""
        options = validate(
            ContestOptions(
                title,
                theme,
                submissions,
                voting,
                entries_per_member,
                votes_per_member,
                min_account_age,
                min_member_age,
            )
        )
        now = self._clock()
        new = NewContest(
            guild_id=guild_id,
            channel_id=channel_id,
            title=options.title,
            theme=options.theme,
            created_by=created_by,
            created_at=now,
            submissions_close_at=now + options.submissions,
            voting_seconds=options.voting,
            entries_per_member=options.entries_per_member,
            votes_per_member=options.votes_per_member,
            min_account_age=options.min_account_age,
            min_member_age=options.min_member_age,
        )
        contest = await self._store.create(new, self._max_open)
        if contest is None:
            raise TooManyContests(m.too_many_open(self._max_open))
        log.info("contest %d created in guild %d", contest.id, guild_id)
        return contest

    async def get(self, guild_id: int, number: int) -> Contest:
        """`Contest #number` of this server, or `ContestNotFound`."""
        contest = await self._store.by_number(guild_id, number)
        if contest is None:
            raise ContestNotFound(number)
        return contest

    async def refresh(self, contest: Contest) -> Contest:
        """The contest as stored now (e.g. to redraw its card)."""
        return await self._store.get(contest.id) or contest

    async def list_open(self, guild_id: int, phase: Phase | None = None) -> list[Contest]:
        """Running contests, newest first; `phase` narrows it (SUBMISSIONS for autocomplete
        of contests open for entries)."""
        phases = frozenset({phase}) if phase else OPEN_PHASES
        return await self._store.in_guild(guild_id, phases, self._max_open)

    async def recent(self, guild_id: int, limit: int = 10) -> list[Contest]:
        """Every contest, ended ones too, newest first."""
        return await self._store.in_guild(guild_id, ALL_PHASES, limit)

    # --- entering ------------------------------------------------------------------------

    async def check_can_enter(self, guild_id: int, number: int, user_id: int) -> Contest:
        """For /video contest:<n> at acceptance: the window is open and the member has room.
        Raises `EntryRefused` (CLOSED or LIMIT). The limit is checked again, by the database,
        when the delivered video is entered."""
        contest = await self.get(guild_id, number)
        self._require_submissions(contest)
        entries = await self._store.member_entries(contest.id, user_id)
        if len(entries) >= contest.entries_per_member:
            raise EntryRefused(EntryRefusal.LIMIT, m.entry_refusal(EntryRefusal.LIMIT, contest))
        return contest

    async def enter(self, guild_id: int, number: int, user_id: int, job: Job) -> Entry:
        """Enter one of the member's own delivered videos of this server, made after the
        contest opened, during submissions. Raises `EntryRefused` with the reason."""
        contest = await self.get(guild_id, number)
        reason = self._ineligible(contest, user_id, job)
        if reason is None:
            found = await self._store.enter(contest.id, job.id, user_id, self._clock())
            if isinstance(found, Entry):
                log.info("job %d entered in contest %d", job.id, contest.id)
                return found
            reason = found
            if reason is EntryRefusal.CLOSED:
                contest = await self.refresh(contest)
        raise EntryRefused(reason, m.entry_refusal(reason, contest, job))

    def _ineligible(self, contest: Contest, user_id: int, job: Job) -> EntryRefusal | None:
        if job.guild_id != contest.guild_id:
            return EntryRefusal.OTHER_SERVER
        if job.user_id != user_id:
            return EntryRefusal.NOT_YOURS
        if contest.phase is not Phase.SUBMISSIONS or self._clock() >= contest.submissions_close_at:
            return EntryRefusal.CLOSED
        if job.status is not JobStatus.DELIVERED or not job.video_url:
            return EntryRefusal.NOT_DELIVERED
        if job.created_at < contest.created_at:
            return EntryRefusal.BEFORE_CONTEST
        return None

    async def eligible_jobs(
        self, guild_id: int, user_id: int, number: int, limit: int = 25
    ) -> list[Job]:
        """For autocomplete: the member's jobs `enter` would take, newest first; none when
        the contest is unknown or not taking entries."""
        contest = await self._store.by_number(guild_id, number)
        if contest is None or contest.phase is not Phase.SUBMISSIONS:
            return []
        if self._clock() >= contest.submissions_close_at:
            return []
        jobs = await self._store.eligible_jobs(contest.id, user_id, limit)
        return [j for j in jobs if j.video_url]

    async def my_entries(self, guild_id: int, number: int, user_id: int) -> list[Entry]:
        """The member's live entries in the contest."""
        contest = await self.get(guild_id, number)
        return await self._store.member_entries(contest.id, user_id)

    async def withdraw(
        self, guild_id: int, number: int, user_id: int, job_id: int | None = None
    ) -> Entry:
        """Take the member's entry back while submissions are open; `job_id` says which when
        they have several."""
        contest = await self.get(guild_id, number)
        self._require_submissions(contest)
        mine = await self._store.member_entries(contest.id, user_id)
        if job_id is not None:
            mine = [e for e in mine if e.job_id == job_id]
        if not mine:
            raise EntryNotFound(m.no_entry_to_withdraw(contest, job_id))
        if len(mine) > 1:
            raise EntryNotFound(m.which_entry(contest, mine))
        gone = await self._store.withdraw(mine[0].id, self._clock())
        if gone is None:
            contest = await self.refresh(contest)
            raise EntryRefused(EntryRefusal.CLOSED, m.not_accepting(contest))
        return gone

    def _require_submissions(self, contest: Contest) -> None:
        if contest.phase is not Phase.SUBMISSIONS or self._clock() >= contest.submissions_close_at:
            raise EntryRefused(EntryRefusal.CLOSED, m.not_accepting(contest))

    # --- moderators ----------------------------------------------------------------------

    async def close_phase_now(self, guild_id: int, number: int, actor_id: int) -> PhaseChange:
        """End the current phase now (submissions -> voting, voting -> closed)."""
        contest = await self.get(guild_id, number)
        if not contest.is_open:
            raise WrongPhase(m.phase_over(contest))
        change = await self._advance(contest, self._clock(), closed_by=actor_id)
        if change is None:
            raise WrongPhase(m.moved_on(contest))
        return change

    async def cancel(
        self, guild_id: int, number: int, actor_id: int, reason: str | None = None
    ) -> Contest:
        contest = await self.get(guild_id, number)
        cancelled = await self._store.cancel(
            contest.id, actor_id, (reason or "").strip() or None, self._clock()
        )
        if cancelled is None:
            raise WrongPhase(m.cannot_cancel(await self.refresh(contest)))
        log.info("contest %d cancelled by %d", contest.id, actor_id)
        return cancelled

    async def disqualify(
        self, guild_id: int, number: int, entry_number: int, actor_id: int, reason: str
    ) -> Entry:
        """During voting, by the entry's shown number; its votes stop counting and its
        voters get those votes back."""
        reason = reason.strip()
        if not reason:
            raise WrongPhase(m.REASON_NEEDED)
        contest = await self.get(guild_id, number)
        if contest.phase is not Phase.VOTING:
            raise WrongPhase(m.disqualify_when(contest))
        entry = await self._store.entry_by_number(contest.id, entry_number)
        if entry is None:
            raise EntryNotFound(m.no_entry_number(contest, entry_number))
        if entry.disqualified:
            raise WrongPhase(m.already_disqualified(entry))
        done = await self._store.disqualify(entry.id, actor_id, reason, self._clock())
        if done is None:
            raise WrongPhase(m.disqualify_when(await self.refresh(contest)))
        return done

    # --- phases --------------------------------------------------------------------------

    async def due(self, now: float | None = None) -> list[Contest]:
        """Running contests whose phase deadline has passed (default: by the clock)."""
        return await self._store.due(self._clock() if now is None else now)

    async def advance(self, contest: Contest) -> PhaseChange | None:
        """Move a due contest to its next phase; None if it is not due (any more) or another
        tick moved it first."""
        now = self._clock()
        if contest.deadline is None or contest.deadline > now:
            return None
        return await self._advance(contest, now, closed_by=None)

    async def tick(self, only: Callable[[int], bool] | None = None) -> list[PhaseChange]:
        """Advance every due contest (`only`: of the servers it accepts, by id); one that
        fails is logged and left for the next tick."""
        changes = []
        for contest in await self.due():
            if only is not None and not only(contest.guild_id):
                continue
            try:
                change = await self.advance(contest)
            except Exception:
                log.exception("advancing contest %d failed", contest.id)
                continue
            if change is not None:
                changes.append(change)
        return changes

    async def _advance(
        self, contest: Contest, now: float, closed_by: int | None
    ) -> PhaseChange | None:
        if contest.phase is Phase.SUBMISSIONS:
            # A tick a little late keeps the announced voting deadline; one much later (the
            # bot was down) gives voting its full length from now, so members can still vote.
            late = now - contest.submissions_close_at
            grace = min(self._grace, contest.voting_seconds / 10)
            on_time = closed_by is None and late <= grace
            opened = contest.submissions_close_at if on_time else now
            seed = self._rng.randrange(2**62)
            moved = await self._store.open_voting(
                contest.id, min(opened, now), opened + contest.voting_seconds, seed
            )
            if moved is None:
                return None
            log.info("contest %d: submissions closed (%s)", contest.id, moved.phase)
            if moved.phase is Phase.CLOSED:
                return PhaseChange(ChangeKind.NO_ENTRIES, moved, closed_by=closed_by)
            entries = tuple(await self._store.entries(moved.id))
            return PhaseChange(ChangeKind.VOTING_OPENED, moved, entries, closed_by=closed_by)
        if contest.phase is Phase.VOTING:
            closed = await self._store.close_voting(contest.id, now)
            if closed is None:
                return None
            log.info("contest %d: voting closed, results frozen", contest.id)
            results = await self.results(closed)
            return PhaseChange(ChangeKind.RESULTS, closed, results=results, closed_by=closed_by)
        return None

    # --- what the posts show -------------------------------------------------------------

    async def entries(self, contest: Contest, *, live_only: bool = True) -> list[Entry]:
        """In shown order; `live_only=False` adds withdrawn and disqualified ones (e.g. to
        take the buttons off every reveal post)."""
        return await self._store.entries(contest.id, live_only=live_only)

    async def results(self, contest: Contest) -> ContestResults:
        """The frozen results of a closed contest, in rank order (empty: no entries)."""
        if contest.phase is not Phase.CLOSED:
            contest = await self.refresh(contest)
            if contest.phase is not Phase.CLOSED:
                raise WrongPhase(m.no_results(contest))
        rows = await self._store.results(contest.id)
        places = [place for place, _, _ in rows]
        ranked = tuple(
            ResultRow(place, entry, votes, places.count(place) > 1) for place, entry, votes in rows
        )
        everyone = await self._store.entries(contest.id, live_only=False)
        return ContestResults(contest, ranked, tuple(e for e in everyone if e.disqualified))

    async def votes_cast(self, contest: Contest) -> int:
        """Votes on live entries so far: the one figure public during voting."""
        return (await self.refresh(contest)).votes_cast

    async def needing_posts(self) -> list[Contest]:
        """Contests whose reveal or results post is missing (after a crash); for start-up."""
        return await self._store.needing_posts()

    async def set_announcement(self, contest: Contest, message_id: int) -> None:
        await self._store.set_message(contest.id, "announcement", message_id)

    async def set_voting_message(self, contest: Contest, message_id: int) -> None:
        await self._store.set_message(contest.id, "voting", message_id)

    async def set_results_message(self, contest: Contest, message_id: int) -> None:
        """The results post, or the "no entries" one."""
        await self._store.set_message(contest.id, "results", message_id)

    async def set_entry_message(self, entry: Entry, message_id: int) -> None:
        await self._store.set_entry_message(entry.id, message_id)
