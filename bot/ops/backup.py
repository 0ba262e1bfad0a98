"""`python -m bot backup PATH`: a consistent copy of the database, safe while the bot runs.

The copy goes through sqlite's online backup API from a read-only connection of this process
(db/backup.py), so the running bot keeps writing meanwhile and the copy holds whole
transactions only. PATH may be a folder: the copy is then named after the database and the time.
An existing file is never overwritten.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings
from bot.ops.report import Report
from db.backup import copy_file


async def run_backup(settings: Settings, dest: Path) -> int:
    report = Report(settings.discord_token, settings.runcomfy_api_token)
    if settings.database_url is not None:
        report.problem("backup: the database is PostgreSQL (DATABASE_URL); back it up with pg_dump")
        return report.exit_code
    source = settings.database_path
    dest = _destination(dest, source)
    refusal = _refusal(source, dest)
    if refusal:
        report.problem(refusal)
        return report.exit_code
    try:
        await copy_file(source, dest)
    except (OSError, sqlite3.Error) as exc:
        report.problem(f"backup of {source} failed: {exc}")
        return report.exit_code
    report.line(f"backed up {source} to {dest} (integrity check ok)")
    return report.exit_code


def _destination(dest: Path, source: Path) -> Path:
    if dest.is_dir():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return dest / f"{source.stem}-{stamp}.db"
    return dest


def _refusal(source: Path, dest: Path) -> str | None:
    if dest.exists():
        return f"{dest} exists already; give a new name (backups never overwrite)"
    if not source.is_file():
        return f"no database at {source} (DATABASE_PATH)"
    return None
