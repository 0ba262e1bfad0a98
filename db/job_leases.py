"""Leases on job rows (issue 13): which process runs which job.

The jobs table is the queue. A process holds a job while `lease_owner` names it; it renews its
leases while alive, and once a lease's `lease_until` has passed, any process may claim the job.
On PostgreSQL two processes claiming at once skip each other's rows (`FOR UPDATE SKIP
LOCKED`), so each job is claimed by one; sqlite runs one statement at a time anyway.

Times are the processes' own clocks (seconds since the epoch): processes on several machines
need them synchronised (NTP), to well within the lease time.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Collection, Sequence

from bot.core.domain import OPEN_STATUSES, sql_list
from db.sql import Row, SqlDatabase

_OPEN_SQL = sql_list(OPEN_STATUSES)
_BATCH = 500  # ids per statement (both engines cap the parameters of one)


def process_name() -> str:
    """A lease owner's name: unique per process, readable in the table (host and pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _skip_locked(db: SqlDatabase) -> str:
    return " FOR UPDATE SKIP LOCKED" if db.dialect == "postgresql" else ""


async def claim(
    db: SqlDatabase, owner: str, seconds: float, *, everything: bool, limit: int | None
) -> Sequence[Row]:
    """Take up to `limit` (None: all) open jobs that are free (no owner, or a lease run out,
    this process's own included: a job it holds but no longer runs), oldest first; with
    `everything` (a sole process starting), every open job.

    A job this process has just accepted holds a fresh lease, so it is left to the command
    that accepted it, which starts it with the member's interaction at hand."""
    now = time.time()
    free = "" if everything else " AND (lease_owner IS NULL OR lease_until < :now)"
    rows = await db.fetchall(
        "UPDATE jobs SET lease_owner = :owner, lease_until = :until WHERE id IN ("
        f"  SELECT id FROM jobs WHERE status IN {_OPEN_SQL}"
        f"{free} ORDER BY id LIMIT :limit{_skip_locked(db)})"
        " RETURNING *",
        {"owner": owner, "until": now + seconds, "now": now, "limit": limit or 2**31 - 1},
    )
    return sorted(rows, key=lambda row: int(row["id"]))


async def renew(db: SqlDatabase, owner: str, seconds: float, job_ids: Collection[int]) -> set[int]:
    """Extend the leases of these jobs, the ones this process runs; those it still holds.
    (Only those it runs: a job it holds but dropped, say after giving up on a database that
    was away, must run out, so that a process takes it up again.)"""
    held: set[int] = set()
    ids = sorted(job_ids)
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        marks = ", ".join("?" for _ in batch)
        rows = await db.fetchall(
            f"UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND id IN ({marks})"
            f" AND status IN {_OPEN_SQL} RETURNING id",
            (time.time() + seconds, owner, *batch),
        )
        held.update(int(row[0]) for row in rows)
    return held


async def hold(db: SqlDatabase, owner: str, seconds: float, job_id: int) -> bool:
    changed = await db.execute(
        "UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ?",
        (time.time() + seconds, job_id, owner),
    )
    return changed == 1


async def release(db: SqlDatabase, owner: str, keep: Collection[int]) -> int:
    kept = sorted(keep)
    spare = f" AND id NOT IN ({', '.join('?' for _ in kept)})" if kept else ""
    return await db.execute(
        "UPDATE jobs SET lease_owner = NULL, lease_until = NULL"
        f" WHERE lease_owner = ? AND status IN {_OPEN_SQL}{spare}",
        (owner, *kept),
    )
