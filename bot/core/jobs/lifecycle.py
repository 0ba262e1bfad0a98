"""The steps of one job: submit, one look at RunComfy, download, deliver.

The jobs table is the source of truth: every step first reads or moves the row, so a job picked
up again after a restart carries on from where the row says it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from pathlib import Path

from bot.core.domain import WAITING_STATUSES, Job, JobStatus
from bot.core.jobs import messages as m
from bot.core.jobs.context import JobContext, JobSink, Undeliverable, Watch, quietly
from bot.core.provider import JobResult, JobState
from bot.core.provider_errors import (
    AuthError,
    InsufficientCredits,
    NotFound,
    RateLimited,
    RunComfyError,
    SubmitUncertain,
    TooLarge,
    UntrustedHost,
)

log = logging.getLogger(__name__)

DELIVERY_ATTEMPTS = 3
NOT_FOUND_LIMIT = 3  # polls in a row answering "unknown request" before we believe it


class Lifecycle:
    """The steps of a job; which task runs them, and when a waiting job is looked at, is the
    runner's and the poller's business."""

    def __init__(self, ctx: JobContext, *, video_dir: Path, job_timeout: float) -> None:
        self._ctx = ctx
        self.video_dir = video_dir
        self.job_timeout = job_timeout

    async def prepare(self, job: Job, sink: JobSink) -> Job:
        """Send an accepted job; a job that may have been sent without its id stored is failed.

        A job still 'accepted' afterwards was not sent because the bot is stopping; it
        resumes at the next start."""
        if job.status is JobStatus.ACCEPTED:
            return await self._submit(job, sink)
        if job.status is JobStatus.SUBMITTING:
            # We crashed between sending the submit and storing its answer: a job may exist at
            # RunComfy, but we cannot know its id. Never resend; refund and say so.
            return await self._ctx.fail(job, m.LOST_SUBMIT)
        return job

    # --- submit ----------------------------------------------------------------------------

    async def _submit(self, job: Job, sink: JobSink) -> Job:
        await self._ctx.gate.pause()  # RunComfy asked everyone to slow down
        if not self._ctx.accepting:
            return job  # shutting down: it stays 'accepted' and is sent after the restart
        # Marking and sending are one step a shutdown waits for, entered with no await after
        # the check above: a job marked 'submitting' is always sent (and its id kept).
        await self._ctx.critical(job.id, self._mark_and_send(job))
        job = await self._ctx.reload(job)
        await quietly(sink.progress(job), job.id, "progress")
        return job

    async def _mark_and_send(self, job: Job) -> None:
        if await self._ctx.store.mark_submitting(job.id):  # False: cancelled before it was sent
            await self._send(job)  # the request id must never be lost

    async def _send(self, job: Job) -> None:
        store = self._ctx.store
        try:
            submission = await self._ctx.provider.submit(job.model_path, job.params)
        except SubmitUncertain:
            log.warning("job %d: submit answer lost; not resending", job.id)
            await store.mark_failed(job.id, m.LOST_SUBMIT)
            return
        except AuthError as exc:
            log.error("job %d: %s", job.id, exc)  # the operator's to fix; the text is scrubbed
            await store.mark_failed(job.id, exc.user_message)  # it says nothing was charged
            return
        except RunComfyError as exc:
            if isinstance(exc, RateLimited):
                self._ctx.gate.slow_down(exc.retry_after)
            log.warning("job %d: submit refused: %s", job.id, type(exc).__name__)
            await store.mark_failed(job.id, exc.user_message + m.REFUNDED)
            return
        if not await store.mark_submitted(job.id, submission.request_id):  # the StateLog logs it
            # Our lease was taken over while we sent (this process stalled past it): the new
            # owner found the job 'submitting' and refunded it, so this request must not run.
            log.error("job %d: lease lost while submitting; cancelling the request", job.id)
            with contextlib.suppress(RunComfyError):
                await self._ctx.provider.cancel(submission.request_id)

    # --- look ------------------------------------------------------------------------------

    async def check(self, watch: Watch) -> Job | None:
        """A look without asking RunComfy (woken by a cancel): the row if it left waiting."""
        self._ctx.heartbeat.beat()
        fresh = await self._ctx.reload(watch.job)
        if fresh.status in WAITING_STATUSES:
            watch.job = fresh
            return None
        return fresh

    async def look(self, watch: Watch) -> Job | None:
        """One poll: the job once it has left the waiting states, else None. What RunComfy
        answered is left in `watch.answer` for the poller to learn from."""
        self._ctx.heartbeat.beat()
        job = watch.job
        result = await self._result(job, watch)
        if isinstance(result, Job):
            return result
        fresh = await self._ctx.reload(job)
        if not fresh.is_open or fresh.status is JobStatus.DELIVERING:
            return fresh  # cancelled meanwhile, or another path moved it on
        job = fresh
        if result is not None:
            job = await self._apply(fresh, result, watch.sink)
            if job.status not in WAITING_STATUSES:
                return job
        watch.job = job
        if self._ctx.clock() > watch.deadline:
            return await self._overdue(job, watch)
        return None

    async def _result(self, job: Job, watch: Watch) -> JobResult | Job | None:
        """RunComfy's answer; a closed job when the answer ends it; None to look again later."""
        watch.answer = None
        try:
            result = await self._ctx.provider.result(watch.request_id)
        except NotFound:
            watch.not_found += 1
            return (
                await self._ctx.fail(job, m.EXPIRED) if watch.not_found >= NOT_FOUND_LIMIT else None
            )
        except (AuthError, InsufficientCredits) as exc:
            log.error("job %d: %s", job.id, exc)
            return await self._ctx.fail(job, exc.user_message + m.REFUNDED)
        except RunComfyError as exc:
            # Already retried with backoff inside the client: keep trying until the timeout.
            # A rate limit slows every look down, as long as it asks.
            log.warning("job %d: poll failed (%s)", job.id, type(exc).__name__)
            if isinstance(exc, RateLimited):
                self._ctx.gate.slow_down(exc.retry_after)
            return None
        self._ctx.gate.relax()
        watch.not_found = 0
        watch.answer = result
        return result

    async def _overdue(self, job: Job, watch: Watch) -> Job | None:
        if not await self._ctx.store.holds(job.id):
            return None  # another process runs it now (and times it out, if it must)
        outcome = None
        with contextlib.suppress(RunComfyError):
            outcome = await self._ctx.provider.cancel(watch.request_id)
        if outcome is not None and not outcome.cancelled and not watch.extended:
            # Already generating: it will be billed anyway, so give it one more timeout's
            # worth of time to finish rather than throw it away.
            watch.extended = True
            watch.deadline = self._ctx.clock() + self.job_timeout
            return None
        return await self._ctx.fail(job, m.TIMED_OUT)

    async def _apply(self, job: Job, result: JobResult, sink: JobSink) -> Job:
        store, state = self._ctx.store, result.state
        if state in (JobState.QUEUED, JobState.RUNNING):
            status = JobStatus.QUEUED if state is JobState.QUEUED else JobStatus.RUNNING
            news = (status, result.queue_position) != (job.status, job.queue_position)
            # Not moved: another process has taken the job over, and shows it.
            if news and await store.mark_progress(job.id, status, result.queue_position):
                job = await self._ctx.reload(job)
                await quietly(sink.progress(job), job.id, "progress")
            return job
        if state is JobState.COMPLETED and result.video_url:
            await store.mark_delivering(job.id, result.video_url)
            return await self._ctx.reload(job)
        if state is JobState.CANCELLED:
            if job.id in self._ctx.cancelling:
                return job  # our own cancel: the canceller closes it, naming who cancelled
            closed = await store.mark_cancelled(job.id, 0, WAITING_STATUSES)
            return closed or await self._ctx.reload(job)
        reason = result.error or "no reason given"
        return await self._ctx.fail(
            job, f"RunComfy could not make this video: {reason[:300]}." + m.REFUNDED
        )

    # --- deliver ---------------------------------------------------------------------------

    async def deliver(self, job: Job, sink: JobSink) -> Job:
        assert job.video_url is not None
        if not await self._ctx.store.holds(job.id):
            return await self._ctx.reload(job)  # taken over: the new owner delivers it
        path = self.video_dir / f"job-{job.id}-{uuid.uuid4().hex[:8]}.mp4"
        try:
            video, too_large = await self._fetch(job, job.video_url, path)
        except NotFound:
            remove(path)
            return await self._ctx.fail(job, m.VIDEO_GONE)
        except UntrustedHost as exc:
            remove(path)
            log.warning("job %d: %s", job.id, exc)  # the host only, never the signed URL
            return await self._ctx.fail(job, m.UNTRUSTED_VIDEO, forget_video=True)
        except BaseException:
            remove(path)
            raise
        # The file is removed by the hand-over itself: a shutdown that stops waiting for it
        # must not pull the file from under an upload still in progress.
        return await self._ctx.critical(job.id, self._hand_over(job, sink, video, too_large, path))

    async def _fetch(self, job: Job, url: str, path: Path) -> tuple[Path | None, bool]:
        """Download the video; (None, True) when too large to attach, (None, False) when it
        could not be fetched (the sink links to it instead)."""
        await asyncio.to_thread(self.video_dir.mkdir, parents=True, exist_ok=True)
        try:
            await self._ctx.provider.download(url, path, max_bytes=job.upload_limit)
        except TooLarge:
            return None, True
        except (NotFound, UntrustedHost):
            raise
        except RunComfyError as exc:
            log.warning("job %d: download failed (%s)", job.id, type(exc).__name__)
            return None, False
        return path, False

    async def _hand_over(
        self, job: Job, sink: JobSink, video: Path | None, too_large: bool, path: Path
    ) -> Job:
        if not await self._ctx.store.holds(job.id):  # the download may have taken a while
            remove(path)
            return await self._ctx.reload(job)
        try:
            delivered, message_id = await self._post(job, sink, video, too_large)
        finally:
            remove(path)
        if not delivered:
            # Not silently stuck: the member is refunded and told on the card.
            return await self._ctx.fail(job, m.UNDELIVERABLE)
        await self._ctx.store.mark_delivered(job.id, message_id)
        return await self._ctx.reload(job)

    async def _post(
        self, job: Job, sink: JobSink, video: Path | None, too_large: bool
    ) -> tuple[bool, int | None]:
        """Whether the result went out, and its message id (None when the sink has none)."""
        for attempt in range(1, DELIVERY_ATTEMPTS + 1):
            try:
                return True, await sink.deliver(job, video, too_large=too_large)
            except Undeliverable as exc:
                log.warning("job %d: undeliverable (%s)", job.id, exc)
                return False, None
            except Exception:
                log.exception("job %d: delivery attempt %d failed", job.id, attempt)
                if attempt < DELIVERY_ATTEMPTS:
                    await asyncio.sleep(2.0 * attempt)
        return False, None


def remove(path: Path) -> None:
    # Synchronous on purpose (one quick syscall): it must also run while the task is cancelled.
    path.unlink(missing_ok=True)
