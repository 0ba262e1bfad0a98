"""The job table: at most one runner per job, resumed at start, retried when it crashes on
something that is not a provider error, and stopped cleanly at shutdown.

A job has a task of its own only while it is sent or delivered (both short); while it waits at
RunComfy it has none, and the poller's scheduler looks at it when due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core.domain import WAITING_STATUSES, Job, JobStatus
from bot.core.jobs import messages as m
from bot.core.jobs.context import JobContext, JobSink, Watch, quietly
from bot.core.jobs.lifecycle import Lifecycle, remove
from bot.core.jobs.poller import Poller
from bot.core.provider_errors import RunComfyError

log = logging.getLogger(__name__)

UNSENT = frozenset({JobStatus.ACCEPTED})
RUNNER_ATTEMPTS = 4  # an unexpected error (disk, database, session) is retried this often


@dataclass
class _Active:
    """A job this runner is responsible for, with or without a task at the moment."""

    sink: JobSink
    crashes: int = 0  # in every step of the job together: submit, looks, delivery
    task: asyncio.Task[None] | None = None


class Runner:
    def __init__(
        self, ctx: JobContext, lifecycle: Lifecycle, poller: Poller, *, backoff: float = 1.0
    ) -> None:
        self._ctx = ctx
        self._lifecycle = lifecycle
        self._poller = poller
        self.backoff = backoff
        self._active: dict[int, _Active] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def __len__(self) -> int:
        return len(self._active)

    def start(
        self, job: Job, sink: JobSink, *, after: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        """Run (or resume) a job in the background; at most one runner per job.

        `after`, if given, is awaited first: the bot uses it to answer every member waiting on
        Discord's 3 s deadline before it starts new work.
        """
        if job.id in self._active:
            return
        active = _Active(sink)
        self._active[job.id] = active
        self._idle.clear()
        self._spawn(job, active, after)

    async def run_here(self, job: Job, sink: JobSink) -> None:
        """Drive one job to a final state in the caller's task (the demo, tests); a crash
        raises here instead of being retried."""
        job = await self._lifecycle.prepare(job, sink)
        if job.status is JobStatus.ACCEPTED:
            return  # not sent because the bot is stopping; it resumes at the next start
        if job.status in WAITING_STATUSES:
            job = await self._poller.until_done(job, sink)
        if job.status is JobStatus.DELIVERING:
            job = await self._lifecycle.deliver(job, sink)
        await quietly(sink.finished(job), job.id, "finished")

    async def resume_all(self, sink_for: Callable[[Job], JobSink]) -> int:
        """Pick up the unfinished jobs from the table at start: every one when this process
        is the only one on the database, else those no live process holds."""
        resumed = await self.take_over(sink_for, at_start=True)
        # Videos of jobs no longer open, left by uploads cut off at a stop (those of open jobs
        # are removed as each is claimed, and another live process may be using its own).
        open_ids = {job.id for job in await self._ctx.store.open_jobs()}
        video_dir = self._lifecycle.video_dir
        for stale in await asyncio.to_thread(lambda: list(video_dir.glob("job-*-*.mp4"))):
            if _job_id_of(stale.name) not in open_ids:
                remove(stale)
        return resumed

    async def take_over(self, sink_for: Callable[[Job], JobSink], *, at_start: bool = False) -> int:
        """Claim the open jobs nobody holds (their process stopped or died) and run them on
        from where their rows are."""
        resumed = 0
        for job in await self._ctx.store.claim(at_start=at_start):
            await self._remove_stale_videos(job.id)
            if job.status is JobStatus.ACCEPTED and job.card_message_id is None:
                # The process died before the member got an answer: they saw "did not
                # respond" and will try again, so this one must not run (or cost) as well.
                await self._ctx.store.mark_cancelled(job.id, 0, UNSENT, reason=m.UNANSWERED)
                continue
            self.start(job, sink_for(job))
            resumed += 1
        if resumed and at_start:
            log.info("resumed %d unfinished job(s)", resumed)
        elif resumed:
            log.warning("took over %d job(s) of a process that stopped renewing them", resumed)
        return resumed

    def drop(self, job_id: int) -> None:
        """Stop running a job here: another process holds its lease now."""
        active = self._active.pop(job_id, None)
        if active is None:
            return
        self._poller.unwatch(job_id)
        if active.task is not None:
            active.task.cancel()
        log.warning("job %d: taken over by another process; stopped here", job_id)
        if not self._active:
            self._idle.set()

    def running(self) -> set[int]:
        return set(self._active)

    async def _remove_stale_videos(self, job_id: int) -> None:
        # Videos left by an upload cut off at the last stop: the job downloads its own again.
        video_dir = self._lifecycle.video_dir
        for stale in await asyncio.to_thread(lambda: list(video_dir.glob(f"job-{job_id}-*.mp4"))):
            remove(stale)

    async def wait_idle(self) -> None:
        """Wait until every job started here has ended (used by the demo and tests)."""
        while self._active:
            await self._idle.wait()

    async def shutdown(self, grace: float = 10.0) -> None:
        """Stop accepting, let in-flight submits and uploads finish, then stop the poller and
        the runners. Everything else is already persisted, so each job resumes at next start.
        """
        self._ctx.accepting = False
        if self._ctx.inflight:
            await asyncio.wait(list(self._ctx.inflight), timeout=grace)
        await self._poller.stop()
        tasks = [active.task for active in self._active.values() if active.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._active.clear()
        self._idle.set()

    # --- inside ----------------------------------------------------------------------------

    def _spawn(
        self, job: Job, active: _Active, after: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        task = asyncio.create_task(self._drive(job, active, after), name=f"job-{job.id}")
        active.task = task
        task.add_done_callback(lambda done: self._task_ended(job.id, active, done))

    def _task_ended(self, job_id: int, active: _Active, task: asyncio.Task[None]) -> None:
        if active.task is not task:
            return  # a newer task carries the job on
        active.task = None
        if job_id not in self._poller and self._active.get(job_id) is active:
            # Neither running nor watched: ended (or left for the next start).
            del self._active[job_id]
            if not self._active:
                self._idle.set()

    async def _drive(
        self, job: Job, active: _Active, after: Callable[[], Awaitable[object]] | None
    ) -> None:
        """Send, hand over to the poller, or deliver: whatever the row needs next."""
        if after is not None:
            await after()
        retry = False
        while True:
            try:
                await self._step(await self._ctx.reload(job) if retry else job, active)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                # Not a provider error (those end the job inside the steps): a full disk, a
                # database error, a closed session. The row says where to carry on from.
                active.crashes += 1
                log.exception("job %d: runner crashed (attempt %d)", job.id, active.crashes)
            if active.crashes >= RUNNER_ATTEMPTS:
                await self._give_up(job, active.sink)
                return
            await asyncio.sleep(self.backoff * 2 ** (active.crashes - 1))
            retry = True

    async def _step(self, job: Job, active: _Active) -> None:
        job = await self._lifecycle.prepare(job, active.sink)
        if job.status is JobStatus.ACCEPTED:
            return  # not sent because the bot is stopping; it resumes at the next start
        if job.status in WAITING_STATUSES:
            self._poller.watch(
                job,
                active.sink,
                on_end=lambda left: self._carry_on(left, active),
                on_crash=lambda watch, exc: self._look_crashed(watch, active, exc),
            )
            return
        if job.status is JobStatus.DELIVERING:
            job = await self._lifecycle.deliver(job, active.sink)
            if job.is_open:
                return  # taken over by another process, which delivers it
        await quietly(active.sink.finished(job), job.id, "finished")

    def _carry_on(self, job: Job, active: _Active) -> None:
        if self._active.get(job.id) is active:  # not dropped while its last look was out
            self._spawn(job, active)

    def _look_crashed(self, watch: Watch, active: _Active, exc: Exception) -> float | None:
        """A look crashed on something that is not a provider error: retried like a runner,
        then given up on."""
        active.crashes += 1
        job_id = watch.job.id
        log.error("job %d: runner crashed (attempt %d)", job_id, active.crashes, exc_info=exc)
        if active.crashes < RUNNER_ATTEMPTS:
            return float(self.backoff * 2.0 ** (active.crashes - 1))
        task = asyncio.create_task(self._give_up(watch.job, active.sink), name=f"job-{job_id}")
        active.task = task
        task.add_done_callback(lambda done: self._task_ended(job_id, active, done))
        return None

    async def _give_up(self, job: Job, sink: JobSink) -> None:
        """No job stays open without a runner: stop it at RunComfy if it is still queued there,
        refund it and say so on its card."""
        try:
            fresh = await self._ctx.reload(job)
            if not await self._ctx.store.holds(job.id):
                return  # another process took it over, and runs it
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


def _job_id_of(name: str) -> int | None:
    """The job a video file belongs to: `job-<id>-<random>.mp4`."""
    part = name.split("-")[1] if name.count("-") >= 2 else ""
    return int(part) if part.isdigit() else None
