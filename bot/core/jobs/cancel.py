"""Cancelling a job that has not started generating: by its owner, a moderator, or the bot
leaving a server. Race-safe against the job starting, and one cancel of a job at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.core.domain import CANCELLABLE_STATUSES, Job, JobStatus
from bot.core.errors import JobNotFound, NotAllowed
from bot.core.jobs import messages as m
from bot.core.jobs.context import JobContext
from bot.core.provider_errors import RunComfyError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CancelResult:
    job: Job
    cancelled: bool  # False: it was already running or finished, and goes on
    reason: str


class Canceller:
    def __init__(self, ctx: JobContext) -> None:
        self._ctx = ctx
        self._locks = _KeyedLocks()

    async def job_in_guild(self, job_id: int, guild_id: int) -> Job:
        """A job of this server; another server's job is as unknown as a missing one."""
        job = await self._ctx.store.get(job_id)
        if job is None or job.guild_id != guild_id:
            raise JobNotFound(job_id)
        return job

    async def cancel(
        self,
        job_id: int,
        actor_id: int,
        *,
        guild_id: int,
        moderator: bool,
        reason: str | None = None,
    ) -> CancelResult:
        """Cancel a job not yet running, as its owner or a moderator; refunds the owner.

        One cancel of a job at a time: a double click waits for the first and then reads
        "already cancelled", instead of racing it at RunComfy.
        """
        async with self._locks.hold(job_id):
            job = await self.job_in_guild(job_id, guild_id)
            if job.user_id != actor_id and not moderator:
                raise NotAllowed(m.NOT_YOURS)
            return await self._cancel(job, actor_id, reason)

    async def _cancel(self, job: Job, actor_id: int, reason: str | None) -> CancelResult:
        if job.status is JobStatus.SUBMITTING:
            return CancelResult(job, False, m.BEING_SENT)
        if job.status not in CANCELLABLE_STATUSES:
            return CancelResult(job, False, m.not_cancellable(job))
        self._ctx.cancelling.add(job.id)
        stopped = False  # RunComfy said it stopped the job for us
        try:
            if job.request_id is not None:
                outcome = await self._ctx.provider.cancel(job.request_id)
                stopped = outcome.cancelled
                if not outcome.cancelled:
                    # It started meanwhile: the provider keeps running (and billing) it.
                    return CancelResult(await self._ctx.reload(job), False, m.STARTED_MEANWHILE)
            # Only from the status we acted on: a job sent to RunComfy meanwhile must be
            # cancelled there first, so we look again.
            closed = await self._ctx.store.mark_cancelled(
                job.id, actor_id, frozenset({job.status}), reason
            )
        finally:
            self._ctx.cancelling.discard(job.id)
        if closed is None:
            fresh = await self._ctx.reload(job)
            if fresh.status in CANCELLABLE_STATUSES and fresh.status != job.status:
                return await self._cancel(fresh, actor_id, reason)
            if stopped and fresh.status is JobStatus.CANCELLED:
                # The process running it saw our cancel at RunComfy and closed the row first
                # (refunded; its `cancelling` set is its own): cancelled all the same.
                return CancelResult(fresh, True, m.CANCELLED)
            return CancelResult(fresh, False, m.not_cancellable(fresh))
        self._ctx.wake(job.id)  # the poller notices at once instead of at its next poll
        log.info("job %d cancelled by %d", job.id, actor_id)
        return CancelResult(closed, True, m.CANCELLED)

    async def guild_removed(self, guild_id: int) -> list[Job]:
        """The bot left (or was removed from) a server: cancel and refund what has not started.

        A job already generating is billed either way, so it runs on and is delivered by DM.
        """
        closed = []
        for job in await self._ctx.store.open_in_guild(guild_id):
            if job.status not in CANCELLABLE_STATUSES:
                continue
            try:
                result = await self.cancel(
                    job.id, 0, guild_id=guild_id, moderator=True, reason=m.REMOVED_FROM_SERVER
                )
            except RunComfyError as exc:
                log.warning("job %d: cancel on leaving failed (%s)", job.id, type(exc).__name__)
                continue
            if result.cancelled:
                closed.append(result.job)
        log.info("left guild %d: %d job(s) cancelled", guild_id, len(closed))
        return closed


class _KeyedLocks:
    """One lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
