"""Job rows and their life cycle. Each transition is one conditional UPDATE, so racing writers
(a poller, a cancel button, a restart) can never move a job backwards or finish it twice; the
transitions that move credits write their ledger row in the same transaction."""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from typing import Any

from bot.core.domain import (
    CANCELLABLE_STATUSES,
    OPEN_STATUSES,
    WAITING_STATUSES,
    Duplicate,
    Job,
    JobStatus,
    Limits,
    NewJob,
    Refusal,
    sql_list,
)
from db import job_leases as leases
from db.contest_jobs import contest_room
from db.ledger import ledger_entry
from db.sql import Row, SqlDatabase, SqlTransaction, for_update, json_text, serialize

_OPEN_SQL = sql_list(OPEN_STATUSES)
_WAITING_SQL = sql_list(WAITING_STATUSES)
# Not yet generating: a repeat of one of these is a double click, however long it has waited.
_UNSTARTED_SQL = sql_list(frozenset({JobStatus.ACCEPTED, JobStatus.SUBMITTING, JobStatus.QUEUED}))


def _job(row: Row) -> Job:
    values = dict(row)
    values["params"] = json.loads(values["params"])
    values["status"] = JobStatus(values["status"])
    values["seed_by_bot"] = bool(values["seed_by_bot"])
    return Job(**values)


class JobRepo:
    """`owner` names this process in the leases it holds; `exclusive` says it is the only
    process on this database (sqlite's case), so at start it takes every open job at once
    instead of waiting for the leases of its own previous run to run out."""

    def __init__(
        self,
        db: SqlDatabase,
        *,
        owner: str | None = None,
        lease_seconds: float = 30.0,
        exclusive: bool | None = None,
    ) -> None:
        self._db = db
        self.owner = owner or leases.process_name()
        self.lease_seconds = lease_seconds
        self.exclusive = db.dialect == "sqlite" if exclusive is None else exclusive

    async def accept(self, new: NewJob, limits: Limits) -> Job | Refusal | Duplicate:
        """Reserve the cost and create the job in one transaction, or say why not. The
        duplicate check is in the same transaction, so of two identical requests racing in,
        the first becomes the job and the second sees it.

        On PostgreSQL, whose transactions run side by side, the server's accepts are first
        serialised (the budget is a sum over all its members, and the active count counts jobs
        another transaction may be inserting); sqlite's run one at a time anyway."""
        now = time.time()
        key = {"g": new.guild_id, "u": new.user_id, "p": new.period}
        async with self._db.transaction() as tx:
            await serialize(tx, f"reserve:{new.guild_id}")
            if new.duplicate_since is not None and new.fingerprint is not None:
                earlier = await tx.fetchone(
                    "SELECT * FROM jobs WHERE guild_id = ? AND user_id = ? AND fingerprint = ?"
                    f" AND (created_at > ? OR status IN {_UNSTARTED_SQL}) AND id != ?"
                    " ORDER BY id DESC",
                    (
                        new.guild_id,
                        new.user_id,
                        new.fingerprint,
                        new.duplicate_since,
                        -1 if new.again_of is None else new.again_of,
                    ),
                )
                if earlier is not None:
                    return Duplicate(_job(earlier))
            if new.contest_id is not None:  # /video contest:<n>: room for one more entry?
                full = await contest_room(tx, new.contest_id, new.user_id, now)
                if full is not None:
                    return full
            await tx.execute(
                "INSERT INTO quota_usage (guild_id, user_id, period, used)"
                " VALUES (:g, :u, :p, 0) ON CONFLICT DO NOTHING",
                key,
            )
            reserved = await tx.fetchone(
                "UPDATE quota_usage SET used = used + :cost"
                " WHERE guild_id = :g AND user_id = :u AND period = :p"
                "   AND used + :cost <= :credits + granted"
                "   AND (SELECT COUNT(*) FROM jobs WHERE guild_id = :g AND user_id = :u"
                f"        AND status IN {_OPEN_SQL}) < :max_active"
                "   AND (CAST(:budget AS BIGINT) IS NULL OR :cost + (SELECT SUM(used)"
                "        FROM quota_usage WHERE guild_id = :g AND period = :p)"
                "        <= CAST(:budget AS BIGINT))"
                " RETURNING used",
                {
                    **key,
                    "cost": new.cost,
                    "credits": limits.credits,
                    "max_active": limits.max_active,
                    "budget": limits.guild_budget,
                },
            )
            if reserved is None:
                return await _refusal(tx, new, limits)
            row = await tx.fetchone(
                "INSERT INTO jobs (guild_id, channel_id, user_id, model_path, params, cost,"
                " period, upload_limit, status, created_at, updated_at, fingerprint, seed_by_bot,"
                " prompt, lease_owner, lease_until)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (
                    new.guild_id,
                    new.channel_id,
                    new.user_id,
                    new.model_path,
                    json.dumps(new.params),
                    new.cost,
                    new.period,
                    new.upload_limit,
                    JobStatus.ACCEPTED,
                    now,
                    now,
                    new.fingerprint,
                    int(new.seed_by_bot),
                    new.prompt,
                    self.owner,  # the process that accepted it runs it
                    now + self.lease_seconds,
                ),
            )
            assert row is not None  # its reserve ledger row comes from a trigger (0003)
            if new.contest_id is not None:  # /video contest:<n>: entered once delivered (0007)
                await tx.execute(
                    "INSERT INTO job_contests (job_id, contest_id) VALUES (?, ?)",
                    (row["id"], new.contest_id),
                )
        return _job(row)

    # --- leases (issue 13): db/job_leases.py --------------------------------------------

    async def claim(self, *, at_start: bool = False, limit: int | None = 500) -> list[Job]:
        """Take the open jobs nobody holds (or whose holder stopped renewing) and return them;
        at start, an exclusive process takes every open job."""
        rows = await leases.claim(
            self._db,
            self.owner,
            self.lease_seconds,
            everything=at_start and self.exclusive,
            limit=None if at_start else limit,
        )
        return [_job(row) for row in rows]

    async def renew(self, job_ids: Collection[int]) -> set[int]:
        """Extend this process's leases on the jobs it runs; the ids it still holds."""
        return await leases.renew(self._db, self.owner, self.lease_seconds, job_ids)

    async def holds(self, job_id: int) -> bool:
        """Whether this process still holds the job (renewed now): asked right before a step
        that must not happen twice, such as posting the result."""
        return await leases.hold(self._db, self.owner, self.lease_seconds, job_id)

    async def release(self, keep: Collection[int] = ()) -> int:
        """Give up the leases (but those of `keep`, jobs still in a step) at a clean stop, so
        another process takes the jobs over at once rather than after the lease time. An
        exclusive process keeps them: its next start takes every job anyway, and a step that
        outlives the stop's grace still writes its outcome as the holder."""
        if self.exclusive:
            return 0
        return await leases.release(self._db, self.owner, keep)

    async def get(self, job_id: int) -> Job | None:
        row = await self._db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _job(row) if row else None

    async def open_jobs(self) -> list[Job]:
        rows = await self._db.fetchall(
            f"SELECT * FROM jobs WHERE status IN {_OPEN_SQL} ORDER BY id"
        )
        return [_job(r) for r in rows]

    async def for_user(
        self, guild_id: int, user_id: int, limit: int = 10, offset: int = 0
    ) -> list[Job]:
        rows = await self._db.fetchall(
            "SELECT * FROM jobs WHERE guild_id = ? AND user_id = ?"
            " ORDER BY id DESC LIMIT ? OFFSET ?",
            (guild_id, user_id, limit, offset),
        )
        return [_job(r) for r in rows]

    async def count_for_user(self, guild_id: int, user_id: int) -> int:
        row = await self._db.fetchone(
            "SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        return int(row[0]) if row else 0

    async def open_in_guild(self, guild_id: int) -> list[Job]:
        rows = await self._db.fetchall(
            f"SELECT * FROM jobs WHERE guild_id = ? AND status IN {_OPEN_SQL} ORDER BY id",
            (guild_id,),
        )
        return [_job(r) for r in rows]

    async def count_by_status(self) -> dict[JobStatus, int]:
        """How many jobs the table holds in each status (the metrics' jobs by state)."""
        rows = await self._db.fetchall("SELECT status, COUNT(*) FROM jobs GROUP BY status")
        return {JobStatus(r[0]): int(r[1]) for r in rows}

    async def run_seconds(self, model_path: str, resolution: str, limit: int = 20) -> list[float]:
        """How long recent delivered jobs of this kind took from submit to finish, newest first."""
        rows = await self._db.fetchall(
            "SELECT finished_at - submitted_at FROM jobs"
            " WHERE status = ? AND model_path = ?"
            f"   AND {json_text(self._db, 'params', 'resolution')} = ?"
            "   AND finished_at IS NOT NULL AND submitted_at IS NOT NULL"
            " ORDER BY id DESC LIMIT ?",
            (JobStatus.DELIVERED, model_path, resolution, limit),
        )
        return [float(r[0]) for r in rows]

    async def set_card(self, job_id: int, message_id: int) -> None:
        await self._db.execute(
            "UPDATE jobs SET card_message_id = ?, updated_at = ? WHERE id = ?",
            (message_id, time.time(), job_id),
        )

    async def mark_submitting(self, job_id: int) -> bool:
        """accepted -> submitting, right before the paid call; False if it was cancelled."""
        return await self._move(
            job_id, frozenset({JobStatus.ACCEPTED}), status=JobStatus.SUBMITTING
        )

    async def mark_submitted(self, job_id: int, request_id: str) -> bool:
        now = time.time()
        return await self._move(
            job_id,
            frozenset({JobStatus.SUBMITTING}),
            status=JobStatus.QUEUED,
            request_id=request_id,
            submitted_at=now,
        )

    async def mark_progress(
        self, job_id: int, status: JobStatus, queue_position: int | None
    ) -> bool:
        """Record what the provider says while the job waits or runs."""
        fields: dict[str, Any] = {"status": status, "queue_position": queue_position}
        if status == JobStatus.RUNNING:
            await self._db.execute(
                "UPDATE jobs SET started_at = ? WHERE id = ? AND started_at IS NULL"
                f" AND status IN {_WAITING_SQL} AND lease_owner = ?",
                (time.time(), job_id, self.owner),
            )
        return await self._move(job_id, WAITING_STATUSES, **fields)

    async def mark_delivering(self, job_id: int, video_url: str) -> bool:
        return await self._move(
            job_id,
            WAITING_STATUSES,
            status=JobStatus.DELIVERING,
            video_url=video_url,
            queue_position=None,
            finished_at=time.time(),
        )

    async def mark_delivered(self, job_id: int, result_message_id: int | None) -> bool:
        """delivering -> delivered, committing the reserved credits."""
        async with self._db.transaction() as tx:
            job = await _locked(tx, job_id)
            if job is None or job.status is not JobStatus.DELIVERING:
                return False
            if job.lease_owner != self.owner:
                return False  # taken over: the new owner delivers and commits
            await tx.execute(
                "UPDATE jobs SET status = ?, result_message_id = ?, delivered_at = ?,"
                " updated_at = ? WHERE id = ?",
                (JobStatus.DELIVERED, result_message_id, time.time(), time.time(), job_id),
            )
            await ledger_entry(tx, job.guild_id, job.user_id, job.period, job.id, "commit", 0)
        return True

    async def mark_failed(
        self, job_id: int, error: str, *, forget_video: bool = False
    ) -> Job | None:
        """Any open status -> failed, refunding the reserve. None if it was already closed.
        `forget_video` drops a video URL that must not be shown (an untrusted host)."""
        extra: dict[str, Any] = {"video_url": None} if forget_video else {}
        return await self._close(
            job_id, OPEN_STATUSES, JobStatus.FAILED, guarded=True, error=error, **extra
        )

    async def mark_cancelled(
        self,
        job_id: int,
        actor_id: int,
        from_statuses: Collection[str] = CANCELLABLE_STATUSES,
        reason: str | None = None,
    ) -> Job | None:
        """-> cancelled with a refund, only from `from_statuses`; None if it was not there.
        Any process may cancel any job (a member's button, a moderator): not lease-guarded."""
        return await self._close(
            job_id,
            from_statuses,
            JobStatus.CANCELLED,
            guarded=False,
            cancelled_by=actor_id,
            error=reason,
        )

    async def _close(
        self,
        job_id: int,
        from_statuses: Collection[str],
        status: JobStatus,
        *,
        guarded: bool,
        **fields: Any,
    ) -> Job | None:
        async with self._db.transaction() as tx:
            job = await _locked(tx, job_id)
            if job is None or job.status not in from_statuses:
                return None
            if guarded and job.lease_owner != self.owner:
                return None  # taken over by another process: its runner decides
            sets = ", ".join(f"{k} = :{k}" for k in fields)
            now = time.time()
            await tx.execute(
                f"UPDATE jobs SET status = :status, queue_position = NULL, updated_at = :now,"
                f" finished_at = COALESCE(finished_at, :now){', ' + sets if sets else ''}"
                " WHERE id = :id",
                {"status": status, "now": now, "id": job_id, **fields},
            )
            await tx.execute(
                "UPDATE quota_usage SET used = used - ?"
                " WHERE guild_id = ? AND user_id = ? AND period = ?",
                (job.cost, job.guild_id, job.user_id, job.period),
            )
            await ledger_entry(
                tx, job.guild_id, job.user_id, job.period, job.id, "refund", -job.cost
            )
            row = await tx.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _job(row) if row else None

    async def _move(self, job_id: int, from_statuses: frozenset[JobStatus], **fields: Any) -> bool:
        marks = ", ".join("?" for _ in from_statuses)
        sets = ", ".join(f"{k} = ?" for k in fields)
        changed = await self._db.execute(
            f"UPDATE jobs SET {sets}, updated_at = ? WHERE id = ? AND status IN ({marks})"
            " AND lease_owner = ?",  # a runner whose lease was taken over writes nothing
            (*fields.values(), time.time(), job_id, *from_statuses, self.owner),
        )
        return changed == 1


async def _locked(tx: SqlTransaction, job_id: int) -> Job | None:
    """The job, its row locked until the transaction ends (two closes of one job on
    PostgreSQL: the second waits, then sees it closed)."""
    row = await tx.fetchone(f"SELECT * FROM jobs WHERE id = ?{for_update(tx)}", (job_id,))
    return _job(row) if row else None


async def _refusal(tx: SqlTransaction, new: NewJob, limits: Limits) -> Refusal:
    row = await tx.fetchone(
        "SELECT used, granted FROM quota_usage WHERE guild_id = ? AND user_id = ? AND period = ?",
        (new.guild_id, new.user_id, new.period),
    )
    used, granted = (int(row[0]), int(row[1])) if row else (0, 0)
    active_row = await tx.fetchone(
        f"SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND user_id = ? AND status IN {_OPEN_SQL}",
        (new.guild_id, new.user_id),
    )
    active = int(active_row[0]) if active_row else 0
    if active >= limits.max_active:
        reason = "active"
    elif used + new.cost > limits.credits + granted:
        reason = "credits"
    else:
        reason = "budget"
    guild_row = await tx.fetchone(
        "SELECT COALESCE(SUM(used), 0) FROM quota_usage WHERE guild_id = ? AND period = ?",
        (new.guild_id, new.period),
    )
    guild_used = int(guild_row[0]) if guild_row else 0
    return Refusal(reason, used, active, granted, guild_used)
