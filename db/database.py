"""One aiosqlite connection with migrations applied in order and tracked by PRAGMA user_version.

All statements go through one asyncio lock: aiosqlite shares a single connection between
coroutines, so without it one coroutine's statement could land inside another's transaction.

Every statement is awaited with `_complete`, which does not give up when the task is cancelled:
aiosqlite's thread runs a statement it was handed whatever happens to the future awaiting it, so
stopping early would release the lock, or decide between COMMIT and ROLLBACK, before it ran.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

log = logging.getLogger(__name__)

Params = Iterable[Any] | dict[str, Any]
T = TypeVar("T")


class Database:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA busy_timeout = 5000")
        db = cls(conn)
        await db.migrate()
        return db

    async def close(self) -> None:
        async with self._lock:
            await _complete(self._conn.close())

    async def migrate(self) -> int:
        """Apply every migration newer than the file's user_version; return the new version."""
        async with self._lock:
            row = await _complete(_fetchone(self._conn, "PRAGMA user_version"))
            current = int(row[0]) if row else 0
            for version, sql in _migrations():
                if version <= current:
                    continue
                log.info("applying migration %04d", version)
                # executescript commits; the version bump is part of the same script.
                await _complete(
                    self._conn.executescript(
                        f"BEGIN;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
                    )
                )
                current = version
            return current

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """BEGIN IMMEDIATE ... COMMIT under the lock; rolled back on any exception.

        Safe to cancel anywhere: the statement in flight is finished first, then a transaction
        still open is rolled back, and only then is the lock released. A cancellation that
        arrives during COMMIT waits for COMMIT and then propagates, so a CancelledError from the
        end of the `async with` block does not mean the writes were undone: they are committed
        unless COMMIT itself failed (then they were rolled back).
        """
        async with self._lock:
            try:
                await _complete(self._conn.execute("BEGIN IMMEDIATE"))
                yield Transaction(self._conn)
                await _complete(self._conn.execute("COMMIT"))
            except BaseException:
                # Nothing is in flight here, so in_transaction is the truth; it is also still
                # set when COMMIT failed (a deferred constraint, say).
                if self._conn.in_transaction:
                    await _complete(self._conn.execute("ROLLBACK"))
                raise

    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        async with self._lock:
            return await _complete(_fetchone(self._conn, sql, params))

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        async with self._lock:
            return await _complete(_fetchall(self._conn, sql, params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement (atomic on its own); return the number of rows changed."""
        async with self._lock:
            return await _complete(_execute(self._conn, sql, params))


class Transaction:
    """Statements inside one open transaction; only valid within `Database.transaction()`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        return await _complete(_fetchone(self._conn, sql, params))

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        return await _complete(_fetchall(self._conn, sql, params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        return await _complete(_execute(self._conn, sql, params))


async def _complete(step: Awaitable[T]) -> T:
    """Await `step` to the end even if this task is cancelled meanwhile, then re-raise that
    cancellation (it wins over the step's own result or error)."""
    task = asyncio.ensure_future(step)
    cancelled: asyncio.CancelledError | None = None
    while not task.done():
        try:
            await asyncio.wait([task])
        except asyncio.CancelledError as exc:
            cancelled = exc
    if cancelled is not None:
        if not task.cancelled():
            task.exception()  # seen: it is superseded by the cancellation
        raise cancelled
    return task.result()


async def _fetchone(
    conn: aiosqlite.Connection, sql: str, params: Params = ()
) -> aiosqlite.Row | None:
    return await (await conn.execute(sql, params)).fetchone()


async def _fetchall(conn: aiosqlite.Connection, sql: str, params: Params) -> list[aiosqlite.Row]:
    return list(await (await conn.execute(sql, params)).fetchall())


async def _execute(conn: aiosqlite.Connection, sql: str, params: Params) -> int:
    return (await conn.execute(sql, params)).rowcount


def _migrations() -> list[tuple[int, str]]:
    found = []
    for entry in resources.files("db.migrations").iterdir():
        match = re.fullmatch(r"(\d{4})_\w+\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"migrations must be numbered 0001, 0002, ... without gaps: {versions}")
    return found
