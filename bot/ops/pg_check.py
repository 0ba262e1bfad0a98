"""`python -m bot check` on PostgreSQL (DATABASE_URL): the schema version and what start-up would
apply, read through a read-only connection. The URL is never printed (it may hold a password)."""

from __future__ import annotations

from bot.ops.report import Report
from db.database import SchemaTooNew
from db.postgres import PgDatabase, pg_latest_version
from db.sql import SqlDatabase


async def pg_database(url: str, report: Report) -> SqlDatabase | None:
    """Report the schema; return the database opened read-only when its schema is one this
    code knows and has a meta table to read, else None."""
    latest = pg_latest_version()
    try:
        db = await PgDatabase.open(url, read_only=True)
    except Exception as exc:
        report.problem(f"database: PostgreSQL (DATABASE_URL) cannot be opened: {exc}")
        return None
    try:
        version = await db.schema_version()
    except Exception as exc:
        version = -1
        report.problem(f"database: PostgreSQL (DATABASE_URL) cannot be read: {exc}")
    if version > latest:
        report.problem(str(SchemaTooNew(None, version, latest)))
    elif version == latest:
        report.line(f"database: PostgreSQL (DATABASE_URL), schema version {version} (up to date)")
    elif version > 0:
        pending = ", ".join(f"{v:04d}" for v in range(version + 1, latest + 1))
        report.line(
            f"database: PostgreSQL (DATABASE_URL), schema version {version};"
            f" start-up will apply {pending}"
        )
    elif version == 0:
        report.line(
            "database: PostgreSQL (DATABASE_URL), empty; start-up will create the schema"
            f" (version {latest})"
        )
    if 0 < version <= latest:
        return db
    await db.close()
    return None
