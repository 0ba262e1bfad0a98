"""The database layer on real sqlite files and on PostgreSQL (every test taking `db` runs on
both): migrations, the append-only ledger, atomic credit reservation under concurrency, and job
transitions that never move a closed job or refund twice."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from bot.core.domain import CANCELLABLE_STATUSES, OPEN_STATUSES, Job, Limits, NewJob, Refusal
from db.database import Database
from db.jobs import JobRepo
from db.sql import INTEGRITY_ERRORS, SqlDatabase
from tests.backends import Backend

CLOSED = ("delivered", "failed", "cancelled")
ROOMY = Limits(credits=10**9, max_active=10**9)
MIGRATIONS = sorted(
    e.name for e in resources.files("db.migrations").iterdir() if e.name.endswith(".sql")
)


@pytest.fixture
def db(sql_db: SqlDatabase) -> SqlDatabase:
    return sql_db  # sqlite and PostgreSQL (tests/backends.py)


@pytest.fixture
def repo(db: SqlDatabase) -> JobRepo:
    return JobRepo(db)


def new_job(
    *, guild: int = 1, user: int = 7, cost: int = 5, period: str = "2025-03-01", channel: int = 2
) -> NewJob:
    return NewJob(
        guild_id=guild,
        channel_id=channel,
        user_id=user,
        model_path="bytedance/seedance-1-0/pro/fast/text-to-video",
        params={"text": "a paper boat", "resolution": "480p", "ratio": "16:9", "duration": 5},
        cost=cost,
        period=period,
        upload_limit=10 * 1024 * 1024,
        prompt="a paper boat",
    )


async def accepted(repo: JobRepo, limits: Limits = ROOMY, **kw: Any) -> Job:
    job = await repo.accept(new_job(**kw), limits)
    assert isinstance(job, Job), job
    return job


async def scalar(db: SqlDatabase, sql: str, params: Any = ()) -> Any:
    row = await db.fetchone(sql, params)
    assert row is not None
    return row[0]


async def row_of(db: SqlDatabase, job_id: int) -> dict[str, Any]:
    row = await db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
    assert row is not None
    return dict(row)


async def ledger_count(db: SqlDatabase) -> int:
    return int(await scalar(db, "SELECT COUNT(*) FROM ledger"))


async def usage_rows(db: SqlDatabase) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await db.fetchall("SELECT * FROM quota_usage ORDER BY 1, 2, 3")]


async def assert_books_balance(db: SqlDatabase) -> None:
    """quota_usage.used is the sum of the member's ledger rows; every job's own rows add up."""
    mismatched = await db.fetchall(
        "SELECT * FROM (SELECT q.guild_id, q.user_id, q.period, q.used,"
        "       (SELECT COALESCE(SUM(amount), 0) FROM ledger l WHERE l.guild_id = q.guild_id"
        "          AND l.user_id = q.user_id AND l.period = q.period) AS booked"
        " FROM quota_usage q) AS t WHERE t.used != t.booked OR t.used < 0"
    )
    assert [tuple(r) for r in mismatched] == []
    orphans = await db.fetchall(
        "SELECT DISTINCT guild_id, user_id, period FROM ledger l WHERE NOT EXISTS ("
        " SELECT 1 FROM quota_usage q WHERE q.guild_id = l.guild_id AND q.user_id = l.user_id"
        " AND q.period = l.period)"
    )
    assert [tuple(r) for r in orphans] == []
    per_job = await db.fetchall(
        "SELECT j.id, j.status, j.cost,"
        "  SUM(CASE WHEN l.kind = 'reserve' THEN 1 ELSE 0 END),"
        "  SUM(CASE WHEN l.kind = 'commit' THEN 1 ELSE 0 END),"
        "  SUM(CASE WHEN l.kind = 'refund' THEN 1 ELSE 0 END),"
        "  SUM(l.amount)"
        " FROM jobs j JOIN ledger l ON l.job_id = j.id GROUP BY j.id"
    )
    assert len(per_job) == await scalar(db, "SELECT COUNT(*) FROM jobs")
    for job_id, status, cost, reserves, commits, refunds, total in per_job:
        refunded = status in ("failed", "cancelled")
        assert reserves == 1, job_id
        assert refunds == int(refunded), (job_id, status, refunds)
        assert commits == int(status == "delivered"), (job_id, status, commits)
        assert total == (0 if refunded else cost), (job_id, status, total)


# --- migrations ----------------------------------------------------------------------------------


async def test_migrations_set_user_version_to_the_number_of_files(tmp_path: Path):
    assert MIGRATIONS and MIGRATIONS[0].startswith("0001_")
    path = tmp_path / "nested" / "folder" / "bot.db"  # the folder is created too
    db = await Database.open(path)
    try:
        assert await scalar(db, "PRAGMA user_version") == len(MIGRATIONS)
        tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master")}
        assert {"jobs", "ledger", "quota_usage", "meta"} <= tables
        assert await scalar(db, "PRAGMA journal_mode") == "wal"
        assert await scalar(db, "PRAGMA foreign_keys") == 1
    finally:
        await db.close()
    assert path.is_file()
    with sqlite3.connect(path) as raw:  # what is on disk, read by plain sqlite3
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_reopening_does_not_reapply_migrations_and_keeps_data(tmp_path: Path):
    path = tmp_path / "bot.db"
    db = await Database.open(path)
    job = await accepted(JobRepo(db))
    schema = await db.fetchall("SELECT type, name, sql FROM sqlite_master ORDER BY name")
    await db.close()

    for _ in range(2):
        again = await Database.open(path)  # CREATE TABLE twice would raise here
        try:
            assert await again.migrate() == len(MIGRATIONS)
            assert await scalar(again, "PRAGMA user_version") == len(MIGRATIONS)
            assert [
                tuple(r)
                for r in await again.fetchall(
                    "SELECT type, name, sql FROM sqlite_master ORDER BY name"
                )
            ] == [tuple(r) for r in schema]
            reloaded = await JobRepo(again).get(job.id)
            assert reloaded == job
            assert await ledger_count(again) == 1
        finally:
            await again.close()


async def test_an_old_file_is_brought_up_to_date(tmp_path: Path):
    path = tmp_path / "old.db"
    first = resources.files("db.migrations").joinpath(MIGRATIONS[0]).read_text(encoding="utf-8")
    with sqlite3.connect(path) as raw:
        raw.executescript(first + "\nPRAGMA user_version = 1;")
        raw.execute("INSERT INTO meta (key, value) VALUES ('kept', 'yes')")
    raw.close()
    db = await Database.open(path)
    try:
        assert await scalar(db, "PRAGMA user_version") == len(MIGRATIONS)
        assert await scalar(db, "SELECT value FROM meta WHERE key = 'kept'") == "yes"
    finally:
        await db.close()


# --- the ledger is append-only -------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger SET amount = 0",
        "UPDATE ledger SET note = 'edited' WHERE id = 1",
        "DELETE FROM ledger",
        "DELETE FROM ledger WHERE id = 1",
    ],
)
async def test_ledger_rows_cannot_be_changed_or_deleted(db: SqlDatabase, repo: JobRepo, sql: str):
    job = await accepted(repo, cost=9)
    await repo.mark_failed(job.id, "boom")
    before = await db.fetchall("SELECT * FROM ledger ORDER BY id")
    assert [r["kind"] for r in before] == ["reserve", "refund"]
    with pytest.raises(INTEGRITY_ERRORS, match="append-only"):
        await db.execute(sql)
    after = await db.fetchall("SELECT * FROM ledger ORDER BY id")
    assert [tuple(r) for r in after] == [tuple(r) for r in before]


async def test_a_failed_ledger_write_rolls_back_the_whole_transaction(
    db: SqlDatabase, repo: JobRepo
):
    job = await accepted(repo, cost=4)
    with pytest.raises(INTEGRITY_ERRORS, match="append-only"):
        async with db.transaction() as tx:
            await tx.execute("UPDATE quota_usage SET used = used + 100")
            await tx.execute("DELETE FROM ledger")
    assert await scalar(db, "SELECT used FROM quota_usage") == job.cost
    await assert_books_balance(db)


# --- accept: exactly k of many simultaneous requests ---------------------------------------------


@pytest.mark.parametrize(
    ("credits", "cost", "k"), [(35, 5, 7), (36, 5, 7), (5, 5, 1), (4, 5, 0), (0, 1, 0)]
)
async def test_simultaneous_accepts_bound_by_credits_accept_exactly_k(
    db: SqlDatabase, repo: JobRepo, credits: int, cost: int, k: int
):
    limits = Limits(credits=credits, max_active=1000)
    results = await asyncio.gather(*(repo.accept(new_job(cost=cost), limits) for _ in range(100)))
    jobs = [r for r in results if isinstance(r, Job)]
    refusals = [r for r in results if isinstance(r, Refusal)]
    assert len(jobs) == k and len(refusals) == 100 - k
    assert {r.reason for r in refusals} == {"credits"}
    assert all(r.used == k * cost and r.active == k for r in refusals)
    assert len({j.id for j in jobs}) == k
    assert all(j.status == "accepted" and j.cost == cost for j in jobs)
    assert await scalar(db, "SELECT COUNT(*) FROM jobs") == k
    assert await scalar(db, "SELECT COALESCE(SUM(used), 0) FROM quota_usage") == k * cost
    assert await ledger_count(db) == k
    await assert_books_balance(db)


@pytest.mark.parametrize("max_active", [1, 3])
async def test_simultaneous_accepts_bound_by_active_jobs_accept_exactly_k(
    db: SqlDatabase, repo: JobRepo, max_active: int
):
    limits = Limits(credits=10**6, max_active=max_active)
    results = await asyncio.gather(*(repo.accept(new_job(cost=2), limits) for _ in range(100)))
    jobs = [r for r in results if isinstance(r, Job)]
    refusals = [r for r in results if isinstance(r, Refusal)]
    assert len(jobs) == max_active
    assert {r.reason for r in refusals} == {"active"}
    assert all(r.active == max_active and r.used == 2 * max_active for r in refusals)
    await assert_books_balance(db)

    # Closing one job makes room for exactly one more.
    await repo.mark_failed(jobs[0].id, "boom")
    again = await asyncio.gather(*(repo.accept(new_job(cost=2), limits) for _ in range(20)))
    assert sum(isinstance(r, Job) for r in again) == 1
    await assert_books_balance(db)


async def test_a_shared_guild_budget_is_never_overspent(db: SqlDatabase, repo: JobRepo):
    limits = Limits(credits=1000, max_active=1000, guild_budget=40)
    members = [11, 12, 13, 14]
    calls = [repo.accept(new_job(user=u, cost=5), limits) for _ in range(25) for u in members]
    random.Random(5).shuffle(calls)
    results = await asyncio.gather(*calls)
    jobs = [r for r in results if isinstance(r, Job)]
    refusals = [r for r in results if isinstance(r, Refusal)]
    assert len(jobs) == 8 and len(refusals) == 92
    assert {r.reason for r in refusals} == {"budget"}
    assert await scalar(db, "SELECT SUM(used) FROM quota_usage WHERE guild_id = 1") == 40
    await assert_books_balance(db)

    # The budget is per server and per quota day.
    assert isinstance(await repo.accept(new_job(guild=2, user=11, cost=5), limits), Job)
    assert isinstance(await repo.accept(new_job(user=11, cost=5, period="2025-03-02"), limits), Job)
    # A refund gives the server room again.
    await repo.mark_cancelled(jobs[0].id, actor_id=99)
    assert isinstance(await repo.accept(new_job(user=12, cost=5), limits), Job)
    refused = await repo.accept(new_job(user=13, cost=5), limits)
    assert isinstance(refused, Refusal) and refused.reason == "budget"


async def test_credits_are_per_member_server_and_day(repo: JobRepo):
    limits = Limits(credits=10, max_active=10)
    assert isinstance(await repo.accept(new_job(user=1, cost=10), limits), Job)
    for other in (
        new_job(user=2, cost=10),
        new_job(user=1, guild=2, cost=10),
        new_job(user=1, cost=10, period="2025-03-02"),
    ):
        assert isinstance(await repo.accept(other, limits), Job)
    refused = await repo.accept(new_job(user=1, cost=1), limits)
    assert isinstance(refused, Refusal) and refused.reason == "credits" and refused.used == 10


async def test_refusal_prefers_active_when_both_limits_are_hit(repo: JobRepo):
    limits = Limits(credits=5, max_active=1)
    await accepted(repo, limits, cost=5)
    refused = await repo.accept(new_job(cost=5), limits)
    assert isinstance(refused, Refusal)
    assert (refused.reason, refused.used, refused.active) == ("active", 5, 1)


async def test_two_connections_to_one_database_accept_exactly_k(backend: Backend):
    # Two processes (say a restart overlapping the old one, or two bot processes on PostgreSQL)
    # share the database, not the asyncio lock or the pool.
    first, second = await backend.open(), await backend.open()
    limits = Limits(credits=35, max_active=1000, guild_budget=60)
    calls = [
        JobRepo(d).accept(new_job(user=u, cost=5), limits)
        for _ in range(50)
        for d in (first, second)
        for u in (7, 8)
    ]
    results = await asyncio.gather(*calls)
    assert sum(isinstance(r, Job) for r in results) == 12  # 7 + 5: the budget stops the second
    assert await scalar(first, "SELECT SUM(used) FROM quota_usage") == 60
    await assert_books_balance(first)


# --- transitions ---------------------------------------------------------------------------------


async def drive(repo: JobRepo, job: Job, status: str) -> Job:
    """Take a fresh job to `status` along the normal path."""
    steps = {
        "submitting": lambda: repo.mark_submitting(job.id),
        "queued": lambda: repo.mark_submitted(job.id, f"req-{job.id}"),
        "running": lambda: repo.mark_progress(job.id, "running", None),
        "delivering": lambda: repo.mark_delivering(job.id, "https://cdn.example/v.mp4"),
        "delivered": lambda: repo.mark_delivered(job.id, 555),
    }
    path = ["submitting", "queued", "running", "delivering", "delivered"]
    if status == "failed":
        assert await repo.mark_failed(job.id, "the provider failed") is not None
    elif status == "cancelled":
        assert await repo.mark_cancelled(job.id, actor_id=42) is not None
    elif status != "accepted":
        for step in path[: path.index(status) + 1]:
            assert await steps[step]() is True
    fresh = await repo.get(job.id)
    assert fresh is not None and fresh.status == status
    return fresh


async def test_the_happy_path_records_each_step(db: SqlDatabase, repo: JobRepo):
    job = await accepted(repo, cost=8)
    assert job.status == "accepted" and job.is_open and job.prompt == "a paper boat"
    assert await repo.mark_submitting(job.id)
    assert await repo.mark_submitted(job.id, "req-1")
    assert await repo.mark_progress(job.id, "queued", 3)
    assert (await repo.get(job.id)).queue_position == 3  # type: ignore[union-attr]
    assert await repo.mark_progress(job.id, "running", None)
    assert await repo.mark_delivering(job.id, "https://cdn.example/v.mp4")
    assert await repo.mark_delivered(job.id, 777)
    final = await repo.get(job.id)
    assert final is not None and final.status == "delivered" and not final.is_open
    assert final.request_id == "req-1" and final.result_message_id == 777
    assert final.video_url == "https://cdn.example/v.mp4" and final.queue_position is None
    assert None not in (final.submitted_at, final.started_at, final.finished_at, final.delivered_at)
    kinds = [r[0] for r in await db.fetchall("SELECT kind FROM ledger ORDER BY id")]
    assert kinds == ["reserve", "commit"]
    assert await scalar(db, "SELECT used FROM quota_usage") == 8
    await assert_books_balance(db)


@pytest.mark.parametrize("status", sorted(OPEN_STATUSES))  # a stable order (xdist)
async def test_failing_any_open_job_refunds_once(db: SqlDatabase, repo: JobRepo, status: str):
    job = await drive(repo, await accepted(repo, cost=6), status)
    failed = await repo.mark_failed(job.id, "the provider failed")
    assert (
        failed is not None and failed.status == "failed" and failed.error == "the provider failed"
    )
    assert failed.finished_at is not None and failed.queue_position is None
    assert await scalar(db, "SELECT used FROM quota_usage") == 0
    before = (await ledger_count(db), await usage_rows(db), await row_of(db, job.id))
    assert await repo.mark_failed(job.id, "again") is None
    assert await repo.mark_cancelled(job.id, 1, (*OPEN_STATUSES, *CLOSED[:1])) is None
    assert (await ledger_count(db), await usage_rows(db), await row_of(db, job.id)) == before
    await assert_books_balance(db)


@pytest.mark.parametrize("status", sorted(CANCELLABLE_STATUSES))
async def test_cancelling_records_who_and_refunds_once(db: SqlDatabase, repo: JobRepo, status: str):
    job = await drive(repo, await accepted(repo, cost=6), status)
    cancelled = await repo.mark_cancelled(job.id, actor_id=4242)
    assert cancelled is not None and cancelled.status == "cancelled"
    assert cancelled.cancelled_by == 4242
    before = (await ledger_count(db), await usage_rows(db), await row_of(db, job.id))
    assert await repo.mark_cancelled(job.id, actor_id=1) is None
    assert await repo.mark_failed(job.id, "late") is None
    assert (await ledger_count(db), await usage_rows(db), await row_of(db, job.id)) == before
    assert (await repo.get(job.id)).cancelled_by == 4242  # type: ignore[union-attr]
    await assert_books_balance(db)


@pytest.mark.parametrize("status", ["submitting", "running", "delivering"])
async def test_a_job_past_the_queue_is_not_cancelled_by_default(repo: JobRepo, status: str):
    job = await drive(repo, await accepted(repo), status)
    assert await repo.mark_cancelled(job.id, actor_id=1) is None
    assert (await repo.get(job.id)).status == status  # type: ignore[union-attr]


async def test_the_provider_cancelling_a_running_job_is_allowed_explicitly(repo: JobRepo):
    job = await drive(repo, await accepted(repo), "running")
    cancelled = await repo.mark_cancelled(job.id, 0, ("queued", "running"))
    assert cancelled is not None and cancelled.cancelled_by == 0


def every_call(repo: JobRepo, job_id: int) -> list[Any]:
    return [
        repo.mark_submitting(job_id),
        repo.mark_submitted(job_id, f"late-{job_id}"),
        repo.mark_progress(job_id, "queued", 1),
        repo.mark_progress(job_id, "running", None),
        repo.mark_delivering(job_id, "https://cdn.example/late.mp4"),
        repo.mark_delivered(job_id, 1),
        repo.mark_failed(job_id, "late"),
        repo.mark_cancelled(job_id, 1),
        repo.mark_cancelled(job_id, 1, ("queued", "running")),
    ]


@pytest.mark.parametrize("closed", CLOSED)
async def test_a_closed_job_never_moves_again(db: SqlDatabase, repo: JobRepo, closed: str):
    job = await drive(repo, await accepted(repo, cost=3), closed)
    before = await row_of(db, job.id)
    books = (await ledger_count(db), await usage_rows(db))
    for call in every_call(repo, job.id):
        assert await call in (False, None)
    after = await row_of(db, job.id)
    assert after["status"] == closed
    # started_at is left out here; test_a_closed_job_row_is_left_untouched pins that bug.
    assert {k: v for k, v in after.items() if k != "started_at"} == {
        k: v for k, v in before.items() if k != "started_at"
    }
    assert (await ledger_count(db), await usage_rows(db)) == books


async def test_a_closed_job_row_is_left_untouched(db: SqlDatabase, repo: JobRepo):
    job = await drive(repo, await accepted(repo), "cancelled")
    before = await row_of(db, job.id)
    assert await repo.mark_progress(job.id, "running", None) is False
    assert await row_of(db, job.id) == before


async def test_unknown_job_ids_change_nothing(db: SqlDatabase, repo: JobRepo):
    await accepted(repo)
    books = (await ledger_count(db), await usage_rows(db))
    for call in every_call(repo, 9999):
        assert await call in (False, None)
    assert await repo.get(9999) is None
    assert (await ledger_count(db), await usage_rows(db)) == books


# --- a random mix of transitions, repeated and out of order --------------------------------------

# What each call does to a job, by status: (statuses it moves from, status it moves to).
MODEL: dict[str, tuple[tuple[str, ...], str]] = {
    "submitting": (("accepted",), "submitting"),
    "submitted": (("submitting",), "queued"),
    "progress_queued": (("queued", "running"), "queued"),
    "progress_running": (("queued", "running"), "running"),
    "delivering": (("queued", "running"), "delivering"),
    "delivered": (("delivering",), "delivered"),
    "failed": (OPEN_STATUSES, "failed"),
    "cancelled": (CANCELLABLE_STATUSES, "cancelled"),
    "cancelled_by_provider": (("queued", "running"), "cancelled"),
}
# Weighted towards moving forward, so that every status is reached often.
WEIGHTS = [5, 5, 2, 4, 4, 4, 1, 1, 1]


async def apply(repo: JobRepo, job_id: int, op: str, n: int, actor: int) -> Any:
    match op:
        case "submitting":
            return await repo.mark_submitting(job_id)
        case "submitted":
            return await repo.mark_submitted(job_id, f"req-{job_id}-{n}")
        case "progress_queued":
            return await repo.mark_progress(job_id, "queued", n % 7)
        case "progress_running":
            return await repo.mark_progress(job_id, "running", None)
        case "delivering":
            return await repo.mark_delivering(job_id, f"https://cdn.example/{job_id}.mp4")
        case "delivered":
            return await repo.mark_delivered(job_id, 1000 + n)
        case "failed":
            return await repo.mark_failed(job_id, f"failure {n}")
        case "cancelled":
            return await repo.mark_cancelled(job_id, actor)
        case "cancelled_by_provider":
            return await repo.mark_cancelled(job_id, 0, ("queued", "running"))
    raise AssertionError(op)


def moved(result: Any) -> bool:
    return result is True or isinstance(result, Job)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_random_transitions_keep_the_books_balanced(
    db: SqlDatabase, repo: JobRepo, seed: int
):
    rng = random.Random(seed)
    jobs: list[Job] = []
    for _ in range(30):
        jobs.append(
            await accepted(
                repo,
                guild=rng.choice([1, 2]),
                user=rng.choice([7, 8, 9]),
                period=rng.choice(["2025-03-01", "2025-03-02"]),
                cost=rng.randint(1, 60),
            )
        )
    status = {j.id: "accepted" for j in jobs}
    cancelled_by: dict[int, int] = {}
    ops = list(MODEL)

    # One call at a time: each result must be exactly what the model says.
    for n in range(400):
        job = rng.choice(jobs)
        op = rng.choices(ops, WEIGHTS)[0]
        actor = rng.randint(100, 200)
        before_books = (await ledger_count(db), await usage_rows(db))
        result = await apply(repo, job.id, op, n, actor)
        sources, target = MODEL[op]
        expected = status[job.id] in sources
        assert moved(result) == expected, (op, status[job.id], result)
        if expected:
            status[job.id] = target
            if target == "cancelled":
                cancelled_by[job.id] = 0 if op == "cancelled_by_provider" else actor
        else:
            # A refused call writes nothing to the books.
            assert (await ledger_count(db), await usage_rows(db)) == before_books
        assert (await repo.get(job.id)).status == status[job.id]  # type: ignore[union-attr]
    await assert_books_balance(db)

    # Many calls at once, duplicates and all: only the invariants can be checked.
    closed_before = {i: s for i, s in status.items() if s in CLOSED}
    for batch in range(15):
        calls = []
        for k in range(20):
            job = rng.choice(jobs)
            calls.append(
                apply(repo, job.id, rng.choices(ops, WEIGHTS)[0], 1000 + batch * 20 + k, 7)
            )
        await asyncio.gather(*calls)
        await assert_books_balance(db)
        for job_id, was in closed_before.items():
            assert (await repo.get(job_id)).status == was  # type: ignore[union-attr]
        rows = await db.fetchall("SELECT id, status FROM jobs")
        closed_before.update({r[0]: r[1] for r in rows if r[1] in CLOSED})

    # Finally close whatever is still open, twice over, concurrently.
    open_ids = [j.id for j in await repo.open_jobs()]
    await asyncio.gather(*(repo.mark_failed(i, "shutdown") for i in open_ids * 2))
    assert await repo.open_jobs() == []
    await assert_books_balance(db)
    refunds = Counter(
        r[0] for r in await db.fetchall("SELECT job_id FROM ledger WHERE kind = 'refund'")
    )
    assert max(refunds.values(), default=1) == 1
    for job_id, actor in cancelled_by.items():
        assert (await repo.get(job_id)).cancelled_by == actor  # type: ignore[union-attr]
    cancelled = await db.fetchall(
        "SELECT id FROM jobs WHERE status = 'cancelled' AND cancelled_by IS NULL"
    )
    assert cancelled == []
    assert Counter(status.values())["delivered"] > 0  # the mix really reached every end
    assert await scalar(db, "SELECT MIN(used) FROM quota_usage") >= 0


async def test_jobs_from_before_the_prompt_column_keep_their_prompt(tmp_path: Path):
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)  # a database as migration 0004 left it: the prompt in params
    for sql in sorted((Path(__file__).parents[2] / "db/migrations").glob("000[1-4]_*.sql")):
        raw.executescript(sql.read_text())
    raw.execute("PRAGMA user_version = 4")
    raw.execute(
        "INSERT INTO jobs (guild_id, channel_id, user_id, model_path, params, cost, period,"
        " upload_limit, status, created_at, updated_at) VALUES (1, 2, 3, 'm',"
        " '{\"text\": \"an old boat\"}', 5, 'p', 10, 'delivered', 0, 0)"
    )
    raw.commit()
    raw.close()
    db = await Database.open(path)
    try:
        job = await JobRepo(db).get(1)
        assert job is not None and job.prompt == "an old boat"
    finally:
        await db.close()
