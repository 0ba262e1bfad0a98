"""The entry and vote half of the contest repository (`db.contests.ContestRepo` extends it):
entering, withdrawing, disqualifying, votes and take-backs. Every rule is a 0006 trigger or
UNIQUE constraint; a refusal comes back as the core's `EntryRefusal` / `VoteRefusal`."""

from __future__ import annotations

from bot.core.contests.domain import Entry, EntryRefusal, VoteRecord, VoteRefusal
from bot.core.domain import Job, JobStatus
from db.contest_rows import (
    ENTRY_REFUSALS,
    LIVE,
    LIVE_E,
    VOTE_REFUSALS,
    entry_of,
    refusal_reason,
    used_votes,
)
from db.jobs import _job
from db.sql import INTEGRITY_ERRORS, SqlDatabase


class ContestEntryRepo:
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    # --- entries -------------------------------------------------------------------------

    async def enter(
        self, contest_id: int, job_id: int, user_id: int, at: float
    ) -> Entry | EntryRefusal:
        """Enter a delivered job of the member's, made in the contest's server; a withdrawn
        entry of the same job comes back. The phase and the entry limit are the triggers'."""
        try:
            async with self._db.transaction() as tx:
                row = await tx.fetchone(
                    "INSERT INTO contest_entries (contest_id, job_id, user_id, prompt,"
                    " video_url, entered_at)"
                    " SELECT :c, j.id, j.user_id, j.prompt, j.video_url, :at FROM jobs j"
                    " WHERE j.id = :job AND j.user_id = :u AND j.status = :delivered"
                    "   AND j.guild_id = (SELECT guild_id FROM contests WHERE id = :c)"
                    " ON CONFLICT (contest_id, job_id) DO UPDATE"
                    "   SET withdrawn_at = NULL, entered_at = excluded.entered_at"
                    "   WHERE contest_entries.withdrawn_at IS NOT NULL"
                    " RETURNING *",
                    {"c": contest_id, "job": job_id, "u": user_id, "at": at,
                     "delivered": JobStatus.DELIVERED},
                )  # fmt: skip
                if row is not None:
                    return entry_of(row)
                live = await tx.fetchone(
                    "SELECT 1 FROM contest_entries WHERE contest_id = ? AND job_id = ?"
                    " AND withdrawn_at IS NULL",
                    (contest_id, job_id),
                )
        except INTEGRITY_ERRORS as exc:
            reason = ENTRY_REFUSALS.get(refusal_reason(exc))
            if reason is None:
                raise
            return reason
        return EntryRefusal.ALREADY_ENTERED if live else EntryRefusal.NOT_DELIVERED

    async def withdraw(self, entry_id: int, at: float) -> Entry | None:
        """None if it was not live or submissions have closed."""
        row = await self._db.fetchone(
            "UPDATE contest_entries SET withdrawn_at = ?"
            f" WHERE id = ? AND {LIVE}"
            "   AND (SELECT phase FROM contests c WHERE c.id = contest_id) = 'submissions'"
            " RETURNING *",
            (at, entry_id),
        )
        return entry_of(row) if row else None

    async def entry(self, entry_id: int) -> Entry | None:
        row = await self._db.fetchone("SELECT * FROM contest_entries WHERE id = ?", (entry_id,))
        return entry_of(row) if row else None

    async def entry_by_number(self, contest_id: int, number: int) -> Entry | None:
        row = await self._db.fetchone(
            "SELECT * FROM contest_entries WHERE contest_id = ? AND number = ?",
            (contest_id, number),
        )
        return entry_of(row) if row else None

    async def entries(self, contest_id: int, *, live_only: bool = True) -> list[Entry]:
        """In shown order (Entry 1 first; unnumbered ones, in the order entered, last)."""
        rows = await self._db.fetchall(
            "SELECT * FROM contest_entries WHERE contest_id = ?"
            + (f" AND {LIVE}" if live_only else "")
            + " ORDER BY number IS NULL, number, id",
            (contest_id,),
        )
        return [entry_of(r) for r in rows]

    async def member_entries(self, contest_id: int, user_id: int) -> list[Entry]:
        """The member's live entries, oldest first."""
        rows = await self._db.fetchall(
            f"SELECT * FROM contest_entries WHERE contest_id = ? AND user_id = ? AND {LIVE}"
            " ORDER BY id",
            (contest_id, user_id),
        )
        return [entry_of(r) for r in rows]

    async def set_entry_message(self, entry_id: int, message_id: int) -> None:
        await self._db.execute(
            "UPDATE contest_entries SET message_id = ? WHERE id = ?", (message_id, entry_id)
        )

    async def eligible_jobs(self, contest_id: int, user_id: int, limit: int = 25) -> list[Job]:
        """The member's delivered jobs in the contest's server, made after it opened and not
        entered in it now, newest first."""
        rows = await self._db.fetchall(
            "SELECT j.* FROM jobs j JOIN contests c ON c.id = ?"
            " WHERE j.guild_id = c.guild_id AND j.user_id = ? AND j.status = ?"
            "   AND j.created_at >= c.created_at AND NOT EXISTS (SELECT 1 FROM"
            "   contest_entries e WHERE e.contest_id = c.id AND e.job_id = j.id"
            "   AND e.withdrawn_at IS NULL)"
            " ORDER BY j.id DESC LIMIT ?",
            (contest_id, user_id, JobStatus.DELIVERED, limit),
        )
        return [_job(r) for r in rows]

    async def disqualify(
        self, entry_id: int, actor_id: int, reason: str, at: float
    ) -> Entry | None:
        """None if it is not live or the contest is not in voting."""
        row = await self._db.fetchone(
            "UPDATE contest_entries SET disqualified_at = ?, disqualified_by = ?,"
            f" disqualify_reason = ? WHERE id = ? AND {LIVE}"
            "   AND (SELECT phase FROM contests c WHERE c.id = contest_id) = 'voting'"
            " RETURNING *",
            (at, actor_id, reason, entry_id),
        )
        return entry_of(row) if row else None

    # --- votes ---------------------------------------------------------------------------

    async def vote(self, entry: Entry, voter_id: int, at: float) -> VoteRecord | VoteRefusal:
        """`changed` False: this vote was already counted (a double click)."""
        try:
            async with self._db.transaction() as tx:
                row = await tx.fetchone(
                    "INSERT INTO contest_votes (contest_id, entry_id, voter_id, created_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING entry_id",
                    (entry.contest_id, entry.id, voter_id, at),
                )
                used = await used_votes(tx, entry.contest_id, voter_id)
        except INTEGRITY_ERRORS as exc:
            reason = VOTE_REFUSALS.get(refusal_reason(exc))
            if reason is None:
                raise
            return reason
        return VoteRecord(changed=row is not None, used=used)

    async def take_back(self, entry: Entry, voter_id: int) -> VoteRecord | VoteRefusal:
        """`changed` False: there was no such vote."""
        try:
            async with self._db.transaction() as tx:
                row = await tx.fetchone(
                    "DELETE FROM contest_votes WHERE contest_id = ? AND entry_id = ?"
                    " AND voter_id = ? RETURNING entry_id",
                    (entry.contest_id, entry.id, voter_id),
                )
                used = await used_votes(tx, entry.contest_id, voter_id)
        except INTEGRITY_ERRORS as exc:
            reason = VOTE_REFUSALS.get(refusal_reason(exc))
            if reason is None:
                raise
            return reason
        return VoteRecord(changed=row is not None, used=used)

    async def voted_entries(self, contest_id: int, voter_id: int) -> list[Entry]:
        """The live entries the voter voted for, in shown order."""
        rows = await self._db.fetchall(
            "SELECT e.* FROM contest_votes v JOIN contest_entries e ON e.id = v.entry_id"
            f" WHERE v.contest_id = ? AND v.voter_id = ? AND {LIVE_E} ORDER BY e.number",
            (contest_id, voter_id),
        )
        return [entry_of(r) for r in rows]
