"""Cancelling a task at any await inside the database layer, on real sqlite files: no transaction
is left open, a transaction's writes are all there or none, the lock is free again, and the next
autocommit write really reaches the file."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import Any, cast

import aiosqlite
import pytest

from db.database import Database, Params

SCRATCH = "CREATE TABLE scratch (id INTEGER PRIMARY KEY, note TEXT NOT NULL UNIQUE)"
INSERT = "INSERT INTO scratch (note) VALUES (?)"


class Cancelling:
    """The real aiosqlite connection, except that handing it the `cancel_at`-th statement
    (counting from 1) cancels `victim`, and aiosqlite's thread then holds that statement back
    for 50 ms before it starts: code that does not wait for it finds it unfinished, not just
    when the thread happens to be slow."""

    def __init__(self, real: aiosqlite.Connection) -> None:
        self.real = real
        self.handed: list[str] = []
        self.cancel_at = 0
        self.victim: asyncio.Task[Any] | None = None
        self._hold: threading.Event | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def execute(self, sql: str, params: Params = ()) -> aiosqlite.Cursor:
        self.handed.append(sql)
        if len(self.handed) == self.cancel_at:
            assert self.victim is not None
            self._hold = hold = threading.Event()
            asyncio.get_running_loop().call_later(0.05, hold.set)
            self.victim.cancel()
        return await self.real.execute(sql, params)

    def trace(self, sql: str) -> None:
        """sqlite's trace callback: runs in aiosqlite's thread as each statement starts."""
        hold, self._hold = self._hold, None
        if hold is not None:
            hold.wait(5)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "cancel.db"


@pytest.fixture
async def plain(path: Path) -> AsyncIterator[Database]:
    database = await Database.open(path)
    await database.execute(SCRATCH)
    yield database
    await database.close()


@pytest.fixture
async def rigged(plain: Database) -> tuple[Database, Cancelling]:
    """A second Database on plain's connection; a test uses one of the two, not both."""
    conn = Cancelling(plain._conn)
    await conn.real.set_trace_callback(conn.trace)
    return Database(cast(aiosqlite.Connection, conn)), conn


def on_disk(path: Path) -> list[str]:
    """The notes committed to the file, read by a connection of its own."""
    with closing(sqlite3.connect(path)) as raw:
        return [r[0] for r in raw.execute("SELECT note FROM scratch ORDER BY id")]


async def outcome(task: asyncio.Task[Any]) -> str:
    try:
        await task
    except asyncio.CancelledError:
        return "cancelled"
    except RuntimeError:
        return "raised"
    return "done"


async def assert_sound(db: Database, conn: Any, path: Path, after: str) -> None:
    """What must hold once a cancelled task is done, before anything else runs."""
    assert not conn.in_transaction
    assert not db._lock.locked()
    await db.execute(INSERT, (after,))
    assert not conn.in_transaction
    assert on_disk(path)[-1] == after  # committed, not swallowed by a stray transaction


def commits(db: Database, tag: str) -> Callable[[], Awaitable[None]]:
    async def body() -> None:
        async with db.transaction() as tx:
            await tx.execute(INSERT, (f"{tag}-a",))
            await asyncio.sleep(0)
            await tx.execute(INSERT, (f"{tag}-b",))
            assert len(await tx.fetchall("SELECT * FROM scratch")) >= 2

    return body


def raises(db: Database, tag: str) -> Callable[[], Awaitable[None]]:
    async def body() -> None:
        async with db.transaction() as tx:
            await tx.execute(INSERT, (f"{tag}-a",))
            await tx.execute(INSERT, (f"{tag}-b",))
            raise RuntimeError("the body fails")

    return body


BODIES = {
    "commits": (
        commits,
        ["BEGIN IMMEDIATE", INSERT, INSERT, "SELECT * FROM scratch", "COMMIT"],
    ),
    "raises": (raises, ["BEGIN IMMEDIATE", INSERT, INSERT, "ROLLBACK"]),
}
CANCEL_POINTS = [
    (name, k) for name, (_, statements) in BODIES.items() for k in range(1, len(statements) + 1)
]


@pytest.mark.parametrize("name", list(BODIES))
async def test_the_statements_the_points_below_cancel_at(
    rigged: tuple[Database, Cancelling], path: Path, name: str
):
    db, conn = rigged
    make, statements = BODIES[name]
    result = await outcome(asyncio.create_task(make(db, "x")()))
    assert result == ("done" if name == "commits" else "raised")
    assert conn.handed == statements
    assert on_disk(path) == (["x-a", "x-b"] if name == "commits" else [])


@pytest.mark.parametrize(
    ("name", "k"), CANCEL_POINTS, ids=[f"{n}-at-statement-{k}" for n, k in CANCEL_POINTS]
)
async def test_cancelled_at_each_statement(
    rigged: tuple[Database, Cancelling], path: Path, name: str, k: int
):
    db, conn = rigged
    make, statements = BODIES[name]
    conn.cancel_at = k
    task = asyncio.create_task(make(db, "x")())
    conn.victim = task
    assert await outcome(task) == "cancelled"
    await assert_sound(db, conn, path, "after")
    at = statements[k - 1]
    assert on_disk(path) == (["x-a", "x-b"] if at == "COMMIT" else []) + ["after"]
    # Stopped right there, and rolled back unless it was COMMIT (seen through) or ROLLBACK.
    rollback = [] if at in ("COMMIT", "ROLLBACK") else ["ROLLBACK"]
    assert conn.handed == [*statements[:k], *rollback, INSERT]


@pytest.mark.parametrize("name", list(BODIES))
@pytest.mark.parametrize("contended", [False, True], ids=["alone", "contended"])
async def test_cancelled_after_n_loop_iterations(
    plain: Database, path: Path, name: str, contended: bool
):
    make, _ = BODIES[name]
    cancelled = 0
    # Each iteration to 40, then coarser: a statement takes a varying number of iterations (the
    # loop spins while aiosqlite's thread works), a whole transaction about a hundred or more.
    for n in [*range(40), *range(40, 1000, 25)]:
        # With a rival transaction started first, the first await is taking the lock.
        rival = asyncio.create_task(commits(plain, f"rival{n}")()) if contended else None
        task = asyncio.create_task(make(plain, f"{n}")())
        for _ in range(n):
            await asyncio.sleep(0)
        cancelled += task.cancel()
        result = await outcome(task)
        if rival is not None:
            assert await outcome(rival) == "done"
        assert not plain._conn.in_transaction
        rows = set(on_disk(path))
        written = {f"{n}-a", f"{n}-b"} & rows
        assert written in (set(), {f"{n}-a", f"{n}-b"}), (n, written)  # all or nothing
        if result == "done" or name == "raises":  # else cancelled: before COMMIT or during it
            assert bool(written) == (result == "done"), (n, result, written)
        await assert_sound(plain, plain._conn, path, f"after{n}")
    assert cancelled > 5  # the net really caught the task at many points


async def test_cancelled_while_waiting_for_the_lock(plain: Database, path: Path):
    inside, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with plain.transaction() as tx:
            await tx.execute(INSERT, ("holder",))
            inside.set()
            await release.wait()

    held = asyncio.create_task(holder())
    await inside.wait()
    waiter = asyncio.create_task(commits(plain, "waiter")())
    await asyncio.sleep(0.01)
    assert plain._lock.locked() and not waiter.done()
    waiter.cancel()
    assert await outcome(waiter) == "cancelled"
    release.set()
    assert await outcome(held) == "done"
    assert on_disk(path) == ["holder"]
    await assert_sound(plain, plain._conn, path, "after")


# The fetching calls get a statement that writes too, to see on disk that it ran.
OPS = {
    "execute": (Database.execute, INSERT),
    "fetchone": (Database.fetchone, INSERT + " RETURNING id"),
    "fetchall": (Database.fetchall, INSERT + " RETURNING id"),
}


@pytest.mark.parametrize("op", list(OPS))
async def test_a_cancelled_autocommit_statement_has_run_before_the_lock_is_free(
    rigged: tuple[Database, Cancelling], path: Path, op: str
):
    db, conn = rigged
    conn.cancel_at = 1
    call, sql = OPS[op]
    task = asyncio.create_task(call(db, sql, ("x",)))
    conn.victim = task
    assert await outcome(task) == "cancelled"
    assert on_disk(path) == ["x"]  # it ran, and was committed, before the task ended
    await assert_sound(db, conn, path, "after")
