"""One aiosqlite connection with migrations applied in order and tracked by PRAGMA user_version.

All statements go through one asyncio lock: aiosqlite shares a single connection between
coroutines, so without it one coroutine's statement could land inside another's transaction.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

Params = Iterable[Any] | dict[str, Any]


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
            await self._conn.close()

    async def migrate(self) -> int:
        """Apply every migration newer than the file's user_version; return the new version."""
        async with self._lock:
            row = await (await self._conn.execute("PRAGMA user_version")).fetchone()
            current = int(row[0]) if row else 0
            for version, sql in _migrations():
                if version <= current:
                    continue
                log.info("applying migration %04d", version)
                # executescript commits; the version bump is part of the same script.
                await self._conn.executescript(
                    f"BEGIN;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
                )
                current = version
            return current

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """BEGIN IMMEDIATE ... COMMIT under the lock; rolled back on any exception."""
        async with self._lock:
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                yield Transaction(self._conn)
            except BaseException:
                # Also when cancelled during BEGIN itself (it still ran in aiosqlite's thread):
                # a transaction left open would swallow every later write.
                if self._conn.in_transaction:
                    await asyncio.shield(self._conn.execute("ROLLBACK"))
                raise
            await asyncio.shield(self._conn.execute("COMMIT"))

    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        async with self._lock:
            return await (await self._conn.execute(sql, params)).fetchone()

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        async with self._lock:
            return list(await (await self._conn.execute(sql, params)).fetchall())

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement (atomic on its own); return the number of rows changed."""
        async with self._lock:
            cursor = await self._conn.execute(sql, params)
            return cursor.rowcount


class Transaction:
    """Statements inside one open transaction; only valid within `Database.transaction()`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        return await (await self._conn.execute(sql, params)).fetchone()

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        return list(await (await self._conn.execute(sql, params)).fetchall())

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        return cursor.rowcount


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
