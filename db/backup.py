"""Consistent copies of the database through sqlite's online backup API.

The copy is taken in one backup step (`pages=0`), which holds a read transaction on the source
for its whole length: in WAL mode writers carry on meanwhile and the copy is the database as it
was when the step began, never half of a transaction. (A step-by-step backup would restart each
time another connection writes, and could never finish under a steady stream of jobs.)

The copy is written beside its destination under a temporary name and renamed into place, so a
crash or a full disk never leaves a half-written file at the name an operator will restore from.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

# Migration backups kept in `backups/` beside the database; older ones are deleted.
KEEP_MIGRATION_BACKUPS = 5


async def copy_to(conn: aiosqlite.Connection, dest: Path) -> None:
    """Copy the database open on `conn` into the new file `dest`, then check the copy."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.partial")
    partial.unlink(missing_ok=True)
    # aiosqlite runs the backup on the source's thread: the target must allow that.
    target = sqlite3.connect(partial, check_same_thread=False)
    try:
        await conn.backup(target, pages=0)
        # A copy is only worth keeping if it reads back whole (off the event loop: a big
        # database takes a while to read).
        verdict = await asyncio.to_thread(_integrity, target)
        if verdict != "ok":
            raise sqlite3.DatabaseError(f"the copy failed its integrity check: {verdict}")
    except BaseException:
        target.close()
        partial.unlink(missing_ok=True)
        raise
    target.close()
    os.replace(partial, dest)


async def copy_file(source: Path, dest: Path) -> None:
    """Copy the database file `source` (another process may be writing it) into `dest`."""
    # Read-only: the copy must not create, migrate or otherwise touch the live database.
    conn = await aiosqlite.connect(read_only_uri(source), uri=True)
    try:
        await conn.execute("PRAGMA busy_timeout = 5000")
        await copy_to(conn, dest)
    finally:
        await conn.close()


def read_only_uri(path: Path | str) -> str:
    """The URI that opens an existing database file read-only (sqlite would create a missing
    one, so that is refused here)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no database at {path}")
    return f"{Path(path).resolve().as_uri()}?mode=ro"


def migration_backup_path(database: Path, version: int) -> Path:
    """`backups/<name>-v<version>-<UTC time>.db` beside the database; a new name each time."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = database.parent / "backups"
    base = f"{database.stem}-v{version}-{stamp}"
    candidate = folder / f"{base}.db"
    n = 1
    while candidate.exists():  # two migrations within one second (tests, a crash loop)
        n += 1
        candidate = folder / f"{base}-{n}.db"
    return candidate


def prune_migration_backups(database: Path, keep: int = KEEP_MIGRATION_BACKUPS) -> list[Path]:
    """Delete all but the `keep` newest migration backups of `database`; return the deleted."""
    folder = database.parent / "backups"
    found = [p for p in folder.glob(f"{database.stem}-v*.db") if p.is_file()]
    found.sort(key=lambda p: (p.stat().st_mtime_ns, p.name))
    old = found[: max(0, len(found) - keep)]
    for path in old:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return old


def _integrity(conn: sqlite3.Connection) -> str:
    row = conn.execute("PRAGMA integrity_check").fetchone()
    return str(row[0]) if row else "no answer"
