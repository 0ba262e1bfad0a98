"""Pruning old rows on purpose (RETENTION_DAYS): what a finished job said, and the moderation log.

Job rows and the credit ledger stay: the ledger is append-only and explains every balance, and
a job row is what a ledger row points at. What goes is what is no longer needed and should not
be kept for ever: the prompt of a job finished long ago (in its `prompt` column and its params),
its video link (signed, long expired), and moderation log rows past the retention.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.domain import OPEN_STATUSES, sql_list
from db.sql import SqlDatabase, json_without

_CLOSED = f"status NOT IN {sql_list(OPEN_STATUSES)}"


class RetentionRepo:
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def forget_prompts(self, before: float, prompt_fields: Sequence[str]) -> int:
        """Blank the prompt and video link of jobs finished before `before`; how many."""
        params, keys = json_without(self._db, "params", prompt_fields)
        return await self._db.execute(
            f"UPDATE jobs SET prompt = '', video_url = NULL, params = {params}"
            f" WHERE {_CLOSED} AND finished_at < ? AND (prompt != '' OR video_url IS NOT NULL)",
            (*keys, before),
        )

    async def prune_moderation_log(self, before: float) -> int:
        return await self._db.execute("DELETE FROM moderation_log WHERE created_at < ?", (before,))
