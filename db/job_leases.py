"""Leases on job rows (issue 13): which process runs which job.

The jobs table is the queue. A process holds a job while `lease_owner` names it; it renews its
leases while alive, and once a lease's `lease_until` has passed, any process may claim the job.
On PostgreSQL two processes claiming at once skip each other's rows (`FOR UPDATE SKIP
LOCKED`), so each job is claimed by one; sqlite runs one statement at a time anyway.

Times are the processes' own clocks (seconds since the epoch): processes on several machines
need them synchronised (NTP), to well within the lease time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bot.core.domain import OPEN_STATUSES, sql_list
from db.sql import Row, SqlDatabase

_OPEN_SQL = sql_list(OPEN_STATUSES)


def _skip_locked(db: SqlDatabase) -> str:
    return " FOR UPDATE SKIP LOCKED" if db.dialect == "postgresql" else ""


async def claim(
    db: SqlDatabase, owner: str, seconds: float, *, everything: bool, limit: int
) -> Sequence[Row]:
    """Take up to `limit` open jobs that are free (no owner, or a lease run out), oldest
    first; with `everything` (a sole process starting), every open job.

    Jobs this process holds already are left out: one it has just accepted is started by the
    command that accepted it, with the member's interaction at hand."""
    now = time.time()
    free = (
        ""
        if everything
        else " AND (lease_owner IS NULL OR (lease_owner != :owner AND lease_until < :now))"
    )
    rows = await db.fetchall(
        "UPDATE jobs SET lease_owner = :owner, lease_until = :until WHERE id IN ("
        f"  SELECT id FROM jobs WHERE status IN {_OPEN_SQL}"
        f"{free} ORDER BY id LIMIT :limit{_skip_locked(db)})"
        " RETURNING *",
        {"owner": owner, "until": now + seconds, "now": now, "limit": limit},
    )
    return sorted(rows, key=lambda row: int(row["id"]))


async def renew(db: SqlDatabase, owner: str, seconds: float) -> set[int]:
    rows = await db.fetchall(
        "UPDATE jobs SET lease_until = ?"
        f" WHERE lease_owner = ? AND status IN {_OPEN_SQL} RETURNING id",
        (time.time() + seconds, owner),
    )
    return {int(row[0]) for row in rows}


async def hold(db: SqlDatabase, owner: str, seconds: float, job_id: int) -> bool:
    changed = await db.execute(
        "UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ?",
        (time.time() + seconds, job_id, owner),
    )
    return changed == 1


async def release(db: SqlDatabase, owner: str) -> int:
    return await db.execute(
        "UPDATE jobs SET lease_owner = NULL, lease_until = NULL"
        f" WHERE lease_owner = ? AND status IN {_OPEN_SQL}",
        (owner,),
    )
