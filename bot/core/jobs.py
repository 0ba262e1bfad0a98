"""The life of one job, Discord-free: accept (reserve + row), submit, poll, download, deliver.

The jobs table is the source of truth: every step first reads or moves the row, so a job picked
up again after a restart carries on from where the row says it is. A `JobSink` (the Discord card,
or the demo's console) is told about progress and asked to deliver; it never decides anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bot.core.errors import JobNotFound, NotAllowed, QuotaRefused
from bot.core.quotas import QuotaService
from bot.core.schema import VideoRequest
from bot.runcomfy import (
    AuthError,
    InsufficientCredits,
    JobResult,
    JobState,
    NotFound,
    RateLimited,
    RunComfyClient,
    RunComfyError,
    SubmitUncertain,
    TooLarge,
    UntrustedHost,
)
from db.jobs import CANCELLABLE_STATUSES, Job, JobRepo, Limits, NewJob, Refusal

log = logging.getLogger(__name__)
T = TypeVar("T")

LOST_SUBMIT = (
    "RunComfy did not confirm this job when it was sent, so it may or may not have started. "
    "So that nobody pays twice it was not sent again, and your credits were refunded."
)
UNTRUSTED_VIDEO = (
    "RunComfy's answer pointed to a file on an unexpected address, so the bot did not fetch or "
    "post it. Your credits were refunded."
)
REFUNDED = " Your credits were refunded."
TIMED_OUT = "RunComfy did not finish this video in time. Your credits were refunded."
UNANSWERED = (
    "The bot restarted before it could answer this request, so it was not started. "
    "Nothing was charged: please run /video again."
)
VIDEO_GONE = (
    "The video was made, but its download link had expired before the bot could fetch it. "
    "Your credits were refunded."
)
UNDELIVERABLE = (
    "The video was made, but the bot could not post it here or send it to you by DM (check "
    "the bot's permissions in this channel, and your DM settings). Your credits were refunded; "
    "the link is in /jobs show for a while."
)
REMOVED_FROM_SERVER = "The bot was removed from this server. Your credits were refunded."
EXPIRED = "RunComfy no longer has this job (it expired). Your credits were refunded."
STARTED_MEANWHILE = (
    "It has already started generating, so it can't be cancelled any more; "
    "it will be delivered as usual."
)
CRASHED = (
    "Something went wrong on the bot's side while making this video, and it could not "
    "recover. Your credits were refunded; please try again later."
)
DELIVERY_ATTEMPTS = 3
RUNNER_ATTEMPTS = 4  # an unexpected error (disk, database, session) is retried this often
NOT_FOUND_LIMIT = 3  # polls in a row answering "unknown request" before we believe it
RETRY_AFTER_CAP = 60.0  # longest a poller waits on a rate limit before looking again
TYPICAL_TTL = 30.0  # seconds a typical job duration is reused before it is read again


class Undeliverable(Exception):
    """Raised by a sink when no retry can help (the channel is gone and DMs are closed)."""


class JobSink(Protocol):
    """Where a job's progress and result go (a Discord card, or the demo's console)."""

    async def progress(self, job: Job) -> None: ...

    async def deliver(self, job: Job, video: Path | None, *, too_large: bool) -> int | None:
        """Post the result (the file, or `job.video_url` when `video` is None: too large to
        attach, or not downloadable); returns the message id."""

    async def finished(self, job: Job) -> None: ...


@dataclass(frozen=True)
class CancelResult:
    job: Job
    cancelled: bool  # False: it was already running or finished, and goes on
    reason: str


class JobService:
    def __init__(
        self,
        jobs: JobRepo,
        quotas: QuotaService,
        runcomfy: RunComfyClient,
        *,
        video_dir: Path,
        poll_interval: float = 3.0,
        job_timeout: float = 1800.0,
        runner_backoff: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.jobs = jobs
        self.quotas = quotas
        self._runcomfy = runcomfy
        self._video_dir = video_dir
        self._poll_interval = poll_interval
        self._job_timeout = job_timeout
        self._runner_backoff = runner_backoff
        self._clock = clock
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._inflight: set[asyncio.Future[Any]] = set()
        self._wakeups: dict[int, asyncio.Event] = {}
        self._cancelling: set[int] = set()
        self._cancel_locks = _KeyedLocks()
        self._typical: dict[tuple[str, str], asyncio.Future[tuple[float, float | None]]] = {}
        self.accepting = True

    async def accept(
        self,
        *,
        guild_id: int,
        channel_id: int,
        user_id: int,
        request: VideoRequest,
        upload_limit: int,
        role_ids: Sequence[int] = (),
    ) -> Job:
        """Reserve credits and create the job row; raises QuotaRefused with what to do."""
        if not self.accepting:
            raise QuotaRefused("The bot is restarting; try again in a minute. Nothing was charged.")
        await self.quotas.screen(guild_id, user_id, request.prompt)
        cost = self.quotas.cost(request)
        limits = await self.quotas.limits_for(guild_id, role_ids)
        new = NewJob(
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            model_path=request.model_path,
            params=dict(request.params),
            cost=cost,
            period=self.quotas.period(),
            upload_limit=upload_limit,
        )
        outcome = await self.jobs.accept(new, limits)
        if isinstance(outcome, Refusal):
            raise QuotaRefused(self._refusal_text(outcome, cost, limits))
        log.info("job %d accepted (cost %d)", outcome.id, cost)
        return outcome

    def _refusal_text(self, refusal: Refusal, cost: int, limits: Limits) -> str:
        reset = f"<t:{self.quotas.reset_at()}:R>"
        credits = limits.credits + refusal.granted
        if refusal.reason == "active":
            return (
                f"You already have {refusal.active} video(s) in progress (the limit is "
                f"{limits.max_active}). Wait for one to finish, then try again. "
                "Nothing was charged."
            )
        if refusal.reason == "credits" and credits == 0:
            return "Video making is turned off for you in this server. Nothing was charged."
        if refusal.reason == "credits":
            left = max(credits - refusal.used, 0)
            return (
                f"This video costs {cost} credits and you have {left} of {credits} left today. "
                f"Try a shorter or lower-resolution video, or wait for the reset {reset}. "
                "Nothing was charged."
            )
        budget = limits.guild_budget or 0
        left = max(budget - refusal.guild_used, 0)
        return (
            f"This server has {left} of its {budget} daily credits left, not enough for this "
            f"{cost}-credit video. Try a shorter or lower-resolution one, or wait for the reset "
            f"{reset}. Nothing was charged."
        )

    async def history(
        self, guild_id: int, user_id: int, *, offset: int, limit: int
    ) -> tuple[list[Job], int]:
        """A member's jobs in a server, newest first, and how many there are in all."""
        jobs = await self.jobs.for_user(guild_id, user_id, limit, offset)
        return jobs, await self.jobs.count_for_user(guild_id, user_id)

    async def open_in_guild(self, guild_id: int) -> list[Job]:
        """Every queued or running job of a server, oldest first."""
        return await self.jobs.open_in_guild(guild_id)

    # --- running -------------------------------------------------------------------------------

    def start(
        self, job: Job, sink: JobSink, *, after: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        """Run (or resume) a job in the background; at most one runner per job.

        `after`, if given, is awaited first: the bot uses it to answer every member waiting on
        Discord's 3 s deadline before it starts new work.
        """
        if job.id in self._tasks:
            return
        task = asyncio.create_task(self._run_logged(job, sink, after), name=f"job-{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.id, None))

    async def resume_all(self, sink_for: Callable[[Job], JobSink]) -> int:
        """Pick up every unfinished job from the table (after a restart)."""
        # Videos left by uploads cut off at the last stop: each job downloads its own again.
        for stale in await asyncio.to_thread(lambda: list(self._video_dir.glob("job-*.mp4"))):
            _remove(stale)
        resumed = 0
        for job in await self.jobs.open_jobs():
            if job.status == "accepted" and job.card_message_id is None:
                # The process died before the member got an answer: they saw "did not
                # respond" and will try again, so this one must not run (or cost) as well.
                await self.jobs.mark_cancelled(job.id, 0, ("accepted",), reason=UNANSWERED)
                continue
            self.start(job, sink_for(job))
            resumed += 1
        if resumed:
            log.info("resumed %d unfinished job(s)", resumed)
        return resumed

    async def wait_idle(self) -> None:
        """Wait until every running job has ended (used by the demo and tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def shutdown(self, grace: float = 10.0) -> None:
        """Stop accepting, let in-flight submits and uploads finish, then stop the pollers.

        Everything else is already persisted, so a poller stopped here resumes at next start.
        """
        self.accepting = False
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=grace)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run_logged(
        self, job: Job, sink: JobSink, after: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        if after is not None:
            await after()
        for attempt in range(1, RUNNER_ATTEMPTS + 1):
            try:
                await self.run(job if attempt == 1 else await self._reload(job), sink)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                # Not a provider error (those end the job inside `run`): a full disk, a
                # database error, a closed session. The row says where to carry on from.
                log.exception("job %d: runner crashed (attempt %d)", job.id, attempt)
            if attempt < RUNNER_ATTEMPTS:
                await asyncio.sleep(self._runner_backoff * 2 ** (attempt - 1))
        await self._give_up(job, sink)

    async def _give_up(self, job: Job, sink: JobSink) -> None:
        """No job stays open without a runner: refund it and say so on its card."""
        try:
            closed = await self.jobs.mark_failed(job.id, CRASHED)
        except Exception:
            log.exception("job %d: could not be closed; it resumes at the next start", job.id)
            return
        log.error("job %d: failed after %d runner crashes; refunded", job.id, RUNNER_ATTEMPTS)
        if closed is not None:
            await _quietly(sink.finished(closed), job.id, "finished")

    async def run(self, job: Job, sink: JobSink) -> None:
        """Drive one job from whatever state its row is in to a final state."""
        if job.status == "accepted":
            job = await self._submit(job, sink)
            if job.status == "accepted":
                return  # not sent because the bot is stopping; it resumes at the next start
        elif job.status == "submitting":
            # We crashed between sending the submit and storing its answer: a job may exist at
            # RunComfy, but we cannot know its id. Never resend; refund and say so.
            job = await self._fail(job, LOST_SUBMIT)
        if job.status in ("queued", "running"):
            job = await self._poll(job, sink)
        if job.status == "delivering":
            job = await self._deliver(job, sink)
        await _quietly(sink.finished(job), job.id, "finished")

    async def _submit(self, job: Job, sink: JobSink) -> Job:
        if not self.accepting:
            return job  # shutting down: it stays 'accepted' and is sent after the restart
        if not await self.jobs.mark_submitting(job.id):
            return await self._reload(job)  # cancelled before it was sent
        await self._critical(self._send(job))  # the request id must never be lost
        job = await self._reload(job)
        await _quietly(sink.progress(job), job.id, "progress")
        return job

    async def _critical(self, step: Coroutine[Any, Any, T]) -> T:
        """Run a step that must not be cut in half (a paid submit, an upload): shielded from
        cancellation, and a shutdown waits for it."""
        inflight = asyncio.ensure_future(step)
        self._inflight.add(inflight)
        inflight.add_done_callback(self._inflight.discard)
        return await asyncio.shield(inflight)

    async def _send(self, job: Job) -> None:
        try:
            submission = await self._runcomfy.submit(job.model_path, job.params)
        except SubmitUncertain:
            log.warning("job %d: submit answer lost; not resending", job.id)
            await self.jobs.mark_failed(job.id, LOST_SUBMIT)
            return
        except AuthError as exc:
            log.error("job %d: %s", job.id, exc)  # the operator's to fix; the text is scrubbed
            await self.jobs.mark_failed(job.id, exc.user_message)  # it says nothing was charged
            return
        except RunComfyError as exc:
            log.warning("job %d: submit refused: %s", job.id, type(exc).__name__)
            await self.jobs.mark_failed(job.id, exc.user_message + REFUNDED)
            return
        await self.jobs.mark_submitted(job.id, submission.request_id)
        log.info("job %d submitted as %s", job.id, submission.request_id)

    async def _poll(self, job: Job, sink: JobSink) -> Job:
        request_id = job.request_id
        assert request_id is not None
        deadline = (job.submitted_at or job.created_at) + self._job_timeout
        wakeup = self._wakeups.setdefault(job.id, asyncio.Event())
        # Just submitted: nothing to see for a while. Resumed after a restart: look at once.
        just_sent = job.submitted_at is not None and self._clock() - job.submitted_at < 1.0
        loop = asyncio.get_running_loop()
        next_poll = loop.time() + (self._poll_interval if just_sent else 0.0)
        not_found = 0
        extended = False
        try:
            while True:
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), max(next_poll - loop.time(), 0.0))
                try:
                    result = await self._runcomfy.result(request_id)
                    not_found = 0
                except NotFound:
                    not_found += 1
                    if not_found >= NOT_FOUND_LIMIT:
                        return await self._fail(job, EXPIRED)
                    result = None
                except (AuthError, InsufficientCredits) as exc:
                    log.error("job %d: %s", job.id, exc)
                    return await self._fail(job, exc.user_message + REFUNDED)
                except RunComfyError as exc:
                    # Already retried with backoff inside the client: keep trying until timeout,
                    # waiting as long as a rate limit asks.
                    log.warning("job %d: poll failed (%s)", job.id, type(exc).__name__)
                    result = None
                    if isinstance(exc, RateLimited) and exc.retry_after:
                        wait = min(exc.retry_after, RETRY_AFTER_CAP)
                        next_poll = max(next_poll, loop.time() + wait - self._poll_interval)
                fresh = await self._reload(job)
                if not fresh.is_open or fresh.status == "delivering":
                    return fresh  # cancelled meanwhile, or another path moved it on
                if result is not None:
                    job = await self._apply(fresh, result, sink)
                    if job.status not in ("queued", "running"):
                        return job
                if self._clock() > deadline:
                    outcome = None
                    with contextlib.suppress(RunComfyError):
                        outcome = await self._runcomfy.cancel(request_id)
                    if outcome is not None and not outcome.cancelled and not extended:
                        # Already generating: it will be billed anyway, so give it one more
                        # timeout's worth of time to finish rather than throw it away.
                        extended = True
                        deadline = self._clock() + self._job_timeout
                    else:
                        return await self._fail(job, TIMED_OUT)
                # A fixed cadence (not interval-after-work), so a completion is seen within one
                # poll interval; after a slow round it starts afresh rather than catching up.
                next_poll = max(next_poll + self._poll_interval, loop.time())
        finally:
            self._wakeups.pop(job.id, None)

    async def _apply(self, job: Job, result: JobResult, sink: JobSink) -> Job:
        state = result.state
        if state in (JobState.QUEUED, JobState.RUNNING):
            status = "queued" if state is JobState.QUEUED else "running"
            if (status, result.queue_position) != (job.status, job.queue_position):
                await self.jobs.mark_progress(job.id, status, result.queue_position)
                job = await self._reload(job)
                await _quietly(sink.progress(job), job.id, "progress")
            return job
        if state is JobState.COMPLETED and result.video_url:
            await self.jobs.mark_delivering(job.id, result.video_url)
            return await self._reload(job)
        if state is JobState.CANCELLED:
            if job.id in self._cancelling:
                return job  # our own cancel: `cancel()` closes it, naming who cancelled
            closed = await self.jobs.mark_cancelled(job.id, 0, ("queued", "running"))
            return closed or await self._reload(job)
        reason = result.error or "no reason given"
        return await self._fail(
            job, f"RunComfy could not make this video: {reason[:300]}. Your credits were refunded."
        )

    async def _deliver(self, job: Job, sink: JobSink) -> Job:
        assert job.video_url is not None
        path = self._video_dir / f"job-{job.id}-{uuid.uuid4().hex[:8]}.mp4"
        try:
            video, too_large = await self._fetch(job, job.video_url, path)
        except NotFound:
            _remove(path)
            return await self._fail(job, VIDEO_GONE)
        except UntrustedHost as exc:
            _remove(path)
            log.warning("job %d: %s", job.id, exc)  # the host only, never the signed URL
            return await self._fail(job, UNTRUSTED_VIDEO)
        except BaseException:
            _remove(path)
            raise
        # The file is removed by the hand-over itself: a shutdown that stops waiting for it
        # must not pull the file from under an upload still in progress.
        return await self._critical(self._hand_over(job, sink, video, too_large, path))

    async def _fetch(self, job: Job, url: str, path: Path) -> tuple[Path | None, bool]:
        """Download the video; (None, True) when too large to attach, (None, False) when it
        could not be fetched (the sink links to it instead)."""
        await asyncio.to_thread(self._video_dir.mkdir, parents=True, exist_ok=True)
        try:
            await self._runcomfy.download(url, path, max_bytes=job.upload_limit)
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
        try:
            for attempt in range(1, DELIVERY_ATTEMPTS + 1):
                try:
                    message_id = await sink.deliver(job, video, too_large=too_large)
                    break
                except Undeliverable as exc:
                    log.warning("job %d: undeliverable (%s)", job.id, exc)
                    return await self._fail(job, UNDELIVERABLE)
                except Exception:
                    log.exception("job %d: delivery attempt %d failed", job.id, attempt)
                    if attempt == DELIVERY_ATTEMPTS:
                        # Not silently stuck: the member is refunded and told on the card.
                        return await self._fail(job, UNDELIVERABLE)
                    await asyncio.sleep(2.0 * attempt)
        finally:
            _remove(path)
        await self.jobs.mark_delivered(job.id, message_id)
        log.info("job %d delivered", job.id)
        return await self._reload(job)

    async def _fail(self, job: Job, reason: str) -> Job:
        log.info("job %d failed", job.id)
        closed = await self.jobs.mark_failed(job.id, reason)
        return closed or await self._reload(job)

    async def _reload(self, job: Job) -> Job:
        fresh = await self.jobs.get(job.id)
        if fresh is None:
            raise JobNotFound(job.id)
        return fresh

    # --- cancel, eta -----------------------------------------------------------------------------

    async def job_in_guild(self, job_id: int, guild_id: int) -> Job:
        """A job of this server; another server's job is as unknown as a missing one."""
        job = await self.jobs.get(job_id)
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
        async with self._cancel_locks.hold(job_id):
            job = await self.job_in_guild(job_id, guild_id)
            if job.user_id != actor_id and not moderator:
                raise NotAllowed(
                    "Only the member who asked for this video, or a moderator, can cancel it."
                )
            return await self._cancel(job, actor_id, reason)

    async def _cancel(self, job: Job, actor_id: int, reason: str | None) -> CancelResult:
        if job.status == "submitting":
            return CancelResult(
                job, False, "It is being sent to RunComfy right now; try again in a moment."
            )
        if job.status not in CANCELLABLE_STATUSES:
            return CancelResult(job, False, _not_cancellable(job))
        self._cancelling.add(job.id)
        try:
            if job.request_id is not None:
                outcome = await self._runcomfy.cancel(job.request_id)
                if not outcome.cancelled:
                    # It started meanwhile: the provider keeps running (and billing) it.
                    return CancelResult(await self._reload(job), False, STARTED_MEANWHILE)
            # Only from the status we acted on: a job sent to RunComfy meanwhile must be
            # cancelled there first, so we look again.
            closed = await self.jobs.mark_cancelled(job.id, actor_id, (job.status,), reason)
        finally:
            self._cancelling.discard(job.id)
        if closed is None:
            fresh = await self._reload(job)
            if fresh.status in CANCELLABLE_STATUSES and fresh.status != job.status:
                return await self._cancel(fresh, actor_id, reason)
            return CancelResult(fresh, False, _not_cancellable(fresh))
        if (event := self._wakeups.get(job.id)) is not None:
            event.set()  # the poller notices at once instead of at its next poll
        log.info("job %d cancelled by %d", job.id, actor_id)
        return CancelResult(closed, True, "Cancelled; the credits were refunded.")

    async def guild_removed(self, guild_id: int) -> list[Job]:
        """The bot left (or was removed from) a server: cancel and refund what has not started.

        A job already generating is billed either way, so it runs on and is delivered by DM.
        """
        closed = []
        for job in await self.jobs.open_in_guild(guild_id):
            if job.status not in CANCELLABLE_STATUSES:
                continue
            try:
                result = await self.cancel(
                    job.id, 0, guild_id=guild_id, moderator=True, reason=REMOVED_FROM_SERVER
                )
            except RunComfyError as exc:
                log.warning("job %d: cancel on leaving failed (%s)", job.id, type(exc).__name__)
                continue
            if result.cancelled:
                closed.append(result.job)
        log.info("left guild %d: %d job(s) cancelled", guild_id, len(closed))
        return closed

    async def expected_at(self, job: Job) -> float | None:
        """When the video should be ready, from this bot's own history of similar jobs."""
        if job.status not in ("accepted", "submitting", "queued", "running"):
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
            return None  # too little history to be honest about
        return (job.submitted_at or job.created_at) + typical

    async def _read_typical(self, key: tuple[str, str]) -> tuple[float, float | None]:
        samples = await self.jobs.run_seconds(*key)
        typical = statistics.median(samples) if len(samples) >= 3 else None
        return self._clock() + TYPICAL_TTL, typical


def _not_cancellable(job: Job) -> str:
    return {
        "running": STARTED_MEANWHILE,
        "delivering": "It has already finished and is being delivered.",
        "delivered": "It has already been delivered.",
        "failed": "It has already ended (it failed and was refunded).",
        "cancelled": "It was already cancelled.",
    }.get(job.status, "It can't be cancelled now.")


def _remove(path: Path) -> None:
    # Synchronous on purpose (one quick syscall): it must also run while the task is cancelled.
    path.unlink(missing_ok=True)


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


async def _quietly(step: object, job_id: int, what: str) -> None:
    """Run a sink callback; a Discord hiccup must never stop the job itself."""
    try:
        await step  # type: ignore[misc]
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("job %d: sink %s failed", job_id, what)
