"""What only the PostgreSQL backend has to show (the repository tests run on both engines in
test_db.py and test_contests_*.py): its migrations mirror sqlite's numbers and apply in one
transaction, once, even from two processes at once; a database newer than the code is refused;
a task cancelled anywhere in a transaction leaves no transaction open and its writes all there
or none; read-only handles refuse writes; a wrong URL's password never shows in the error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import asyncpg
import pytest

from db.database import SchemaTooNew, latest_version
from db.jobs import JobRepo
from db.postgres import DatabaseUnreachable, PgDatabase, pg_latest_version
from tests.backends import PgServer
from tests.integration.test_db import ROOMY, new_job


@pytest.fixture
async def empty_url(pg_server: PgServer) -> AsyncIterator[str]:
    """A new database without any schema."""
    url = await pg_server.new_database(migrated=False)
    yield url
    await pg_server.drop(url)


async def raw(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def migration_names(package: str) -> list[str]:
    return sorted(e.name for e in resources.files(package).iterdir() if e.name.endswith(".sql"))


def test_postgresql_migrations_mirror_sqlite_ones_number_for_number():
    assert migration_names("db.migrations_pg") == migration_names("db.migrations")
    assert pg_latest_version() == latest_version()


async def test_migrations_apply_once_and_record_every_version(empty_url: str):
    db = await PgDatabase.open(empty_url)
    try:
        assert await db.schema_version() == pg_latest_version()
        job = await JobRepo(db).accept(new_job(), ROOMY)
        assert await db.migrate() == pg_latest_version()  # nothing left to apply
    finally:
        await db.close()
    again = await PgDatabase.open(empty_url)  # CREATE TABLE twice would raise here
    try:
        assert await JobRepo(again).get(job.id) == job  # type: ignore[union-attr]
    finally:
        await again.close()
    rows = await raw(empty_url, "SELECT version FROM schema_version ORDER BY version")
    assert [r[0] for r in rows] == list(range(1, pg_latest_version() + 1))


async def test_two_processes_starting_at_once_migrate_once(empty_url: str):
    first, second = await asyncio.gather(PgDatabase.open(empty_url), PgDatabase.open(empty_url))
    await first.close()
    await second.close()
    rows = await raw(empty_url, "SELECT COUNT(*), MAX(version) FROM schema_version")
    assert tuple(rows[0]) == (pg_latest_version(), pg_latest_version())


async def test_a_failing_migration_leaves_the_database_as_it_was(empty_url: str):
    # A table in the way of migration 0002: 0001 must be rolled back with it.
    await raw(empty_url, "CREATE TABLE guild_policy (x INTEGER)")
    with pytest.raises(asyncpg.DuplicateTableError):
        await PgDatabase.open(empty_url)
    tables = await raw(empty_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert [r[0] for r in tables] == ["guild_policy"]


async def test_a_database_newer_than_the_code_is_refused(empty_url: str):
    db = await PgDatabase.open(empty_url)
    await db.execute("INSERT INTO schema_version VALUES (?, 0)", (pg_latest_version() + 1,))
    await db.close()
    with pytest.raises(SchemaTooNew, match=f"schema version {pg_latest_version() + 1}"):
        await PgDatabase.open(empty_url)
    looked = await PgDatabase.open(empty_url, migrate=False)  # looking is still allowed
    try:
        assert await looked.schema_version() == pg_latest_version() + 1
    finally:
        await looked.close()


async def test_read_only_handles_refuse_writes(pg_server: PgServer):
    url = await pg_server.new_database()
    db = await PgDatabase.open(url, read_only=True)
    try:
        assert await db.fetchall("SELECT * FROM jobs") == []
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await db.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
    finally:
        await db.close()
        await pg_server.drop(url)


async def test_a_wrong_password_is_not_repeated_in_the_error():
    with pytest.raises(DatabaseUnreachable) as caught:
        await PgDatabase.open("postgresql://someone:hunter2-secret@127.0.0.1:1/nowhere")
    assert "hunter2" not in str(caught.value) and caught.value.__cause__ is None


# --- cancelling at any point -----------------------------------------------------------------


async def open_transactions(url: str) -> int:
    rows = await raw(
        url,
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND state LIKE 'idle in transaction%'",
    )
    return int(rows[0][0])


async def outcome(task: asyncio.Task[Any]) -> str:
    try:
        await task
    except asyncio.CancelledError:
        return "cancelled"
    except RuntimeError:
        return "raised"
    return "done"


@pytest.mark.parametrize("fails", [False, True], ids=["commits", "raises"])
async def test_cancelled_after_n_loop_iterations(pg_server: PgServer, fails: bool):
    url = await pg_server.new_database()
    db = await PgDatabase.open(url, max_size=2)
    await db.execute("CREATE TABLE scratch (id SERIAL PRIMARY KEY, note TEXT NOT NULL UNIQUE)")

    async def body(tag: str) -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO scratch (note) VALUES (?)", (f"{tag}-a",))
            await asyncio.sleep(0)
            await tx.execute("INSERT INTO scratch (note) VALUES (?)", (f"{tag}-b",))
            if fails:
                raise RuntimeError("the body fails")

    cancelled = 0
    try:
        for n in [*range(30), *range(30, 600, 30)]:
            task = asyncio.create_task(body(str(n)))
            for _ in range(n):
                await asyncio.sleep(0)
            cancelled += task.cancel()
            result = await outcome(task)
            notes = {r[0] for r in await raw(url, "SELECT note FROM scratch")}
            written = {f"{n}-a", f"{n}-b"} & notes
            assert written in (set(), {f"{n}-a", f"{n}-b"}), (n, written)  # all or nothing
            if result == "done" or fails:
                assert bool(written) == (result == "done"), (n, result, written)
            assert await open_transactions(url) == 0, n  # the connection went back clean
            await db.execute("INSERT INTO scratch (note) VALUES (?)", (f"after{n}",))
            assert f"after{n}" in {r[0] for r in await raw(url, "SELECT note FROM scratch")}
    finally:
        await db.close()
        await pg_server.drop(url)
    assert cancelled > 5  # the net really caught the task at many points
