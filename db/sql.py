"""What the repositories need from a database, whichever engine it is: the `SqlDatabase` and
`SqlTransaction` shapes that the sqlite `db.database.Database` and the PostgreSQL
`db.postgres.PgDatabase` both have, and the few fragments of SQL that differ between them.

Repositories write one SQL text with sqlite's placeholders (`?` or `:name`); the PostgreSQL
backend translates them. Where the engines disagree (row locks, JSON functions, serialising the
credit reserve) a repository asks the helpers below by the handle's `dialect`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

Params = Iterable[Any] | dict[str, Any]
Dialect = Literal["sqlite", "postgresql"]


class Row(Protocol):
    """A result row: by position, by column name, `dict(row)` and `tuple(row)` (aiosqlite's
    `Row` and asyncpg's `Record` both are one)."""

    def __getitem__(self, key: Any, /) -> Any: ...
    def keys(self) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...


class SqlTransaction(Protocol):
    """Statements inside one open transaction."""

    @property
    def dialect(self) -> Dialect: ...
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...
    async def fetchall(self, sql: str, params: Params = ()) -> Sequence[Row]: ...
    async def execute(self, sql: str, params: Params = ()) -> int: ...


class SqlDatabase(Protocol):
    """A database handle: statements on their own (each atomic) and transactions."""

    @property
    def dialect(self) -> Dialect: ...
    def transaction(self) -> AbstractAsyncContextManager[SqlTransaction]: ...
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...
    async def fetchall(self, sql: str, params: Params = ()) -> Sequence[Row]: ...
    async def execute(self, sql: str, params: Params = ()) -> int: ...
    async def schema_version(self) -> int: ...
    async def migrate(self) -> int: ...
    async def close(self) -> None: ...


class IntegrityError(Exception):
    """A constraint or a refusing trigger stopped a statement on PostgreSQL (its class 23);
    the message is the trigger's reason, e.g. 'contest:entry_limit'."""


# What a repository catches for "the database refused this row", on either engine.
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, IntegrityError)


def for_update(db: SqlDatabase | SqlTransaction) -> str:
    """Appended to a SELECT inside a transaction to lock the rows it read until the end.
    sqlite needs none: its transactions (BEGIN IMMEDIATE) already run one at a time."""
    return " FOR UPDATE" if db.dialect == "postgresql" else ""


async def serialize(tx: SqlTransaction, key: str) -> None:
    """Make transactions that pass the same `key` run one after another from here on. On
    PostgreSQL that is a transaction-scoped advisory lock (held to COMMIT or ROLLBACK), for
    checks that read rows a row lock cannot cover (a sum over a server's members, a count of
    jobs not inserted yet); sqlite's transactions are serial already."""
    if tx.dialect == "postgresql":
        await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (key,))


def json_text(db: SqlDatabase, column: str, key: str) -> str:
    """The SQL for the text at top-level `key` of the JSON text in `column`."""
    if db.dialect == "postgresql":
        return f"({column}::jsonb ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def json_without(db: SqlDatabase, column: str, keys: Sequence[str]) -> tuple[str, list[str]]:
    """The SQL for the JSON text in `column` without the top-level `keys`, and its parameters
    (one `?` each, in order)."""
    if db.dialect == "postgresql":
        expr = f"{column}::jsonb"
        for _ in keys:
            expr = f"({expr} - ?)"
        return f"({expr})::text", list(keys)
    expr = column
    for _ in keys:
        expr = f"json_remove({expr}, ?)"
    return expr, [f'$."{k}"' for k in keys]
