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
from typing import Any, Literal, TypeVar

import aiosqlite

from db.backup import copy_to, migration_backup_path, prune_migration_backups, read_only_uri

log = logging.getLogger(__name__)

Params = Iterable[Any] | dict[str, Any]
T = TypeVar("T")


class SchemaTooNew(Exception):
    """The file was written by a newer version of the bot; running on it could corrupt it."""

    def __init__(self, path: Path | None, version: int, latest: int) -> None:
        where = f"the database {path}" if path else "the database"
        super().__init__(
            f"{where} has schema version {version}, newer than this version of the bot knows"
            f" ({latest}); run the newer version, or restore a backup made for this one"
        )
        self.version = version
        self.latest = latest


def latest_version() -> int:
    """The schema version this code's migrations lead to."""
    return len(_migrations())


class Database:
    """`db.sql.SqlDatabase` on one sqlite file (the PostgreSQL one is `db.postgres`)."""

    def __init__(self, conn: aiosqlite.Connection, path: Path | None = None) -> None:
        self._conn = conn
        self._path = path  # None in memory: nothing to back up
        self._lock = asyncio.Lock()

    @property
    def dialect(self) -> Literal["sqlite"]:
        return "sqlite"

    @classmethod
    async def open(
        cls, path: Path | str, *, migrate: bool = True, read_only: bool = False
    ) -> Database:
        """Open (creating it unless `read_only`) and bring the schema up to date (`migrate`).

        `read_only` is for looking without touching: `check`, the health probe. It raises
        `FileNotFoundError` rather than create a file, and never migrates.
        """
        memory = str(path) == ":memory:"
        if read_only:
            conn = await aiosqlite.connect(read_only_uri(path), uri=True, isolation_level=None)
        else:
            if not memory:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        conn.row_factory = aiosqlite.Row
        if not read_only:
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA busy_timeout = 5000")
        db = cls(conn, None if memory else Path(path))
        if migrate and not read_only:
            try:
                await db.migrate()
            except BaseException:
                await db.close()
                raise
        return db

    async def close(self) -> None:
        async with self._lock:
            await _complete(self._conn.close())

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def backup(self, dest: Path) -> None:
        """A consistent copy of this database in the new file `dest` (see db/backup.py)."""
        async with self._lock:
            await _complete(copy_to(self._conn, dest))

    async def migrate(self) -> int:
        """Apply every migration newer than the file's user_version; return the new version.

        All pending migrations run in one transaction, so a failure leaves the file exactly as
        it was. A database that had a schema already is first copied to `backups/` beside it
        (the last few are kept). A file newer than this code raises `SchemaTooNew`.
        """
        async with self._lock:
            row = await _complete(_fetchone(self._conn, "PRAGMA user_version"))
            current = int(row[0]) if row else 0
            migrations = _migrations()
            latest = len(migrations)
            if current > latest:
                raise SchemaTooNew(self._path, current, latest)
            pending = [(v, sql) for v, sql in migrations if v > current]
            if not pending:
                return current
            if current > 0 and self._path is not None:
                copy = migration_backup_path(self._path, current)
                await _complete(copy_to(self._conn, copy))
                prune_migration_backups(self._path)
                log.info("database at version %d copied to %s before migrating", current, copy)
            log.info("applying migrations %s", ", ".join(f"{v:04d}" for v, _ in pending))
            # executescript commits what is open before it starts, so the one transaction is
            # spelled out in the script; the version bumps are part of it.
            steps = "".join(f"{sql}\nPRAGMA user_version = {v};\n" for v, sql in pending)
            try:
                await _complete(self._conn.executescript(f"BEGIN;\n{steps}COMMIT;"))
            except BaseException:
                if self._conn.in_transaction:
                    await _complete(self._conn.execute("ROLLBACK"))
                raise
            return latest

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

    def __init__(self, conn: aiosqlite.Connection, path: Path | None = None) -> None:
        self._conn = conn
        self._path = path  # None in memory: nothing to back up

    @property
    def dialect(self) -> Literal["sqlite"]:
        return "sqlite"

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
