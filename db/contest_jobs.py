"""The link from a `/video contest:<n>` job to its contest (migration 0007): written by
`db.jobs.JobRepo.accept` in the job's own transaction (after `contest_room` said there is
room), settled here once the delivered video was entered or refused."""

from __future__ import annotations

from bot.core.contests.domain import JobLink
from bot.core.domain import OPEN_STATUSES, JobStatus, Refusal, sql_list
from db.contest_rows import LIVE_E
from db.sql import SqlDatabase, SqlTransaction

# A linked job still to become an entry: being made, or delivered and not yet entered.
_MAKING_SQL = sql_list(OPEN_STATUSES | {JobStatus.DELIVERED})


async def contest_room(
    tx: SqlTransaction, contest_id: int, user_id: int, now: float
) -> Refusal | None:
    """Inside the accept transaction (which runs one at a time per server): None when the
    member may start one more video for the contest, counting their live entries and their
    videos for it still being made; else why not. Two /video contest:<n> started together
    with room for one: the second sees the first's link and is refused, charging nothing."""
    row = await tx.fetchone(
        "SELECT c.number, c.phase, c.submissions_close_at, c.entries_per_member,"
        " (SELECT COUNT(*) FROM contest_entries e WHERE e.contest_id = c.id"
        f"   AND e.user_id = :u AND {LIVE_E}) AS entries,"
        " (SELECT COUNT(*) FROM job_contests l JOIN jobs j ON j.id = l.job_id"
        "   WHERE l.contest_id = c.id AND l.settled_at IS NULL AND j.user_id = :u"
        f"   AND j.status IN {_MAKING_SQL} AND NOT EXISTS (SELECT 1 FROM contest_entries e"
        "     WHERE e.contest_id = c.id AND e.job_id = l.job_id AND e.withdrawn_at IS NULL)"
        " ) AS making"
        " FROM contests c WHERE c.id = :c",
        {"c": contest_id, "u": user_id},
    )
    if row is None or row["phase"] != "submissions" or now >= row["submissions_close_at"]:
        number = int(row["number"]) if row is not None else None
        return Refusal("contest_closed", 0, 0, contest_number=number)
    entries, making, limit = int(row["entries"]), int(row["making"]), row["entries_per_member"]
    if entries + making >= limit:
        return Refusal(
            "contest_limit", entries, making, contest_number=int(row["number"]), entry_limit=limit
        )
    return None


class JobContestRepo:
    """`bot.core.contests.ports.JobContestStore` on sqlite."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def link_of(self, job_id: int) -> JobLink | None:
        row = await self._db.fetchone(
            "SELECT job_id, contest_id, settled_at, outcome FROM job_contests WHERE job_id = ?",
            (job_id,),
        )
        return JobLink(*row) if row else None

    async def settle(self, job_id: int, outcome: str, at: float) -> bool:
        row = await self._db.fetchone(
            "UPDATE job_contests SET settled_at = ?, outcome = ?"
            " WHERE job_id = ? AND settled_at IS NULL RETURNING job_id",
            (at, outcome, job_id),
        )
        return row is not None

    async def unsettled_delivered(self, limit: int = 100) -> list[int]:
        rows = await self._db.fetchall(
            "SELECT l.job_id FROM job_contests l JOIN jobs j ON j.id = l.job_id"
            " WHERE l.settled_at IS NULL AND j.status = ? ORDER BY l.job_id LIMIT ?",
            (JobStatus.DELIVERED, limit),
        )
        return [int(r[0]) for r in rows]
