"""The contest repository on real sqlite files and on PostgreSQL (each test runs on both): the
fairness rules hold in the database itself
(entry limit, vote budget, one vote per member and entry, no own votes, phases only forward,
numbers and results frozen), under concurrent callers and from a second connection, and even
for a statement that bypasses the repository."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import replace
from typing import Any

import pytest

from bot.core.contests.domain import (
    Contest,
    Entry,
    EntryRefusal,
    NewContest,
    Phase,
    VoteRecord,
    VoteRefusal,
)
from bot.core.domain import Job, Limits, NewJob
from db.contests import ContestRepo
from db.jobs import JobRepo
from db.sql import INTEGRITY_ERRORS, SqlDatabase
from tests.backends import Backend

GUILD = 1
ROOMY = Limits(credits=10**9, max_active=10**9)
_seq = itertools.count(1)


@pytest.fixture
def db(sql_db: SqlDatabase) -> SqlDatabase:
    return sql_db  # sqlite and PostgreSQL (tests/backends.py)


@pytest.fixture
def repo(db: SqlDatabase) -> ContestRepo:
    return ContestRepo(db)


@pytest.fixture
async def two(backend: Backend) -> tuple[SqlDatabase, SqlDatabase]:
    """Two handles on one database, as two bot processes would have."""
    return await backend.open(), await backend.open()


async def delivered_job(
    db: SqlDatabase, user: int, *, guild: int = GUILD, prompt: str = "a paper boat"
) -> Job:
    """A real job row, taken through its life cycle to delivered."""
    jobs = JobRepo(db)
    job = await jobs.accept(
        NewJob(guild, 2, user, "bytedance/seedance", {"text": prompt}, 1, "p", 1, prompt=prompt),
        ROOMY,
    )
    assert isinstance(job, Job)
    assert await jobs.mark_submitting(job.id)
    assert await jobs.mark_submitted(job.id, f"req-{job.id}-{next(_seq)}")
    assert await jobs.mark_delivering(job.id, f"https://cdn.example/{job.id}.mp4")
    assert await jobs.mark_delivered(job.id, 900 + job.id)
    done = await jobs.get(job.id)
    assert done is not None
    return done


def new_contest(*, guild: int = GUILD, entries: int = 1, votes: int = 3, **kw: Any) -> NewContest:
    now = time.time()
    made = NewContest(guild, 2, "Boats", "theme", 99, now - 60, now + 3600, 3600, entries, votes)
    return replace(made, **kw)


async def created(repo: ContestRepo, **kw: Any) -> Contest:
    contest = await repo.create(new_contest(**kw), max_open=100)
    assert contest is not None
    return contest


async def entered(repo: ContestRepo, db: SqlDatabase, contest: Contest, user: int) -> Entry:
    job = await delivered_job(db, user, guild=contest.guild_id)
    entry = await repo.enter(contest.id, job.id, user, time.time())
    assert isinstance(entry, Entry), entry
    return entry


async def voting_with(
    repo: ContestRepo, db: SqlDatabase, authors: list[int], **kw: Any
) -> tuple[Contest, list[Entry]]:
    """A contest in voting with one entry per author (in the given order of users)."""
    contest = await created(repo, **kw)
    for user in authors:
        await entered(repo, db, contest, user)
    opened = await repo.open_voting(contest.id, time.time(), time.time() + 3600, seed=7)
    assert opened is not None and opened.phase is Phase.VOTING
    by_user = {e.user_id: e for e in await repo.entries(contest.id)}
    return opened, [by_user[u] for u in authors]


async def scalar(db: SqlDatabase, sql: str, params: Any = ()) -> Any:
    row = await db.fetchone(sql, params)
    assert row is not None
    return row[0]


# --- schema and numbering ------------------------------------------------------------------


async def test_migration_creates_the_contest_tables_and_their_triggers(db: SqlDatabase):
    if db.dialect == "postgresql":
        listed = await db.fetchall(
            "SELECT tablename, 'table' FROM pg_tables WHERE schemaname = 'public'"
            " UNION ALL SELECT tgname, 'trigger' FROM pg_trigger WHERE NOT tgisinternal"
        )
    else:
        listed = await db.fetchall("SELECT name, type FROM sqlite_master")
    names = {r[0]: r[1] for r in listed}
    for table in ("contests", "contest_entries", "contest_votes", "contest_results"):
        assert names.get(table) == "table"
    triggers = {n for n, t in names.items() if t == "trigger" and n.startswith("contest")}
    assert {"contest_entries_enter", "contest_votes_cast", "contests_phase_forward"} <= triggers
    assert await db.schema_version() >= 6


async def test_contests_are_numbered_per_server_even_when_created_at_once(repo: ContestRepo):
    made = await asyncio.gather(
        *(repo.create(new_contest(guild=g), max_open=100) for g in [1, 2] * 10)
    )
    numbers: dict[int, list[int]] = {1: [], 2: []}
    for contest in made:
        assert contest is not None
        numbers[contest.guild_id].append(contest.number)
    assert sorted(numbers[1]) == sorted(numbers[2]) == list(range(1, 11))
    assert (await repo.by_number(2, 4)) is not None
    assert await repo.by_number(3, 1) is None


async def test_a_server_runs_at_most_max_open_contests_at_once(repo: ContestRepo):
    made = await asyncio.gather(*(repo.create(new_contest(), max_open=3) for _ in range(8)))
    kept = [c for c in made if c is not None]
    assert len(kept) == 3
    await repo.cancel(kept[0].id, 99, "test", time.time())
    assert await repo.create(new_contest(), max_open=3) is not None  # room again
    assert await repo.create(new_contest(), max_open=3) is None


# --- entries -------------------------------------------------------------------------------


async def test_entry_limit_holds_under_concurrent_enters(repo: ContestRepo, db: SqlDatabase):
    contest = await created(repo, entries=2)
    jobs = [await delivered_job(db, 7) for _ in range(20)]
    results = await asyncio.gather(*(repo.enter(contest.id, j.id, 7, time.time()) for j in jobs))
    assert sum(isinstance(r, Entry) for r in results) == 2
    assert {r for r in results if not isinstance(r, Entry)} == {EntryRefusal.LIMIT}
    assert len(await repo.member_entries(contest.id, 7)) == 2


async def test_entry_limit_holds_across_two_connections(two: tuple[SqlDatabase, SqlDatabase]):
    contest = await created(ContestRepo(two[0]), entries=1)
    jobs = [await delivered_job(two[0], 7) for _ in range(10)]
    results = await asyncio.gather(
        *(ContestRepo(two[i % 2]).enter(contest.id, j.id, 7, 1.0) for i, j in enumerate(jobs))
    )
    assert sum(isinstance(r, Entry) for r in results) == 1


async def test_a_job_is_entered_once_and_can_come_back_after_a_withdrawal(
    repo: ContestRepo, db: SqlDatabase
):
    contest = await created(repo, entries=3)
    job = await delivered_job(db, 7)
    results = await asyncio.gather(*(repo.enter(contest.id, job.id, 7, 1.0) for _ in range(10)))
    assert sum(isinstance(r, Entry) for r in results) == 1
    assert {r for r in results if not isinstance(r, Entry)} == {EntryRefusal.ALREADY_ENTERED}
    entry = next(r for r in results if isinstance(r, Entry))
    gone = await repo.withdraw(entry.id, 2.0)
    assert gone is not None and gone.withdrawn and not gone.is_live
    assert await repo.withdraw(entry.id, 3.0) is None  # already withdrawn
    back = await repo.enter(contest.id, job.id, 7, 4.0)
    assert isinstance(back, Entry) and back.id == entry.id and back.is_live
    assert back.entered_at == 4.0


async def test_the_database_refuses_jobs_that_are_not_the_members_delivered_ones(
    repo: ContestRepo, db: SqlDatabase
):
    contest = await created(repo)
    other_server = await delivered_job(db, 7, guild=2)
    someone_elses = await delivered_job(db, 8)
    open_job = await JobRepo(db).accept(NewJob(GUILD, 2, 7, "m", {}, 1, "p", 1), ROOMY)
    assert isinstance(open_job, Job)
    for job_id in (other_server.id, someone_elses.id, open_job.id):
        assert await repo.enter(contest.id, job_id, 7, 1.0) is EntryRefusal.NOT_DELIVERED
    assert await repo.entries(contest.id, live_only=False) == []


async def test_no_entering_or_withdrawing_once_submissions_close(
    repo: ContestRepo, db: SqlDatabase
):
    contest, (entry,) = await voting_with(repo, db, [7], entries=2)
    late = await delivered_job(db, 7)
    assert await repo.enter(contest.id, late.id, 7, 1.0) is EntryRefusal.CLOSED
    assert await repo.withdraw(entry.id, 1.0) is None
    with pytest.raises(INTEGRITY_ERRORS, match="contest:submissions_closed"):
        await db.execute("UPDATE contest_entries SET withdrawn_at = 1 WHERE id = ?", (entry.id,))


async def test_eligible_jobs_are_the_members_delivered_jobs_since_it_opened_not_entered(
    repo: ContestRepo, db: SqlDatabase
):
    contest = await created(repo, entries=3)
    mine = [await delivered_job(db, 7) for _ in range(3)]
    await delivered_job(db, 8)
    await delivered_job(db, 7, guild=2)
    await db.execute("UPDATE jobs SET created_at = 0 WHERE id = ?", (mine[0].id,))  # before
    await repo.enter(contest.id, mine[1].id, 7, 1.0)
    assert [j.id for j in await repo.eligible_jobs(contest.id, 7)] == [mine[2].id]


# --- votes ---------------------------------------------------------------------------------


async def test_fifty_simultaneous_presses_by_one_member_stay_within_the_budget(
    repo: ContestRepo, db: SqlDatabase
):
    authors = list(range(100, 110))
    contest, entries = await voting_with(repo, db, authors, votes=3)
    presses = [entries[i % len(entries)] for i in range(50)]
    results = await asyncio.gather(*(repo.vote(e, 7, time.time()) for e in presses))
    counted = [r for r in results if isinstance(r, VoteRecord) and r.changed]
    assert len(counted) == 3
    assert {r for r in results if not isinstance(r, VoteRecord)} == {VoteRefusal.BUDGET}
    assert await scalar(db, "SELECT COUNT(*) FROM contest_votes WHERE voter_id = 7") == 3
    assert (await repo.get(contest.id)).votes_cast == 3  # type: ignore[union-attr]


async def test_the_budget_holds_across_two_connections(two: tuple[SqlDatabase, SqlDatabase]):
    _, entries = await voting_with(ContestRepo(two[0]), two[0], list(range(100, 110)), votes=2)
    await asyncio.gather(
        *(ContestRepo(two[i % 2]).vote(entries[i % 10], 7, 1.0) for i in range(50))
    )
    assert await scalar(two[0], "SELECT COUNT(*) FROM contest_votes") == 2


async def test_a_double_click_counts_once_even_with_the_budget_spent(
    repo: ContestRepo, db: SqlDatabase
):
    _, entries = await voting_with(repo, db, [100, 101], votes=1)
    results = await asyncio.gather(*(repo.vote(entries[0], 7, 1.0) for _ in range(50)))
    assert sorted(results, key=repr) == [VoteRecord(changed=False, used=1)] * 49 + [
        VoteRecord(changed=True, used=1)
    ]
    assert await repo.vote(entries[0], 7, 2.0) == VoteRecord(changed=False, used=1)
    assert await repo.vote(entries[1], 7, 2.0) is VoteRefusal.BUDGET
    assert await scalar(db, "SELECT COUNT(*) FROM contest_votes") == 1


async def test_own_entry_refused_even_by_a_raw_insert(repo: ContestRepo, db: SqlDatabase):
    contest, (own, _) = await voting_with(repo, db, [7, 8])
    assert await repo.vote(own, 7, 1.0) is VoteRefusal.OWN_ENTRY
    with pytest.raises(INTEGRITY_ERRORS, match="contest:own_entry"):
        await db.execute("INSERT INTO contest_votes VALUES (?, ?, 7, 1)", (contest.id, own.id))


async def test_votes_only_during_voting(repo: ContestRepo, db: SqlDatabase):
    contest = await created(repo)
    entry = await entered(repo, db, contest, 8)
    assert await repo.vote(entry, 7, 1.0) is VoteRefusal.NOT_VOTING  # submissions
    contest, (entry,) = await voting_with(repo, db, [8])
    assert await repo.vote(entry, 7, 1.0) == VoteRecord(True, 1)
    assert await repo.close_voting(contest.id, 2.0) is not None
    assert await repo.vote(entry, 9, 3.0) is VoteRefusal.NOT_VOTING
    assert await repo.take_back(entry, 7) is VoteRefusal.NOT_VOTING
    assert await scalar(db, "SELECT COUNT(*) FROM contest_votes") == 1


async def test_a_disqualified_entry_gets_no_votes_and_its_voters_get_theirs_back(
    repo: ContestRepo, db: SqlDatabase
):
    contest, (a, b) = await voting_with(repo, db, [100, 101], votes=1)
    assert await repo.vote(a, 7, 1.0) == VoteRecord(True, 1)
    assert await repo.vote(b, 7, 1.0) is VoteRefusal.BUDGET
    out = await repo.disqualify(a.id, 99, "not made for the theme", 2.0)
    assert out is not None and out.disqualified and out.disqualify_reason
    assert await repo.disqualify(a.id, 99, "again", 3.0) is None
    assert await repo.vote(a, 8, 3.0) is VoteRefusal.ENTRY_GONE
    assert await repo.vote(b, 7, 3.0) == VoteRecord(True, 1)  # the budget counts live entries
    assert (await repo.get(contest.id)).votes_cast == 1  # type: ignore[union-attr]


async def test_take_back_frees_a_vote(repo: ContestRepo, db: SqlDatabase):
    _, (a, b) = await voting_with(repo, db, [100, 101], votes=1)
    assert await repo.vote(a, 7, 1.0) == VoteRecord(True, 1)
    assert await repo.take_back(a, 7) == VoteRecord(True, 0)
    assert await repo.take_back(a, 7) == VoteRecord(False, 0)
    assert await repo.vote(b, 7, 1.0) == VoteRecord(True, 1)
    assert [e.id for e in await repo.voted_entries(a.contest_id, 7)] == [b.id]


# --- phases and the tally ------------------------------------------------------------------


async def test_two_concurrent_advances_only_one_acts(repo: ContestRepo, db: SqlDatabase):
    contest = await created(repo)
    for user in (100, 101, 102):
        await entered(repo, db, contest, user)
    now = time.time()
    opened = await asyncio.gather(
        *(repo.open_voting(contest.id, now + i, now + 100, seed=i) for i in range(2))
    )
    assert sum(c is not None for c in opened) == 1
    numbers = sorted(e.number or 0 for e in await repo.entries(contest.id))
    assert numbers == [1, 2, 3]
    closed = await asyncio.gather(*(repo.close_voting(contest.id, now + 9) for _ in range(2)))
    assert sum(c is not None for c in closed) == 1
    assert await scalar(db, "SELECT COUNT(*) FROM contest_results") == 3


async def test_two_tickers_on_two_connections_only_one_acts(two: tuple[SqlDatabase, SqlDatabase]):
    contest, _ = await voting_with(ContestRepo(two[0]), two[0], [100, 101])
    closed = await asyncio.gather(*(ContestRepo(d).close_voting(contest.id, 9.0) for d in two))
    assert sum(c is not None for c in closed) == 1
    assert await scalar(two[0], "SELECT COUNT(*) FROM contest_results") == 2


async def test_no_live_entries_closes_straight_away(repo: ContestRepo, db: SqlDatabase):
    contest = await created(repo)
    entry = await entered(repo, db, contest, 7)
    await repo.withdraw(entry.id, 1.0)
    now = time.time()
    done = await repo.open_voting(contest.id, now, now + 100, seed=1)
    assert done is not None and done.phase is Phase.CLOSED and done.ended_at == now
    assert await repo.results(contest.id) == []


async def test_the_tally_is_frozen_with_ties_sharing_a_place(repo: ContestRepo, db: SqlDatabase):
    contest, (a, b, c, d) = await voting_with(repo, db, [100, 101, 102, 103], votes=3)
    for voter, picks in {7: (a, b, c), 8: (a, b), 9: (d,), 10: (c,)}.items():
        for entry in picks:
            assert await repo.vote(entry, voter, 1.0) == VoteRecord(True, picks.index(entry) + 1)
    await repo.disqualify(d.id, 99, "copied", 2.0)
    closed = await repo.close_voting(contest.id, 3.0)
    assert closed is not None and closed.phase is Phase.CLOSED
    ranked = await repo.results(contest.id)
    rows = sorted((place, e.id, votes) for place, e, votes in ranked)
    # A three-way tie for first; the disqualified entry (1 vote) is not ranked.
    assert rows == sorted([(1, a.id, 2), (1, b.id, 2), (1, c.id, 2)])
    assert [e.number for _, e, _ in ranked] == sorted(e.number for _, e, _ in ranked)
    for sql in (
        "UPDATE contest_results SET votes = votes + 1",
        "DELETE FROM contest_results",
        "DELETE FROM contest_votes",
        "UPDATE contest_votes SET voter_id = 1",
        "UPDATE contest_entries SET number = number + 10",
        f"UPDATE contests SET phase = 'voting' WHERE id = {contest.id}",
        f"INSERT INTO contest_votes VALUES ({contest.id}, {a.id}, 55, 1)",
    ):
        with pytest.raises(INTEGRITY_ERRORS, match="contest:"):
            await db.execute(sql)
    assert await repo.close_voting(contest.id, 4.0) is None


async def test_competition_places_skip_after_a_tie(repo: ContestRepo, db: SqlDatabase):
    contest, (a, b, c) = await voting_with(repo, db, [100, 101, 102], votes=3)
    for voter, picks in {7: (a, b, c), 8: (a, b), 9: (a,)}.items():
        for entry in picks:
            await repo.vote(entry, voter, 1.0)
    await repo.close_voting(contest.id, 3.0)
    assert [(p, e.id, v) for p, e, v in await repo.results(contest.id)] == [
        (1, a.id, 3),
        (2, b.id, 2),
        (3, c.id, 1),
    ]


async def test_cancel_is_compare_and_set_from_a_running_phase(repo: ContestRepo, db: SqlDatabase):
    contest = await created(repo)
    done = await asyncio.gather(*(repo.cancel(contest.id, 99, "rain", 1.0) for _ in range(3)))
    assert sum(c is not None for c in done) == 1
    cancelled = next(c for c in done if c)
    assert cancelled.phase is Phase.CANCELLED and cancelled.cancel_reason == "rain"
    assert await repo.open_voting(contest.id, 2.0, 9.0, seed=1) is None


async def test_due_lists_running_contests_past_their_deadline(repo: ContestRepo, db: SqlDatabase):
    now = time.time()
    soon = await created(repo, submissions_close_at=now - 1)
    await created(repo, submissions_close_at=now + 100)
    voting, _ = await voting_with(repo, db, [100])
    assert [c.id for c in await repo.due(now)] == [soon.id]
    assert {c.id for c in await repo.due(voting.voting_close_at)} >= {soon.id, voting.id}


async def test_needing_posts_finds_unfinished_reveals_and_results(
    repo: ContestRepo, db: SqlDatabase
):
    contest, entries = await voting_with(repo, db, [100, 101])
    assert [c.id for c in await repo.needing_posts()] == [contest.id]
    await repo.set_message(contest.id, "voting", 1)
    for i, entry in enumerate(entries):
        await repo.set_entry_message(entry.id, 10 + i)
    assert await repo.needing_posts() == []
    await repo.close_voting(contest.id, 5.0)
    assert [c.id for c in await repo.needing_posts()] == [contest.id]
    await repo.set_message(contest.id, "results", 2)
    assert await repo.needing_posts() == []
