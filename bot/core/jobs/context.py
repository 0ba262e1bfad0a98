"""What the parts of the job service share: the store, the provider, and the in-process state
that ties a running job to its poller (its watch, the doorbell, the rate gate, our own cancels,
paid calls in flight)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bot.core.domain import Job
from bot.core.errors import JobNotFound
from bot.core.jobs.schedule import Sight
from bot.core.jobs.timers import RateGate
from bot.core.ports import JobStore
from bot.core.provider import JobResult, VideoProvider
from bot.core.telemetry import Heartbeat

log = logging.getLogger(__name__)
T = TypeVar("T")


class Undeliverable(Exception):
    """Raised by a sink when no retry can help (the channel is gone and DMs are closed)."""


class JobSink(Protocol):
    """Where a job's progress and result go (a Discord card, or the demo's console)."""

    async def progress(self, job: Job) -> None: ...

    async def deliver(self, job: Job, video: Path | None, *, too_large: bool) -> int | None:
        """Post the result (the file, or `job.video_url` when `video` is None: too large to
        attach, or not downloadable); returns the message id."""

    async def finished(self, job: Job) -> None: ...


def _no_doorbell(job_id: int) -> None:
    return None


@dataclass
class JobContext:
    store: JobStore
    provider: VideoProvider
    clock: Callable[[], float] = time.time
    accepting: bool = True  # False while stopping: no new paid submits
    gate: RateGate = field(default_factory=lambda: RateGate(0.0, clock=time.monotonic))
    doorbell: Callable[[int], None] = _no_doorbell  # wakes a job's next look (the poller's)
    cancelling: set[int] = field(default_factory=set)  # our own cancel is at RunComfy
    inflight: set[asyncio.Future[Any]] = field(default_factory=set)  # a shutdown waits on these
    heartbeat: Heartbeat = field(default_factory=Heartbeat)  # every look beats it (liveness)

    busy: dict[asyncio.Future[Any], int] = field(default_factory=dict)  # inflight -> job id

    async def critical(self, job_id: int, step: Coroutine[Any, Any, T]) -> T:
        """Run a step of a job that must not be cut in half (a paid submit, an upload):
        shielded from cancellation, and a shutdown waits for it."""
        inflight = asyncio.ensure_future(step)
        self.inflight.add(inflight)
        self.busy[inflight] = job_id
        inflight.add_done_callback(self._step_done)
        return await asyncio.shield(inflight)

    def _step_done(self, inflight: asyncio.Future[Any]) -> None:
        self.inflight.discard(inflight)
        self.busy.pop(inflight, None)

    def busy_jobs(self) -> set[int]:
        """The jobs with a step still in flight (a stop must not give their leases away)."""
        return set(self.busy.values())

    async def reload(self, job: Job) -> Job:
        fresh = await self.store.get(job.id)
        if fresh is None:
            raise JobNotFound(job.id)
        return fresh

    async def fail(self, job: Job, reason: str, *, forget_video: bool = False) -> Job:
        closed = await self.store.mark_failed(job.id, reason, forget_video=forget_video)
        return closed or await self.reload(job)

    def wake(self, job_id: int) -> None:
        """Tell a job's poller to look now instead of at its next poll."""
        self.doorbell(job_id)


@dataclass
class Watch:
    """A waiting job as its poller knows it, from one look to the next."""

    job: Job  # the row as of the latest look
    sink: JobSink
    request_id: str
    deadline: float  # `JobContext.clock` time; past it the job is cancelled or given more time
    sight: Sight  # what the looks have seen (for planning the next one)
    on_end: Callable[[Job], None]  # the job left the waiting states
    on_crash: Callable[[Watch, Exception], float | None]  # seconds to retry after, None: no
    due: float = 0.0  # when the next look was planned (the scheduler's clock)
    not_found: int = 0  # answers "unknown request" in a row
    extended: bool = False  # given one more timeout's worth because it was already generating
    failures: int = 0  # looks in a row without an answer
    answer: JobResult | None = None  # what the latest look was told (None: no answer)
    last_at: float | None = None  # when the latest answered look went out


async def quietly(step: Coroutine[Any, Any, None], job_id: int, what: str) -> None:
    """Run a sink callback; a Discord hiccup must never stop the job itself."""
    try:
        await step
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("job %d: sink %s failed", job_id, what)
