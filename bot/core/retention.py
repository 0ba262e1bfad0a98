"""Keeping or pruning old data on purpose (RETENTION_DAYS; 0 keeps everything).

Every RETENTION_EVERY seconds (and once at start) finished jobs older than the retention lose
their prompt and video link, and older moderation log rows are deleted (see db/retention.py for
what stays and why). Downloaded videos are temporary: each is removed once its upload ends, and
the sweep removes any left behind (a crash mid-upload) once older than STALE_VIDEO seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

DAY = 86400.0
RETENTION_EVERY = 6 * 3600.0
STALE_VIDEO = 3600.0  # no upload takes this long; a video older than this is left over


class RetentionStore(Protocol):
    async def forget_prompts(self, before: float, prompt_fields: Sequence[str]) -> int: ...
    async def prune_moderation_log(self, before: float) -> int: ...


@dataclass(frozen=True)
class Pruned:
    jobs: int  # finished jobs whose prompt and link were forgotten
    log_rows: int
    videos: int  # leftover video files removed


class Retention:
    def __init__(
        self,
        store: RetentionStore,
        *,
        days: int,
        video_dir: Path,
        prompt_fields: Sequence[str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.days = days
        self._video_dir = video_dir
        self._prompt_fields = tuple(dict.fromkeys(prompt_fields))
        self._clock = clock

    async def run_once(self) -> Pruned:
        now = self._clock()
        videos = await asyncio.to_thread(self._sweep_videos, now)
        if self.days == 0:
            return Pruned(0, 0, videos)
        before = now - self.days * DAY
        jobs = await self._store.forget_prompts(before, self._prompt_fields)
        rows = await self._store.prune_moderation_log(before)
        if jobs or rows or videos:
            log.info("retention: %d job prompts, %d log rows, %d videos pruned", jobs, rows, videos)
        return Pruned(jobs, rows, videos)

    async def run_forever(
        self, every: float = RETENTION_EVERY, then: Callable[[], object] | None = None
    ) -> None:
        """A pass now and every `every` seconds; `then` after each (the bot hands freed
        memory back to the system there, bot/memory.py)."""
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("retention pass failed; trying again later")
            if then is not None:
                then()
            await asyncio.sleep(every)

    def _sweep_videos(self, now: float) -> int:
        removed = 0
        for path in self._video_dir.glob("job-*.mp4"):
            try:
                if now - path.stat().st_mtime > STALE_VIDEO:
                    path.unlink()
                    removed += 1
            except OSError:
                continue  # gone meanwhile, or not ours to remove
        return removed
