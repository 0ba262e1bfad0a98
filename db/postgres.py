"""The PostgreSQL backend (asyncpg): a connection pool with the same statements, transactions and
migrations as the sqlite `db.database.Database`, for several bot processes on one database.

Repositories write sqlite's placeholders; `db.pg_params.translate` turns them into asyncpg's.
Migrations are `db/migrations_pg/NNNN_*.sql`, numbered like sqlite's (the same number is the
same schema), applied in one transaction under an advisory lock (two processes starting at once
migrate once) and recorded in the `schema_version` table.

Every statement and COMMIT is awaited with `_complete`, like sqlite's: a cancelled task waits for
the statement it sent, so a transaction is always ended (committed or rolled back) before its
connection goes back to the pool, and a CancelledError out of COMMIT means it did commit.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from typing import TYPE_CHECKING, Literal, TypeAlias, TypeVar

import asyncpg

from db.database import SchemaTooNew, _complete
from db.pg_params import translate
from db.sql import Dialect, IntegrityError, Params

log = logging.getLogger(__name__)

T = TypeVar("T")
if TYPE_CHECKING:  # asyncpg's classes are generic in its stubs only
    from asyncpg.pool import PoolConnectionProxy

    Conn: TypeAlias = PoolConnectionProxy[asyncpg.Record]

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
_MIGRATE_LOCK = "seedance:migrate"
_SCHEMA_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version"
    " (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
)


class DatabaseUnreachable(ConnectionError):
    """PostgreSQL could not be reached or refused the login (the URL itself is not repeated)."""


def pg_latest_version() -> int:
    """The schema version this code's PostgreSQL migrations lead to."""
    return len(_migrations())


class PgDatabase:
    """`db.sql.SqlDatabase` on a pool of asyncpg connections."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @property
    def dialect(self) -> Literal["postgresql"]:
        return "postgresql"

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        read_only: bool = False,
        min_size: int = 1,
        max_size: int = 10,
    ) -> PgDatabase:
        """Connect (`url` is a secret: it may hold a password, so it is never logged or put in
        an error) and bring the schema up to date (`migrate`). `read_only` connections refuse
        every write, for looking without touching."""
        settings = {"default_transaction_read_only": "on"} if read_only else {}
        try:
            pool = await asyncpg.create_pool(
                url, min_size=min_size, max_size=max_size, server_settings=settings
            )
        except (OSError, asyncpg.PostgresError, ValueError) as exc:
            # asyncpg's own message can quote the address; say what kind of failure it was.
            raise DatabaseUnreachable(
                f"cannot connect to PostgreSQL at DATABASE_URL: {type(exc).__name__}"
            ) from None
        db = cls(pool)
        if migrate and not read_only:
            try:
                await db.migrate()
            except BaseException:
                await db.close()
                raise
        return db

    async def close(self) -> None:
        await _complete(self._pool.close())

    async def schema_version(self) -> int:
        async with self._pool.acquire() as conn:
            return await _complete(_version(conn))

    async def migrate(self) -> int:
        """Apply every migration newer than the recorded version, all in one transaction;
        return the new version. A database newer than this code raises `SchemaTooNew`."""
        migrations = _migrations()
        latest = len(migrations)
        async with self._pool.acquire() as conn:
            try:
                await _complete(conn.execute("BEGIN"))
                await _complete(conn.execute(_LOCK, _MIGRATE_LOCK))
                await _complete(conn.execute(_SCHEMA_TABLE))
                current = await _complete(_version(conn))
                if current > latest:
                    raise SchemaTooNew(None, current, latest)
                pending = [(v, sql) for v, sql in migrations if v > current]
                if pending:
                    log.info("applying migrations %s", ", ".join(f"{v:04d}" for v, _ in pending))
                for version, sql in pending:
                    await _complete(conn.execute(sql))
                    await _complete(
                        conn.execute(
                            "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
                            version,
                            time.time(),
                        )
                    )
                await _complete(conn.execute("COMMIT"))
            except BaseException:
                if conn.is_in_transaction():
                    await _complete(conn.execute("ROLLBACK"))
                raise
        return latest if pending else current

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgTransaction]:
        """BEGIN ... COMMIT on one pooled connection (READ COMMITTED); rolled back on any
        exception. Repositories lock what they read-then-write (`db.sql.for_update`,
        `db.sql.serialize`), since unlike sqlite's these transactions run side by side."""
        async with self._pool.acquire() as conn:
            try:
                await _complete(conn.execute("BEGIN"))
                yield PgTransaction(conn)
                await _complete(conn.execute("COMMIT"))
            except BaseException:
                if conn.is_in_transaction():  # also after a failed statement
                    await _complete(conn.execute("ROLLBACK"))
                raise

    async def fetchone(self, sql: str, params: Params = ()) -> asyncpg.Record | None:
        async with self._pool.acquire() as conn:
            return await PgTransaction(conn).fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[asyncpg.Record]:
        async with self._pool.acquire() as conn:
            return await PgTransaction(conn).fetchall(sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement (atomic on its own); return the number of rows it changed."""
        async with self._pool.acquire() as conn:
            return await PgTransaction(conn).execute(sql, params)


class PgTransaction:
    """Statements on one connection: inside `PgDatabase.transaction()`, its transaction's."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        return "postgresql"

    async def fetchone(self, sql: str, params: Params = ()) -> asyncpg.Record | None:
        text, args = translate(sql, params)
        return await _run(self._conn.fetchrow(text, *args))

    async def fetchall(self, sql: str, params: Params = ()) -> list[asyncpg.Record]:
        text, args = translate(sql, params)
        return await _run(self._conn.fetch(text, *args))

    async def execute(self, sql: str, params: Params = ()) -> int:
        text, args = translate(sql, params)
        return _count(await _run(self._conn.execute(text, *args)))


async def _run(step: Awaitable[T]) -> T:
    try:
        return await _complete(step)
    except asyncpg.IntegrityConstraintViolationError as exc:
        # A refusing trigger's reason (or the constraint's message), without the driver type.
        raise IntegrityError(str(exc)) from exc


async def _version(conn: Conn) -> int:
    if await conn.fetchval("SELECT to_regclass('schema_version')") is None:
        return 0
    return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))


def _count(status: str) -> int:
    """Rows changed, from a command tag such as 'UPDATE 3' or 'INSERT 0 1'."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _migrations() -> Sequence[tuple[int, str]]:
    found = []
    for entry in resources.files("db.migrations_pg").iterdir():
        match = re.fullmatch(r"(\d{4})_\w+\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"migrations must be numbered 0001, 0002, ... without gaps: {versions}")
    return found
