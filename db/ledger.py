"""Credits per member and quota day: grants, usage, and the append-only ledger that explains
every balance (reserve, commit, refund, grant)."""

from __future__ import annotations

import time

from bot.core.domain import OPEN_STATUSES, Usage, sql_list
from db.sql import SqlDatabase, SqlTransaction


async def ledger_entry(
    tx: SqlTransaction,
    guild_id: int,
    user_id: int,
    period: str,
    job_id: int | None,
    kind: str,
    amount: int,
    actor_id: int | None = None,
    note: str | None = None,
) -> None:
    await tx.execute(
        "INSERT INTO ledger (guild_id, user_id, period, job_id, kind, amount, actor_id, note,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (guild_id, user_id, period, job_id, kind, amount, actor_id, note, time.time()),
    )


class LedgerRepo:
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def grant(
        self, guild_id: int, user_id: int, period: str, amount: int, actor_id: int, note: str | None
    ) -> int:
        """Add `amount` credits for one quota day; returns the day's total grant."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO quota_usage (guild_id, user_id, period, used, granted)"
                " VALUES (?, ?, ?, 0, ?) ON CONFLICT (guild_id, user_id, period)"
                " DO UPDATE SET granted = quota_usage.granted + excluded.granted RETURNING granted",
                (guild_id, user_id, period, amount),
            )
            await ledger_entry(
                tx, guild_id, user_id, period, None, "grant", amount, actor_id=actor_id, note=note
            )
        assert row is not None
        return int(row[0])

    async def guild_used(self, guild_id: int, period: str) -> int:
        """Credits the whole server has spent (reserved, less refunds) in a period."""
        row = await self._db.fetchone(
            "SELECT COALESCE(SUM(used), 0) FROM quota_usage WHERE guild_id = ? AND period = ?",
            (guild_id, period),
        )
        return int(row[0]) if row else 0

    async def usage(self, guild_id: int, user_id: int, period: str) -> Usage:
        row = await self._db.fetchone(
            "SELECT COALESCE((SELECT used FROM quota_usage WHERE guild_id = :g AND user_id = :u"
            "   AND period = :p), 0),"
            " COALESCE((SELECT granted FROM quota_usage WHERE guild_id = :g AND user_id = :u"
            "   AND period = :p), 0),"
            " (SELECT COUNT(*) FROM jobs WHERE guild_id = :g AND user_id = :u"
            f"   AND status IN {sql_list(OPEN_STATUSES)})",
            {"g": guild_id, "u": user_id, "p": period},
        )
        assert row is not None
        return Usage(int(row[0]), int(row[1]), int(row[2]))
