"""The task table: at most one runner per job, resumed at start, retried when it crashes on
something that is not a provider error, and stopped cleanly at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.core.domain import Job, JobStatus
from bot.core.jobs import messages as m
from bot.core.jobs.context import JobContext, JobSink, quietly
from bot.core.jobs.lifecycle import Lifecycle, remove
from bot.core.provider_errors import RunComfyError

log = logging.getLogger(__name__)

UNSENT = frozenset({JobStatus.ACCEPTED})
RUNNER_ATTEMPTS = 4  # an unexpected error (disk, database, session) is retried this often


class Runner:
    def __init__(self, ctx: JobContext, lifecycle: Lifecycle, *, backoff: float = 1.0) -> None:
        self._ctx = ctx
        self._lifecycle = lifecycle
        self.backoff = backoff
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def start(
        self, job: Job, sink: JobSink, *, after: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        """Run (or resume) a job in the background; at most one runner per job.

        `after`, if given, is awaited first: the bot uses it to answer every member waiting on
        Discord's 3 s deadline before it starts new work.
        """
        if job.id in self._tasks:
            return
        task = asyncio.create_task(self._run_guarded(job, sink, after), name=f"job-{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.id, None))

    async def resume_all(self, sink_for: Callable[[Job], JobSink]) -> int:
        """Pick up every unfinished job from the table (after a restart)."""
        await self._remove_stale_videos()
        resumed = 0
        for job in await self._ctx.store.open_jobs():
            if job.status is JobStatus.ACCEPTED and job.card_message_id is None:
                # The process died before the member got an answer: they saw "did not
                # respond" and will try again, so this one must not run (or cost) as well.
                await self._ctx.store.mark_cancelled(job.id, 0, UNSENT, reason=m.UNANSWERED)
                continue
            self.start(job, sink_for(job))
            resumed += 1
        if resumed:
            log.info("resumed %d unfinished job(s)", resumed)
        return resumed

    async def _remove_stale_videos(self) -> None:
        # Videos left by uploads cut off at the last stop: each job downloads its own again.
        video_dir = self._lifecycle.video_dir
        for stale in await asyncio.to_thread(lambda: list(video_dir.glob("job-*.mp4"))):
            remove(stale)

    async def wait_idle(self) -> None:
        """Wait until every running job has ended (used by the demo and tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def shutdown(self, grace: float = 10.0) -> None:
        """Stop accepting, let in-flight submits and uploads finish, then stop the pollers.

        Everything else is already persisted, so a poller stopped here resumes at next start.
        """
        self._ctx.accepting = False
        if self._ctx.inflight:
            await asyncio.wait(list(self._ctx.inflight), timeout=grace)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run_guarded(
        self, job: Job, sink: JobSink, after: Callable[[], Awaitable[object]] | None
    ) -> None:
        if after is not None:
            await after()
        for attempt in range(1, RUNNER_ATTEMPTS + 1):
            try:
                fresh = job if attempt == 1 else await self._ctx.reload(job)
                await self._lifecycle.run(fresh, sink)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                # Not a provider error (those end the job inside `run`): a full disk, a
                # database error, a closed session. The row says where to carry on from.
                log.exception("job %d: runner crashed (attempt %d)", job.id, attempt)
            if attempt < RUNNER_ATTEMPTS:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        await self._give_up(job, sink)

    async def _give_up(self, job: Job, sink: JobSink) -> None:
        """No job stays open without a runner: stop it at RunComfy if it is still queued there,
        refund it and say so on its card."""
        try:
            fresh = await self._ctx.reload(job)
            if fresh.request_id is not None and fresh.status is JobStatus.QUEUED:
                with contextlib.suppress(RunComfyError):
                    await self._ctx.provider.cancel(fresh.request_id)
            closed = await self._ctx.store.mark_failed(job.id, m.CRASHED)
        except Exception:
            log.exception("job %d: could not be closed; it resumes at the next start", job.id)
            return
        log.error("job %d: failed after %d runner crashes; refunded", job.id, RUNNER_ATTEMPTS)
        if closed is not None:
            await quietly(sink.finished(closed), job.id, "finished")
