"""The credit reserve and the server budget under two OS processes on one PostgreSQL
(issue 13): 100 simultaneous accepts, half from a child process with its own pool, take
exactly what the limits allow, and the books balance."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from db.postgres import PgDatabase
from tests.backends import PgServer
from tests.integration.accept_burst import burst
from tests.integration.test_db import assert_books_balance, scalar

ROOT = Path(__file__).resolve().parents[2]


async def test_a_hundred_accepts_from_two_processes_take_exactly_the_budget(
    pg_server: PgServer, tmp_path: Path
):
    url = await pg_server.new_database()
    go = tmp_path / "go"
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.accept_burst",
            url,
            str(go),
            "50",
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE,
        )
        await asyncio.sleep(1.0)  # the child connects; then both go at once
        go.touch()
        here, (out, _) = await asyncio.gather(burst(url, go, 50), child.communicate())
        assert child.returncode == 0
        there = int(out.decode().strip())
        # Members 7 and 8 may each reserve 35 (7 jobs of 5); the server's 60 stops at 12.
        assert here + there == 12
        db = await PgDatabase.open(url, migrate=False)
        try:
            assert await scalar(db, "SELECT SUM(used) FROM quota_usage") == 60
            assert await scalar(db, "SELECT COUNT(*) FROM jobs") == 12
            await assert_books_balance(db)
        finally:
            await db.close()
    finally:
        await pg_server.drop(url)
