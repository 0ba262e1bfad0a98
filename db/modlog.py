"""The moderation log: who cancelled, banned or unbanned what, and why."""

from __future__ import annotations

import time

from bot.core.domain import ModerationEntry
from db.sql import SqlDatabase


class ModerationLogRepo:
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def record(
        self, guild_id: int, job_id: int | None, actor_id: int, action: str, reason: str | None
    ) -> None:
        await self._db.execute(
            "INSERT INTO moderation_log (guild_id, job_id, actor_id, action, reason, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (guild_id, job_id, actor_id, action, reason, time.time()),
        )

    async def recent(self, guild_id: int, limit: int = 20) -> list[ModerationEntry]:
        rows = await self._db.fetchall(
            "SELECT job_id, actor_id, action, reason, created_at FROM moderation_log"
            " WHERE guild_id = ? ORDER BY id DESC LIMIT ?",
            (guild_id, limit),
        )
        return [ModerationEntry(*r) for r in rows]
