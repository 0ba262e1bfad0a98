"""`/video contest:<n>` at acceptance, on real sqlite files and on PostgreSQL: the accept
transaction counts the member's live entries and their videos for the contest still being made
against the entry limit, so racing accepts make one job and charge nothing for the others."""

from __future__ import annotations

import asyncio
import time

from bot.core.contests.domain import Contest, Entry
from bot.core.contests.video_entries import contest_refusal
from bot.core.domain import Job, NewJob, Refusal
from db.contest_jobs import JobContestRepo
from db.contests import ContestRepo
from db.jobs import JobRepo
from db.sql import SqlDatabase
from tests.backends import Backend
from tests.integration.test_contests_db import GUILD, ROOMY, created, delivered_job

ALICE, BOB = 11, 12


def video_for(contest: Contest, user: int, prompt: str) -> NewJob:
    return NewJob(
        GUILD, 2, user, "bytedance/seedance", {"text": prompt}, 3, "p", 1, prompt=prompt,
        contest_id=contest.id,
    )  # fmt: skip


async def credits_used(db: SqlDatabase, user: int) -> int:
    row = await db.fetchone("SELECT COALESCE(SUM(used), 0) FROM quota_usage WHERE user_id = ?",
                            (user,))  # fmt: skip
    return int(row[0]) if row else 0


async def test_videos_being_made_count_against_the_entry_limit(sql_db: SqlDatabase):
    repo, jobs = ContestRepo(sql_db), JobRepo(sql_db)
    contest = await created(repo, entries=2)
    first = await jobs.accept(video_for(contest, ALICE, "one"), ROOMY)
    assert isinstance(first, Job)
    entry = await repo.enter(
        contest.id, (await delivered_job(sql_db, ALICE)).id, ALICE, time.time()
    )
    assert isinstance(entry, Entry)

    # One entry and one video being made fill a limit of two; nothing is charged for asking.
    used = await credits_used(sql_db, ALICE)
    full = await jobs.accept(video_for(contest, ALICE, "two"), ROOMY)
    assert full == Refusal("contest_limit", 1, 1, contest_number=contest.number, entry_limit=2)
    assert await credits_used(sql_db, ALICE) == used
    assert "1 entry in Contest #1 and 1 video being made for it" in contest_refusal(full).message
    assert isinstance(await jobs.accept(video_for(contest, BOB, "bob's"), ROOMY), Job)

    # A video that failed is not being made any more: its room comes back.
    assert await jobs.mark_failed(first.id, "boom") is not None
    again = await jobs.accept(video_for(contest, ALICE, "three"), ROOMY)
    assert isinstance(again, Job)

    # Delivered but not yet entered still counts; refused at delivery it does not.
    assert await jobs.mark_submitting(again.id)
    assert await jobs.mark_submitted(again.id, f"req-{again.id}")
    assert await jobs.mark_delivering(again.id, "https://cdn.example/3.mp4")
    assert await jobs.mark_delivered(again.id, 903)
    assert isinstance(await jobs.accept(video_for(contest, ALICE, "four"), ROOMY), Refusal)
    assert await JobContestRepo(sql_db).settle(again.id, "limit", time.time())
    assert isinstance(await jobs.accept(video_for(contest, ALICE, "five"), ROOMY), Job)


async def test_a_closed_contest_refuses_at_acceptance(sql_db: SqlDatabase):
    repo, jobs = ContestRepo(sql_db), JobRepo(sql_db)
    contest = await created(repo)
    assert await repo.cancel(contest.id, 99, None, time.time()) is not None
    refused = await jobs.accept(video_for(contest, ALICE, "late"), ROOMY)
    assert refused == Refusal("contest_closed", 0, 0, contest_number=contest.number)
    assert await credits_used(sql_db, ALICE) == 0
    assert "isn't taking entries" in contest_refusal(refused).message


async def test_racing_accepts_from_two_processes_make_one_job(backend: Backend):
    """Ten accepts at once over two handles (two bot processes), room for one: one job."""
    one, two = await backend.open(), await backend.open()
    try:
        contest = await created(ContestRepo(one))
        outcomes = await asyncio.gather(
            *(
                JobRepo(db).accept(video_for(contest, ALICE, f"race {i}"), ROOMY)
                for i, db in enumerate([one, two] * 5)
            )
        )
        made = [o for o in outcomes if isinstance(o, Job)]
        assert len(made) == 1
        assert all(isinstance(o, Refusal) and o.reason == "contest_limit" for o in outcomes
                   if o not in made)  # fmt: skip
        assert await credits_used(one, ALICE) == made[0].cost
        row = await one.fetchone("SELECT COUNT(*) FROM job_contests")
        assert row is not None and row[0] == 1
    finally:
        await one.close()
        await two.close()
