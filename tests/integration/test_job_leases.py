"""Job leases (issue 13) on both engines: a process holds the jobs it runs, only the holder's
runner may move them, a lease that runs out lets another process take the job over, and two
processes claiming at once never claim the same job."""

from __future__ import annotations

import asyncio

from bot.core.domain import Job, JobStatus
from db.jobs import JobRepo
from db.sql import SqlDatabase
from tests.backends import Backend
from tests.integration.test_db import ROOMY, assert_books_balance, drive, new_job


def process(db: SqlDatabase, name: str) -> JobRepo:
    """One bot process's view of the table (several share the database)."""
    return JobRepo(db, owner=name, exclusive=False)


async def accepted(repo: JobRepo) -> Job:
    job = await repo.accept(new_job(), ROOMY)
    assert isinstance(job, Job)
    return job


async def run_out(db: SqlDatabase, job_id: int) -> None:
    """The holder stopped renewing and its lease time passed."""
    await db.execute("UPDATE jobs SET lease_until = 0 WHERE id = ?", (job_id,))


async def test_the_accepting_process_holds_the_job_and_only_it_moves_it(sql_db: SqlDatabase):
    a, b = process(sql_db, "a"), process(sql_db, "b")
    job = await accepted(a)
    assert job.lease_owner == "a" and job.lease_until is not None
    assert not await b.mark_submitting(job.id)
    assert await b.mark_failed(job.id, "not b's to fail") is None
    assert await b.claim() == []  # held, and not run out: nothing to take
    assert await a.mark_submitting(job.id)
    assert (await a.get(job.id)).status is JobStatus.SUBMITTING  # type: ignore[union-attr]


async def test_a_lease_run_out_is_taken_over_and_the_old_holder_writes_nothing(
    sql_db: SqlDatabase,
):
    a, b = process(sql_db, "a"), process(sql_db, "b")
    job = await drive(a, await accepted(a), "running")
    await run_out(sql_db, job.id)  # `a` stalled, or died
    taken = await b.claim()
    assert [j.id for j in taken] == [job.id] and taken[0].lease_owner == "b"
    assert taken[0].status is JobStatus.RUNNING  # carried on from where the row is
    assert await a.renew({job.id}) == set()
    assert not await a.holds(job.id)
    assert not await a.mark_delivering(job.id, "https://cdn.example/a.mp4")
    assert await a.mark_failed(job.id, "stale") is None
    assert await b.holds(job.id)
    assert await b.mark_delivering(job.id, "https://cdn.example/b.mp4")
    assert not await a.mark_delivered(job.id, 1)  # the old holder cannot commit it either
    assert await b.mark_delivered(job.id, 2)
    final = await b.get(job.id)
    assert final is not None and final.status is JobStatus.DELIVERED
    assert final.video_url == "https://cdn.example/b.mp4" and final.result_message_id == 2
    await assert_books_balance(sql_db)


async def test_renewal_keeps_a_job_from_being_taken(sql_db: SqlDatabase):
    a, b = process(sql_db, "a"), process(sql_db, "b")
    job = await accepted(a)
    await run_out(sql_db, job.id)
    assert await a.renew({job.id}) == {job.id}
    assert await b.claim() == []


async def test_any_process_cancels_any_job(sql_db: SqlDatabase):
    a, b = process(sql_db, "a"), process(sql_db, "b")
    job = await drive(a, await accepted(a), "queued")
    closed = await b.mark_cancelled(job.id, actor_id=99)
    assert closed is not None and closed.status is JobStatus.CANCELLED
    assert await a.renew({job.id}) == set()  # closed jobs are not held
    await assert_books_balance(sql_db)


async def test_a_clean_stop_releases_its_jobs_for_others_at_once(sql_db: SqlDatabase):
    a, b = process(sql_db, "a"), process(sql_db, "b")
    jobs = [await accepted(a) for _ in range(3)]
    await a.mark_cancelled(jobs[2].id, actor_id=1)
    assert await a.release(keep={jobs[1].id}) == 1  # the closed one is nobody's business
    assert [j.id for j in await b.claim()] == [jobs[0].id]  # the kept one is still a's


async def test_an_exclusive_process_keeps_its_leases_at_a_stop(sql_db: SqlDatabase):
    sole = JobRepo(sql_db, owner="sole", exclusive=True)
    job = await accepted(sole)
    assert await sole.release() == 0
    assert await sole.mark_submitting(job.id)  # a step that outlived the stop still writes


async def test_a_job_held_but_no_longer_run_is_taken_up_once_its_lease_runs_out(
    sql_db: SqlDatabase,
):
    a = process(sql_db, "a")
    job = await accepted(a)
    assert await a.renew(set()) == set()  # its runner gave it up: not renewed
    assert await a.claim() == []  # the lease from the accept still holds
    await run_out(sql_db, job.id)
    assert [j.id for j in await a.claim()] == [job.id]


async def test_an_exclusive_process_takes_every_open_job_at_start(sql_db: SqlDatabase):
    old = process(sql_db, "old")
    job = await accepted(old)  # its lease is still good: the old process just stopped
    assert await process(sql_db, "other").claim(at_start=True) == []
    sole = JobRepo(sql_db, owner="new", exclusive=True)
    assert [j.id for j in await sole.claim(at_start=True)] == [job.id]
    assert await sole.claim() == []  # and later ticks leave what it holds alone


async def test_two_processes_claiming_at_once_never_share_a_job(backend: Backend):
    maker = process(await backend.open(), "dead")
    jobs = [await accepted(maker) for _ in range(60)]
    await (await backend.open()).execute("UPDATE jobs SET lease_until = 0")
    first = process(await backend.open(), "first")
    second = process(await backend.open(), "second")
    rounds = await asyncio.gather(*(p.claim() for _ in range(5) for p in (first, second)))
    claims = [(i % 2, j.id) for i, taken in enumerate(rounds) for j in taken]
    ids = [job_id for _, job_id in claims]
    assert sorted(ids) == sorted(j.id for j in jobs)  # every job claimed, none twice
    everything = {j.id for j in jobs}
    assert await first.renew(everything) | await second.renew(everything) == everything
