"""The job service the cogs and the demo call: accept a request, run it, cancel it, list jobs.

It wires the parts of `bot.core.jobs` together; each part holds one concern.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from bot.core.contests.video_entries import CONTEST_REFUSALS, contest_refusal
from bot.core.domain import Duplicate, Job, JobStatus, NewJob, Refusal
from bot.core.errors import DuplicateRequest, QuotaRefused
from bot.core.hints import Hints, LocalHints
from bot.core.jobs import messages as m
from bot.core.jobs.cancel import Canceller, CancelResult
from bot.core.jobs.context import JobContext, JobSink
from bot.core.jobs.eta import Eta
from bot.core.jobs.leases import LeaseKeeper
from bot.core.jobs.lifecycle import Lifecycle
from bot.core.jobs.poller import Poller
from bot.core.jobs.runner import Runner
from bot.core.jobs.schedule import Tuning
from bot.core.jobs.statelog import StateLog
from bot.core.jobs.timers import RateGate
from bot.core.ports import JobStore
from bot.core.provider import VideoProvider
from bot.core.quotas import QuotaService
from bot.core.schema import VideoRequest
from bot.core.telemetry import NullTelemetry, Telemetry

log = logging.getLogger(__name__)

DUPLICATE_WINDOW = 10.0  # seconds in which the same request again is taken as a double click
# Looks are at most RUNCOMFY_POLL_CEILING (30 s) apart, a rate limit pauses them up to 60 s:
# longer than this without one while jobs wait means the runner is stuck.
STALL_SECONDS = 180.0


@dataclass(frozen=True)
class JobLoad:
    queued: int  # accepted, being sent, or queued at RunComfy
    running: int  # generating, or being delivered
    queued_here: int
    running_here: int
    oldest_age: float | None  # seconds since the oldest open job was accepted


def fingerprint(request: VideoRequest) -> str:
    """The model and options asked for, as one comparable value (the prompt included; a seed
    the bot picked is not what the member asked for, so it is left out)."""
    params = dict(request.params)
    if request.seed_by_bot and request.seed_key:
        params.pop(request.seed_key, None)
    asked = {"model": request.model_path, "params": params}
    return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()


class JobService:
    def __init__(
        self,
        store: JobStore,
        quotas: QuotaService,
        provider: VideoProvider,
        *,
        video_dir: Path,
        poller: str = "adaptive",
        poll_interval: float = 3.0,
        poll_floor: float = 1.0,
        poll_ceiling: float = 30.0,
        max_rps: float = 0.0,
        end_burst: int = 0,
        job_timeout: float = 1800.0,
        lease_seconds: float = 30.0,
        runner_backoff: float = 1.0,
        clock: Callable[[], float] = time.time,
        telemetry: Telemetry | None = None,
        hints: Hints | None = None,
    ) -> None:
        """`poller` is "adaptive" (looks planned from what the bot knows, between
        `poll_floor` and `poll_ceiling` seconds apart) or "fixed" (one look every
        `poll_interval`); `max_rps` caps the looks per second at RunComfy (0: no cap), and
        `end_burst` more looks at jobs that have probably just ended may go at once."""
        if poller not in ("adaptive", "fixed"):
            raise ValueError(f"poller must be 'adaptive' or 'fixed', not {poller!r}")
        # Every state change passes the StateLog: one log line and one telemetry event each.
        store = cast(JobStore, StateLog(store, telemetry or NullTelemetry(), clock))
        self._store = store
        self._quotas = quotas
        gate = RateGate(max_rps, clock=time.monotonic, reserve=end_burst)
        self._ctx = JobContext(store, provider, clock, gate=gate)
        lifecycle = Lifecycle(self._ctx, video_dir=video_dir, job_timeout=job_timeout)
        self._eta = Eta(store, clock)
        self.poller = Poller(
            self._ctx,
            lifecycle,
            self._eta,
            tuning=Tuning(floor=poll_floor, ceiling=poll_ceiling),
            fixed_interval=poll_interval if poller == "fixed" else None,
        )
        self._ctx.doorbell = self.poller.wake
        self.runner = Runner(self._ctx, lifecycle, self.poller, backoff=runner_backoff)
        self.leases = LeaseKeeper(
            store, self.runner, lease_seconds=lease_seconds, busy=self._ctx.busy_jobs
        )
        self._canceller = Canceller(self._ctx)
        # A cancel pressed on another process's card: the process running the job looks now.
        self._hints = hints or LocalHints()
        self._hints.on("job", self.poller.wake)

    async def accept(
        self,
        *,
        guild_id: int,
        channel_id: int,
        user_id: int,
        request: VideoRequest,
        upload_limit: int,
        role_ids: Sequence[int] = (),
        again_of: int | None = None,
        contest_id: int | None = None,
    ) -> Job:
        """Reserve credits and create the job row; raises QuotaRefused with what to do, and
        DuplicateRequest for a repeat of a request just made (a double click). `again_of`
        names the job an Again press repeats on purpose; `contest_id` a contest to enter the
        video in once delivered (stored with the job, in the same transaction)."""
        if not self._ctx.accepting:
            raise QuotaRefused(m.RESTARTING)
        await self._quotas.screen_model(guild_id, request.model_key)
        await self._quotas.screen(guild_id, user_id, request.prompt)
        cost = self._quotas.cost(request)
        limits = await self._quotas.limits_for(guild_id, role_ids)
        new = NewJob(
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            model_path=request.model_path,
            params=dict(request.params),
            cost=cost,
            period=self._quotas.period(),
            upload_limit=upload_limit,
            fingerprint=fingerprint(request),
            seed_by_bot=request.seed_by_bot,
            prompt=request.prompt,
            duplicate_since=self._ctx.clock() - DUPLICATE_WINDOW,
            again_of=again_of,
            contest_id=contest_id,
        )
        outcome = await self._store.accept(new, limits)
        if isinstance(outcome, Refusal) and outcome.reason in CONTEST_REFUSALS:
            raise contest_refusal(outcome)  # no room in the contest: nothing charged
        if isinstance(outcome, Refusal):
            raise QuotaRefused(m.refusal_text(outcome, cost, limits, self._quotas.reset_at()))
        if isinstance(outcome, Duplicate):
            log.info("job %d asked for again (a double click?)", outcome.job.id)
            raise DuplicateRequest(m.duplicate_text(outcome.job), outcome.job.id)
        return outcome

    async def answered(self, job: Job, card_message_id: int) -> None:
        """The member has the job's card: remember where it is."""
        await self._store.set_card(job.id, card_message_id)

    async def unanswered(self, job: Job) -> None:
        """Answering the member failed: nothing was sent yet, so cancel and refund."""
        await self._store.mark_cancelled(job.id, 0, frozenset({JobStatus.ACCEPTED}))

    async def get(self, job_id: int) -> Job | None:
        return await self._store.get(job_id)

    async def history(
        self, guild_id: int, user_id: int, *, offset: int, limit: int
    ) -> tuple[list[Job], int]:
        """A member's jobs in a server, newest first, and how many there are in all."""
        jobs = await self._store.for_user(guild_id, user_id, limit, offset)
        return jobs, await self._store.count_for_user(guild_id, user_id)

    async def open_in_guild(self, guild_id: int) -> list[Job]:
        """Every queued or running job of a server, oldest first."""
        return await self._store.open_in_guild(guild_id)

    async def open_guild_ids(self) -> set[int]:
        """The servers that have open jobs (checked against the bot's servers at start)."""
        return {job.guild_id for job in await self._store.open_jobs()}

    async def job_in_guild(self, job_id: int, guild_id: int) -> Job:
        return await self._canceller.job_in_guild(job_id, guild_id)

    async def cancel(
        self,
        job_id: int,
        actor_id: int,
        *,
        guild_id: int,
        moderator: bool,
        reason: str | None = None,
    ) -> CancelResult:
        result = await self._canceller.cancel(
            job_id, actor_id, guild_id=guild_id, moderator=moderator, reason=reason
        )
        if result.cancelled:
            await self._hints.send("job", job_id)
        return result

    async def guild_removed(self, guild_id: int) -> list[Job]:
        closed = await self._canceller.guild_removed(guild_id)
        for job in closed:
            await self._hints.send("job", job.id)
        return closed

    async def load(self, guild_id: int) -> JobLoad:
        """Open jobs now: queued and running in this server and in all, the oldest's age."""
        jobs = await self._store.open_jobs()
        now = self._ctx.clock()
        waiting = (JobStatus.ACCEPTED, JobStatus.SUBMITTING, JobStatus.QUEUED)
        here = [j for j in jobs if j.guild_id == guild_id]
        return JobLoad(
            queued=sum(1 for j in jobs if j.status in waiting),
            running=sum(1 for j in jobs if j.status not in waiting),
            queued_here=sum(1 for j in here if j.status in waiting),
            running_here=sum(1 for j in here if j.status not in waiting),
            oldest_age=max((now - j.created_at for j in jobs), default=None),
        )

    async def count_by_status(self) -> dict[JobStatus, int]:
        """Every job in the table by status, finished ones included."""
        return await self._store.count_by_status()

    def tracked(self) -> dict[str, int]:
        """Sizes of the per-job records kept in memory (they must not grow with finished
        jobs): jobs the runner holds, jobs the poller watches, keys its scheduler times."""
        return {
            "runner_jobs": len(self.runner),
            "poller_watches": len(self.poller),
            "scheduler_keys": len(self.poller.scheduler),
        }

    def busy_jobs(self) -> set[int]:
        """Jobs with a submit or an upload in flight."""
        return self._ctx.busy_jobs()

    def runner_alive(self, stall: float = STALL_SECONDS) -> bool:
        """False when jobs wait at RunComfy and no look has happened for `stall` seconds (a
        stuck or dead scheduler); an idle runner is alive."""
        return len(self.poller) == 0 or self._ctx.heartbeat.age() < stall

    async def expected_at(self, job: Job) -> float | None:
        return await self._eta.expected_at(job)

    def queue_speed(self) -> float | None:
        """How fast RunComfy's queue moves, in places per second (None until it was seen to)."""
        return self.poller.queue_speed()

    def start(
        self, job: Job, sink: JobSink, *, after: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        self.runner.start(job, sink, after=after)

    async def run(self, job: Job, sink: JobSink) -> None:
        """Drive one job to a final state in the caller's task (the demo, tests)."""
        await self.runner.run_here(job, sink)

    async def resume_all(self, sink_for: Callable[[Job], JobSink]) -> int:
        """Run on the jobs left open at start, then keep this process's leases and take over
        those of processes that stop."""
        resumed = await self.runner.resume_all(sink_for)
        self.leases.start(sink_for)
        return resumed

    async def wait_idle(self) -> None:
        await self.runner.wait_idle()

    async def shutdown(self, grace: float = 10.0) -> None:
        self.leases.claiming = False
        await self.runner.shutdown(grace)
        # A submit or an upload that outlived the grace goes on (shielded) while the process
        # closes: it keeps its lease, renewed until it ends; the others go to another process
        # at once (with PostgreSQL; the sqlite file's next start takes every job anyway).
        steps = list(self._ctx.inflight)
        try:
            await self._store.release(keep=self._ctx.busy_jobs())
        except Exception:
            log.exception("could not release the job leases; they run out on their own")
        if steps:
            self.leases.stop_after(steps)
        else:
            await self.leases.stop()
