"""A second OS process for test_accept_processes.py: waits for the go file, then sends its
share of simultaneous accepts to the PostgreSQL database and prints how many were accepted.

    python -m tests.integration.accept_burst URL GO_FILE COUNT
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from bot.core.domain import Job, Limits
from db.jobs import JobRepo
from db.postgres import PgDatabase
from tests.integration.test_db import new_job

LIMITS = Limits(credits=35, max_active=1000, guild_budget=60)


async def burst(url: str, go: Path, count: int) -> int:
    db = await PgDatabase.open(url, migrate=False, min_size=10, max_size=10)
    try:
        repo = JobRepo(db, exclusive=False)
        deadline = time.monotonic() + 30
        while not go.exists() and time.monotonic() < deadline:  # noqa: ASYNC110 (a file)
            await asyncio.sleep(0.005)
        results = await asyncio.gather(
            *(repo.accept(new_job(user=7 + n % 2, cost=5), LIMITS) for n in range(count))
        )
        return sum(isinstance(r, Job) for r in results)
    finally:
        await db.close()


if __name__ == "__main__":
    url, go, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    print(asyncio.run(burst(url, go, count)))
