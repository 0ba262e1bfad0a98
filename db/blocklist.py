"""Words and phrases a server refuses in prompts, stored as they are matched."""

from __future__ import annotations

import time

from db.sql import SqlDatabase


class BlocklistRepo:
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def terms(self, guild_id: int) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT term FROM blocked_term WHERE guild_id = ? ORDER BY term", (guild_id,)
        )
        return [str(r[0]) for r in rows]

    async def add(self, guild_id: int, term: str, actor_id: int) -> bool:
        changed = await self._db.execute(
            "INSERT INTO blocked_term (guild_id, term, actor_id, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (guild_id, term, actor_id, time.time()),
        )
        return changed == 1

    async def remove(self, guild_id: int, term: str) -> bool:
        changed = await self._db.execute(
            "DELETE FROM blocked_term WHERE guild_id = ? AND term = ?", (guild_id, term)
        )
        return changed == 1
