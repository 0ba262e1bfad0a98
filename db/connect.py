"""Which database the bot runs on: PostgreSQL when a `postgresql://` URL is given (several bot
processes can share it), else the sqlite file (one process; the default)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.core.hints import Hints
from db.database import Database
from db.notify import PgHints
from db.postgres import PgDatabase
from db.sql import SqlDatabase

URL_SCHEMES = ("postgresql://", "postgres://")


async def open_database(
    path: Path | str, url: str | None = None, *, migrate: bool = True, read_only: bool = False
) -> SqlDatabase:
    """The PostgreSQL database at `url` if there is one, else the sqlite file at `path`;
    migrated unless `migrate` is False or `read_only`."""
    if url:
        return await PgDatabase.open(url, migrate=migrate, read_only=read_only)
    return await Database.open(path, migrate=migrate, read_only=read_only)


@asynccontextmanager
async def hints_for(db: SqlDatabase, url: str | None) -> AsyncIterator[Hints | None]:
    """LISTEN/NOTIFY hints between the processes on a PostgreSQL database while the bot runs;
    None for the sqlite file (one process: its hints stay inside it)."""
    if not url:
        yield None
        return
    hints = PgHints(db, url)
    await hints.start()
    try:
        yield hints
    finally:
        await hints.close()
