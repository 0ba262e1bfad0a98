"""When a job's video should be ready, from this bot's own history of similar jobs."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable

from bot.core.domain import OPEN_STATUSES, Job, JobStatus
from bot.core.ports import JobStore

TYPICAL_TTL = 30.0  # seconds a typical job duration is reused before it is read again
MIN_SAMPLES = 3  # fewer delivered jobs than this: too little history to be honest about
_NOT_YET = frozenset(OPEN_STATUSES - {JobStatus.DELIVERING})


class Eta:
    def __init__(self, store: JobStore, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock
        self._typical: dict[tuple[str, str], asyncio.Future[tuple[float, float | None]]] = {}

    async def expected_at(self, job: Job) -> float | None:
        if job.status not in _NOT_YET:
            return None
        key = (job.model_path, str(job.params.get("resolution")))
        cached = self._typical.get(key)
        stale = (
            cached is not None
            and cached.done()
            and (cached.exception() is not None or cached.result()[0] < self._clock())
        )
        if cached is None or stale:
            # Cached briefly, one read at a time: every card render asks, and the answer moves
            # slowly.
            cached = asyncio.ensure_future(self._read_typical(key))
            self._typical[key] = cached
        typical = (await asyncio.shield(cached))[1]
        if typical is None:
            return None
        return (job.submitted_at or job.created_at) + typical

    async def _read_typical(self, key: tuple[str, str]) -> tuple[float, float | None]:
        samples = await self._store.run_seconds(*key)
        typical = statistics.median(samples) if len(samples) >= MIN_SAMPLES else None
        return self._clock() + TYPICAL_TTL, typical
