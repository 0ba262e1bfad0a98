"""`python -m bot backup` while jobs are being written, the copy taken before migrations, and the
refusal to run on a database from a newer bot. Real sqlite files throughout."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

import db.database
from bot.core.domain import Job
from db.backup import KEEP_MIGRATION_BACKUPS
from db.database import Database, SchemaTooNew, latest_version
from db.jobs import JobRepo
from tests.integration.opsrun import bot_cli, database_at_version, user_version
from tests.integration.test_db import ROOMY, new_job


def integrity(path: Path) -> str:
    raw = sqlite3.connect(path)
    try:
        return str(raw.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        raw.close()


def counts(path: Path) -> tuple[int, int, int, int]:
    """Jobs, reserve rows, credits used, credits the ledger accounts for."""
    raw = sqlite3.connect(path)
    try:
        jobs = raw.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        reserves = raw.execute("SELECT COUNT(*) FROM ledger WHERE kind = 'reserve'").fetchone()[0]
        used = raw.execute("SELECT COALESCE(SUM(used), 0) FROM quota_usage").fetchone()[0]
        booked = raw.execute("SELECT COALESCE(SUM(amount), 0) FROM ledger").fetchone()[0]
        return jobs, reserves, used, booked
    finally:
        raw.close()


async def test_a_backup_taken_while_jobs_are_written_is_whole(tmp_path: Path):
    source = tmp_path / "data" / "bot.db"
    live = await Database.open(source)
    repo = JobRepo(live)
    written = 0
    stop, going = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        # Each accept is one transaction: a job, its reserve row and the member's usage.
        nonlocal written
        while not stop.is_set():
            job = await repo.accept(new_job(user=written % 13, cost=1 + written % 4), ROOMY)
            assert isinstance(job, Job)
            written += 1
            if written == 50:
                going.set()
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    try:
        await going.wait()
        before = written
        copy = tmp_path / "copy.db"
        result = await bot_cli(tmp_path, {"DATABASE_PATH": str(source)}, "backup", str(copy))
        after = written
    finally:
        stop.set()
        await task
        await live.close()
    assert result.code == 0, result.both
    assert f"backed up {source} to {copy}" in result.out
    assert after > before  # the writer kept going while the copy was taken
    assert integrity(copy) == "ok"
    jobs, reserves, used, booked = counts(copy)
    assert before <= jobs <= after
    assert reserves == jobs and used == booked  # whole transactions only
    assert user_version(copy) == latest_version()
    assert not list(copy.parent.glob(".*.partial"))


async def test_a_folder_gets_a_named_copy_and_nothing_is_overwritten(tmp_path: Path):
    source = tmp_path / "bot.db"
    await (await Database.open(source)).close()
    folder = tmp_path / "backups"
    folder.mkdir()
    env = {"DATABASE_PATH": str(source)}
    first = await bot_cli(tmp_path, env, "backup", str(folder))
    assert first.code == 0, first.both
    [made] = folder.iterdir()
    assert made.name.startswith("bot-") and made.suffix == ".db"
    stamp = made.stat().st_mtime_ns

    again = await bot_cli(tmp_path, env, "backup", str(made))
    assert again.code == 1
    assert again.problems == [
        f"problem: {made} exists already; give a new name (backups never overwrite)"
    ]
    assert made.stat().st_mtime_ns == stamp


async def test_backing_up_a_missing_database_creates_nothing(tmp_path: Path):
    source = tmp_path / "absent.db"
    result = await bot_cli(
        tmp_path, {"DATABASE_PATH": str(source)}, "backup", str(tmp_path / "c.db")
    )
    assert result.code == 1
    assert result.problems == [f"problem: no database at {source} (DATABASE_PATH)"]
    assert not source.exists() and not (tmp_path / "c.db").exists()


async def test_migrations_first_copy_the_old_database_to_backups(tmp_path: Path):
    path = tmp_path / "bot.db"
    database_at_version(path, 4)
    opened = await Database.open(path)
    await opened.close()
    assert user_version(path) == latest_version()
    [copy] = (tmp_path / "backups").iterdir()
    assert copy.name.startswith("bot-v4-")
    assert user_version(copy) == 4 and integrity(copy) == "ok"
    raw = sqlite3.connect(copy)
    assert raw.execute("SELECT value FROM meta WHERE key = 'kept'").fetchone() == (
        "from the old version",
    )
    raw.close()


async def test_no_copy_for_a_new_database_or_one_already_up_to_date(tmp_path: Path):
    path = tmp_path / "bot.db"
    for _ in range(2):
        await (await Database.open(path)).close()
    assert not (tmp_path / "backups").exists()


async def test_only_the_last_few_migration_backups_are_kept(tmp_path: Path):
    path = tmp_path / "bot.db"
    backups = tmp_path / "backups"
    backups.mkdir()
    old = []
    for i in range(KEEP_MIGRATION_BACKUPS + 1):
        made = backups / f"bot-v3-2020010{i}T000000Z.db"
        made.write_bytes(b"")
        os.utime(made, ns=(i * 10**9, i * 10**9))  # oldest first
        old.append(made)
    other = backups / "notes.txt"
    other.write_text("an operator's own file")
    database_at_version(path, 4)
    await (await Database.open(path)).close()
    kept = sorted(p.name for p in backups.glob("bot-v*.db"))
    assert len(kept) == KEEP_MIGRATION_BACKUPS
    assert [p.name for p in old[-(KEEP_MIGRATION_BACKUPS - 1) :]] == kept[:-1]
    assert kept[-1].startswith("bot-v4-")  # the new one is among them
    assert other.exists()


async def test_a_failing_migration_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # No local server can show a broken migration file, so one is added to the list.
    path = tmp_path / "bot.db"
    database_at_version(path, 4)
    shipped = db.database._migrations()
    broken = (
        len(shipped) + 1,
        "CREATE TABLE half_done (x INTEGER);\nINSERT INTO nowhere VALUES (1);",
    )
    monkeypatch.setattr(db.database, "_migrations", lambda: [*shipped, broken])
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        await Database.open(path)
    assert user_version(path) == 4  # 0005.. were in the same transaction: undone too
    raw = sqlite3.connect(path)
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    raw.close()
    assert "half_done" not in tables
    assert len(list((tmp_path / "backups").iterdir())) == 1  # the copy was taken first


async def test_a_database_from_a_newer_bot_is_refused(tmp_path: Path):
    path = tmp_path / "bot.db"
    newer = latest_version() + 1
    database_at_version(path, newer)
    with pytest.raises(SchemaTooNew):
        await Database.open(path)

    env = {"DATABASE_PATH": str(path), "DISCORD_TOKEN": "a-token-for-a-bot-that-never-starts"}
    result = await bot_cli(tmp_path, env, "run")
    assert result.code == 2
    assert result.out == ""
    assert result.err.splitlines() == [
        f"seedance-bot: the database {path} has schema version {newer}, newer than this version"
        f" of the bot knows ({latest_version()}); run the newer version, or restore a backup"
        " made for this one"
    ]
    assert user_version(path) == newer
    assert not (tmp_path / "backups").exists()
