"""ContestService over real sqlite: creating, entering (and every refusal), withdrawing, voting
(and every refusal), phases on time and caught up late, moderator actions, and the results."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import replace
from typing import Any

import pytest

from bot.core.contests import (
    ChangeKind,
    Contest,
    ContestNotFound,
    ContestService,
    Entry,
    EntryNotFound,
    EntryRefusal,
    EntryRefused,
    Phase,
    TooManyContests,
    VoteRefusal,
    VoteRefused,
    VoteStatus,
    WrongPhase,
)
from bot.core.domain import JobStatus
from db.contests import ContestRepo
from db.database import Database
from tests.integration.test_contests_db import delivered_job

GUILD, OTHER, MOD = 1, 2, 99
OLD = 0.0  # an account or membership from 1970: old enough for any minimum


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(db: Database, clock: Clock) -> ContestService:
    return ContestService(ContestRepo(db), clock=clock, rng=random.Random(11))


async def create(service: ContestService, **kw: Any) -> Contest:
    options: dict[str, Any] = {"title": "Boats", "theme": "paper boats", "submissions": "1h"}
    options |= {"voting": "1d"} | kw
    guild = options.pop("guild", GUILD)
    return await service.create(guild, 2, MOD, **options)


async def enter(service: ContestService, db: Database, contest: Contest, user: int) -> Entry:
    job = await delivered_job(db, user, guild=contest.guild_id, prompt=f"boat by {user}")
    return await service.enter(contest.guild_id, contest.number, user, job)


async def to_voting(
    service: ContestService, db: Database, clock: Clock, authors: list[int], **kw: Any
) -> tuple[Contest, dict[int, Entry]]:
    """A contest in voting, on time, with one entry per author; entries by author."""
    contest = await create(service, **kw)
    for user in authors:
        await enter(service, db, contest, user)
    clock.advance(contest.submissions_close_at - clock.now)
    (change,) = await service.tick()
    assert change.kind is ChangeKind.VOTING_OPENED
    return change.contest, {e.user_id: e for e in change.entries}


async def vote(service: ContestService, entry: Entry, voter: int, **kw: Any) -> Any:
    ages: dict[str, Any] = {"voter_is_bot": False, "account_created_at": OLD}
    ages |= {"member_joined_at": OLD} | kw
    return await service.vote(GUILD, entry.id, voter, **ages)


async def refused(call: Any) -> str:
    """The reason of the refusal `call` raises."""
    with pytest.raises((EntryRefused, VoteRefused)) as caught:
        await call
    return str(caught.value.reason)  # type: ignore[union-attr]


# --- creating and reading ------------------------------------------------------------------


async def test_create_parses_durations_and_numbers_contests_per_server(service, clock):
    first = await create(service, submissions="2d 6h", voting="90m", min_account_age="7d")
    assert (first.number, first.label, first.phase) == (1, "Contest #1", Phase.SUBMISSIONS)
    assert first.submissions_close_at == clock.now + 2 * 86400 + 6 * 3600
    assert first.voting_close_at == first.submissions_close_at + 5400
    assert (first.entries_per_member, first.votes_per_member) == (1, 3)
    assert (first.min_account_age, first.min_member_age) == (7 * 86400, None)
    assert (await create(service)).number == 2
    assert (await create(service, guild=OTHER)).number == 1
    assert await service.get(GUILD, 2) != await service.get(OTHER, 1)
    with pytest.raises(ContestNotFound, match="no Contest #2 in this server"):
        await service.get(OTHER, 2)  # another server's contest is unknown
    for _ in range(8):
        await create(service)
    with pytest.raises(TooManyContests, match="already has 10 contests running"):
        await create(service)


async def test_list_open_and_recent(service, db, clock):
    voting, _ = await to_voting(service, db, clock, [10])
    running = await create(service)
    ended = await create(service)
    await service.cancel(GUILD, ended.number, MOD, "test")
    assert [c.number for c in await service.list_open(GUILD)] == [running.number, voting.number]
    assert [c.id for c in await service.list_open(GUILD, Phase.SUBMISSIONS)] == [running.id]
    assert [c.id for c in await service.list_open(GUILD, Phase.VOTING)] == [voting.id]
    assert [c.number for c in await service.recent(GUILD)] == [3, 2, 1]
    assert [c.number for c in await service.recent(GUILD, limit=1)] == [3]


# --- entering ------------------------------------------------------------------------------


async def test_each_refused_entry_says_why(service, db, clock):
    contest = await create(service, entries_per_member=1)
    before = replace(await delivered_job(db, 10), created_at=contest.created_at - 1)
    mine = await delivered_job(db, 10)
    theirs = await delivered_job(db, 11)
    elsewhere = await delivered_job(db, 10, guild=OTHER)
    running = replace(mine, status=JobStatus.RUNNING)
    n = contest.number
    for reason, job in [
        (EntryRefusal.NOT_YOURS, theirs),
        (EntryRefusal.OTHER_SERVER, elsewhere),
        (EntryRefusal.NOT_DELIVERED, running),
        (EntryRefusal.BEFORE_CONTEST, before),
    ]:
        assert await refused(service.enter(GUILD, n, 10, job)) == reason
    await service.enter(GUILD, n, 10, mine)
    assert await refused(service.enter(GUILD, n, 10, mine)) == EntryRefusal.ALREADY_ENTERED
    another = await delivered_job(db, 10)
    with pytest.raises(EntryRefused, match="1 entry in Contest #1") as limit:
        await service.enter(GUILD, n, 10, another)
    assert limit.value.reason is EntryRefusal.LIMIT
    clock.advance(3600)  # the deadline passed; the tick has not run yet
    assert await refused(service.enter(GUILD, n, 11, theirs)) == EntryRefusal.CLOSED


async def test_enter_is_refused_by_the_database_when_the_phase_moved_meanwhile(service, db):
    contest = await create(service)
    job = await delivered_job(db, 10)
    await db.execute("UPDATE contests SET phase = 'cancelled' WHERE id = ?", (contest.id,))
    with pytest.raises(EntryRefused, match="cancelled"):
        await service.enter(GUILD, contest.number, 10, job)


async def test_check_can_enter_at_acceptance(service, db, clock):
    contest = await create(service)
    assert (await service.check_can_enter(GUILD, contest.number, 10)).id == contest.id
    await enter(service, db, contest, 10)
    assert await refused(service.check_can_enter(GUILD, contest.number, 10)) == "limit"
    clock.advance(3600)
    assert await refused(service.check_can_enter(GUILD, contest.number, 11)) == "closed"
    with pytest.raises(ContestNotFound):
        await service.check_can_enter(OTHER, contest.number, 10)


async def test_eligible_jobs_offer_only_what_enter_would_take(service, db, clock):
    old = await delivered_job(db, 10)
    await db.execute("UPDATE jobs SET created_at = 0 WHERE id = ?", (old.id,))
    contest = await create(service, entries_per_member=3)
    jobs = [await delivered_job(db, 10) for _ in range(3)]
    await delivered_job(db, 11)
    await service.enter(GUILD, contest.number, 10, jobs[0])
    offered = await service.eligible_jobs(GUILD, 10, contest.number)
    assert [j.id for j in offered] == [jobs[2].id, jobs[1].id]
    assert await service.eligible_jobs(OTHER, 10, contest.number) == []
    clock.advance(3600)
    assert await service.eligible_jobs(GUILD, 10, contest.number) == []


async def test_withdraw(service, db, clock):
    contest = await create(service, entries_per_member=2)
    first = await enter(service, db, contest, 10)
    second = await enter(service, db, contest, 10)
    with pytest.raises(EntryNotFound, match="say which one"):
        await service.withdraw(GUILD, contest.number, 10)
    gone = await service.withdraw(GUILD, contest.number, 10, job_id=first.job_id)
    assert gone.withdrawn and gone.id == first.id
    assert [e.id for e in await service.my_entries(GUILD, contest.number, 10)] == [second.id]
    with pytest.raises(EntryNotFound, match="You have no entry"):
        await service.withdraw(GUILD, contest.number, 11)
    clock.advance(3600)
    assert await refused(service.withdraw(GUILD, contest.number, 10)) == "closed"


# --- phases --------------------------------------------------------------------------------


async def test_voting_opens_on_time_with_shuffled_numbers_and_keeps_its_deadline(
    service, db, clock
):
    contest = await create(service)
    entries = [await enter(service, db, contest, u) for u in range(10, 16)]
    assert await service.due() == [] and await service.advance(contest) is None  # not due
    clock.advance(3600 + 5)  # a tick a few seconds late
    assert [c.id for c in await service.due()] == [contest.id]
    (change,) = await service.tick()
    assert change.kind is ChangeKind.VOTING_OPENED and change.closed_by is None
    assert [e.number for e in change.entries] == [1, 2, 3, 4, 5, 6]
    assert [e.job_id for e in change.entries] != [e.job_id for e in entries]  # shuffled
    assert change.contest.voting_close_at == contest.voting_close_at  # as announced
    assert await service.tick() == []


async def test_deadlines_missed_while_down_are_caught_up_with_full_voting(service, db, clock):
    contest = await create(service, voting="1h")
    await enter(service, db, contest, 10)
    empty = await create(service)
    clock.advance(3 * 86400)  # both deadlines passed while the bot was down
    change, nothing = await service.tick()
    assert (nothing.kind, nothing.contest.id) == (ChangeKind.NO_ENTRIES, empty.id)
    assert nothing.contest.phase is Phase.CLOSED  # ends plainly, with no results
    assert (await service.results(nothing.contest)).no_entries
    assert (change.kind, change.contest.id) == (ChangeKind.VOTING_OPENED, contest.id)
    assert change.contest.voting_close_at == clock.now + 3600  # members still get to vote
    assert await service.tick() == []
    clock.advance(3600)
    (closed,) = await service.tick()
    assert closed.kind is ChangeKind.RESULTS


async def test_two_concurrent_ticks_make_one_change(service, db, clock):
    contest = await create(service)
    await enter(service, db, contest, 10)
    clock.advance(3600)
    changes = await asyncio.gather(*(service.tick() for _ in range(4)))
    assert sum(len(c) for c in changes) == 1
    clock.advance(86400)
    both = await asyncio.gather(*(service.advance(contest) for _ in range(2)))
    assert both == [None, None]  # a stale value in submissions: the CAS refuses it
    fresh = await service.refresh(contest)
    results = await asyncio.gather(*(service.advance(fresh) for _ in range(3)))
    assert [r.kind for r in results if r] == [ChangeKind.RESULTS]


async def test_close_phase_now_and_cancel(service, db, clock):
    contest = await create(service)
    await enter(service, db, contest, 10)
    clock.advance(60)
    change = await service.close_phase_now(GUILD, contest.number, MOD)
    assert change.kind is ChangeKind.VOTING_OPENED and change.closed_by == MOD
    assert change.contest.submissions_close_at == clock.now
    assert change.contest.voting_close_at == clock.now + 86400
    closed = await service.close_phase_now(GUILD, contest.number, MOD)
    assert closed.kind is ChangeKind.RESULTS and closed.results is not None
    with pytest.raises(WrongPhase, match="already ended"):
        await service.close_phase_now(GUILD, contest.number, MOD)
    with pytest.raises(WrongPhase, match="can't be cancelled"):
        await service.cancel(GUILD, contest.number, MOD)
    other = await create(service)
    gone = await service.cancel(GUILD, other.number, MOD, "  wrong theme ")
    assert gone.phase is Phase.CANCELLED and gone.cancel_reason == "wrong theme"
    with pytest.raises(WrongPhase, match="cancelled, so it has no results"):
        await service.results(gone)


# --- voting --------------------------------------------------------------------------------


async def test_votes_count_once_and_can_be_taken_back(service, db, clock):
    contest, by = await to_voting(service, db, clock, [10, 11])
    first = await vote(service, by[10], 20)
    assert (first.status, first.votes_left) == (VoteStatus.COUNTED, 2)
    assert "2 of 3 votes left" in first.message
    again = await vote(service, by[10], 20)
    assert (again.status, again.votes_left) == (VoteStatus.ALREADY_COUNTED, 2)
    assert "already counted" in again.message
    assert await service.votes_cast(contest) == 1
    back = await service.take_back(GUILD, by[10].id, 20)
    assert (back.status, back.votes_left) == (VoteStatus.TAKEN_BACK, 3)
    none = await service.take_back(GUILD, by[10].id, 20)
    assert none.status is VoteStatus.NOT_VOTED and none.votes_left == 3
    await vote(service, by[11], 20)
    status = await service.voter_status(contest, 20)
    assert (status.used, status.left, status.entry_numbers) == (1, 2, (by[11].number,))


async def test_each_refused_vote_says_why(service, db, clock):
    contest, by = await to_voting(
        service, db, clock, [10, 11, 12], votes_per_member=1, min_account_age="7d",
        min_member_age="1d",
    )  # fmt: skip
    day = 86400
    young = clock.now - day
    assert await refused(vote(service, by[10], 10)) == VoteRefusal.OWN_ENTRY
    assert await refused(vote(service, by[10], 20, voter_is_bot=True)) == VoteRefusal.BOT
    too_new = vote(service, by[10], 20, account_created_at=young)
    assert await refused(too_new) == VoteRefusal.ACCOUNT_TOO_NEW
    joined = vote(service, by[10], 20, member_joined_at=clock.now - 60)
    assert await refused(joined) == VoteRefusal.MEMBER_TOO_NEW
    assert await refused(vote(service, by[10], 20, member_joined_at=None)) == "member_too_new"
    await vote(service, by[10], 20)
    with pytest.raises(VoteRefused, match="used all 1 vote in Contest #1") as over:
        await vote(service, by[11], 20)
    assert over.value.reason is VoteRefusal.BUDGET
    await service.disqualify(GUILD, contest.number, by[12].number, MOD, "copied")
    assert await refused(vote(service, by[12], 21)) == VoteRefusal.ENTRY_GONE
    clock.advance(day)  # the deadline passed; the tick has not run yet
    assert await refused(vote(service, by[11], 21)) == VoteRefusal.NOT_VOTING
    assert await refused(service.take_back(GUILD, by[10].id, 20)) == "not_voting"
    with pytest.raises(EntryNotFound):  # another server's entry, or none at all
        await service.vote(OTHER, by[10].id, 20, voter_is_bot=False, account_created_at=0,
                           member_joined_at=0)  # fmt: skip
    with pytest.raises(EntryNotFound):
        await service.take_back(GUILD, 10**6, 20)


async def test_fifty_simultaneous_presses_stay_within_the_budget(service, db, clock):
    contest, by = await to_voting(service, db, clock, list(range(10, 20)))
    entries = list(by.values())
    outcomes = await asyncio.gather(
        *(vote(service, entries[i % 10], 7) for i in range(50)), return_exceptions=True
    )
    counted = [o for o in outcomes if getattr(o, "status", None) is VoteStatus.COUNTED]
    assert len(counted) == 3
    assert {o.reason for o in outcomes if isinstance(o, VoteRefused)} == {VoteRefusal.BUDGET}
    assert (await service.voter_status(contest, 7)).used == 3


async def test_disqualify(service, db, clock):
    contest, by = await to_voting(service, db, clock, [10, 11])
    await vote(service, by[10], 20)
    with pytest.raises(WrongPhase, match="reason"):
        await service.disqualify(GUILD, contest.number, by[10].number, MOD, " ")
    with pytest.raises(EntryNotFound, match="no Entry 9"):
        await service.disqualify(GUILD, contest.number, 9, MOD, "x")
    out = await service.disqualify(GUILD, contest.number, by[10].number, MOD, "off theme")
    assert out.disqualified and out.disqualified_by == MOD
    assert (await service.voter_status(contest, 20)).left == 3  # the vote came back
    with pytest.raises(WrongPhase, match="already disqualified"):
        await service.disqualify(GUILD, contest.number, by[10].number, MOD, "again")
    early = await create(service)
    with pytest.raises(WrongPhase, match="get their numbers"):
        await service.disqualify(GUILD, early.number, 1, MOD, "x")


# --- results -------------------------------------------------------------------------------


async def test_results_in_rank_order_with_a_tie(service, db, clock):
    contest, by = await to_voting(service, db, clock, [10, 11, 12, 13])
    for voter, authors in {20: (10, 11, 12), 21: (10, 11), 22: (12,), 23: (13,)}.items():
        for author in authors:
            await vote(service, by[author], voter)
    await service.disqualify(GUILD, contest.number, by[13].number, MOD, "copied")
    with pytest.raises(WrongPhase, match="no results yet"):
        await service.results(contest)
    clock.advance(86400)
    (change,) = await service.tick()
    results = change.results
    assert change.kind is ChangeKind.RESULTS and results is not None
    rows = [(r.place, r.entry.user_id, r.votes, r.tied) for r in results.rows]
    assert rows == [(1, a, 2, True) for a in sorted((10, 11, 12), key=lambda a: by[a].number)]
    assert {r.entry.user_id for r in results.winners} == {10, 11, 12}
    assert len(results.ties) == 1
    assert [e.user_id for e in results.disqualified] == [13]
    assert await service.results(change.contest) == results  # /contest results again later
    assert change.contest.votes_cast == 6


async def test_posts_are_recorded_and_unfinished_ones_found(service, db, clock):
    contest, _ = await to_voting(service, db, clock, [10, 11])
    await service.set_announcement(contest, 500)
    assert [c.id for c in await service.needing_posts()] == [contest.id]
    await service.set_voting_message(contest, 501)
    for i, entry in enumerate(await service.entries(contest)):
        await service.set_entry_message(entry, 510 + i)
    assert await service.needing_posts() == []
    clock.advance(86400)
    (change,) = await service.tick()
    assert change.results is not None and change.results.no_votes  # nobody voted:
    assert change.results.winners == ()  # no winner
    assert [c.id for c in await service.needing_posts()] == [contest.id]
    await service.set_results_message(change.contest, 520)
    done = await service.refresh(contest)
    assert (done.announcement_message_id, done.voting_message_id) == (500, 501)
    assert done.results_message_id == 520
    assert {e.message_id for e in await service.entries(done, live_only=False)} == {510, 511}
