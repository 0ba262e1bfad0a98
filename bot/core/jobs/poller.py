"""Watching every waiting job through one scheduler: each look is planned from what the bot has
seen of that job and learned from all of them (how fast RunComfy's queue drains, how long a kind
of job generates), or on the fixed poller's steady cadence.

What one look sees can move other jobs' looks earlier: a job that starts means the jobs ahead of
it in the same queue have started too; a job that finishes means the jobs of its kind that
started no later are probably done as well.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from bot.core.domain import Job
from bot.core.jobs.context import JobContext, JobSink, Watch
from bot.core.jobs.estimates import DrainRate, Kind, RunTimes, kinds
from bot.core.jobs.eta import Eta
from bot.core.jobs.lifecycle import Lifecycle
from bot.core.jobs.queueline import QueueLine
from bot.core.jobs.schedule import (
    Outlook,
    Sight,
    Stage,
    Tuning,
    end_window,
    fixed_due,
    next_delay,
)
from bot.core.jobs.timers import ENDING, FIRST, PLANNED, SOON, URGENT, Scheduler
from bot.core.provider import JobState

log = logging.getLogger(__name__)

LOOKS_IN_FLIGHT = 100  # looks waiting on RunComfy at once, at most
GOLDEN = 0.6180339887  # job id x this, mod 1: turns spread evenly whatever the ids

EndFn = Callable[[Job], None]
CrashFn = Callable[[Watch, Exception], float | None]


class Poller:
    def __init__(
        self,
        ctx: JobContext,
        lifecycle: Lifecycle,
        eta: Eta,
        *,
        tuning: Tuning,
        fixed_interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_in_flight: int = LOOKS_IN_FLIGHT,
        autostart: bool = True,
    ) -> None:
        self._ctx = ctx
        self._lifecycle = lifecycle
        self._eta = eta
        self.tuning = tuning
        self.fixed_interval = fixed_interval  # None: adaptive
        self._clock = clock
        ceiling = max(tuning.ceiling, fixed_interval or 0.0)
        self.scheduler = Scheduler(
            self._look,
            gate=ctx.gate,
            floor=tuning.floor,
            ceiling=ceiling,
            clock=clock,
            max_in_flight=max_in_flight,
            autostart=autostart,
        )
        self.drain = DrainRate()
        self.runs = RunTimes()
        self._watches: dict[int, Watch] = {}
        self._lines: dict[str, QueueLine] = {}  # model path -> its queue, as the looks saw it
        self._running: dict[Kind, dict[int, float]] = {}  # kind -> generating jobs: first seen
        self._waiters: set[asyncio.Future[Job]] = set()

    def __len__(self) -> int:
        return len(self._watches)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._watches

    def watch(self, job: Job, sink: JobSink, *, on_end: EndFn, on_crash: CrashFn) -> None:
        """Look at a queued or running job until it leaves those states; then `on_end(job)`.

        A look that crashes asks `on_crash` how long to wait before the next (None: stop)."""
        assert job.request_id is not None
        if self.scheduler.stopped or job.id in self._watches:
            return
        now, wall = self._clock(), self._ctx.clock()
        sent = job.submitted_at or job.created_at
        # Just submitted: nothing to see for a while. Resumed after a restart: look at once.
        just_sent = job.submitted_at is not None and wall - job.submitted_at < 1.0
        before = now - max(wall - sent, 0.0) if just_sent else None
        watch = Watch(
            job=job,
            sink=sink,
            request_id=job.request_id,
            deadline=sent + self._lifecycle.job_timeout,
            sight=Sight(Stage.NEW, since=now, before=before),
            on_end=on_end,
            on_crash=on_crash,
        )
        first = self.fixed_interval if self.fixed_interval is not None else self.tuning.first_look
        watch.due = now + first if just_sent else now
        self._watches[job.id] = watch
        self.scheduler.add(job.id, watch.due, FIRST if just_sent else PLANNED)

    async def until_done(self, job: Job, sink: JobSink) -> Job:
        """Watch a job for a caller that waits (the demo, tests): the job once it has left the
        waiting states; a crashed look raises here."""
        done: asyncio.Future[Job] = asyncio.get_running_loop().create_future()
        self._waiters.add(done)

        def crashed(_: Watch, exc: Exception) -> None:
            if not done.done():
                done.set_exception(exc)

        def ended(job: Job) -> None:
            if not done.done():
                done.set_result(job)

        if job.id in self._watches:
            raise RuntimeError(f"job {job.id} is watched already")
        self.watch(job, sink, on_end=ended, on_crash=crashed)
        if job.id not in self._watches:
            done.cancel()  # stopping: the row says where the job is
        try:
            return await done
        finally:
            self._waiters.discard(done)

    def queue_speed(self) -> float | None:
        """Places per second RunComfy's queue moves, learned across all jobs; None: not yet."""
        return self.drain.rate(self._clock())

    def unwatch(self, job_id: int) -> None:
        """Stop looking at a job (another process took it over); its timer finds no watch."""
        self._forget(job_id)

    def wake(self, job_id: int) -> None:
        self.scheduler.wake(job_id)

    async def stop(self) -> None:
        await self.scheduler.stop()
        for waiter in list(self._waiters):
            waiter.cancel()
        self._watches.clear()
        self._lines.clear()
        self._running.clear()

    # --- one look --------------------------------------------------------------------------

    async def _look(self, job_id: int, woken: bool) -> float | tuple[float, int] | None:
        watch = self._watches.get(job_id)
        if watch is None:
            return None
        try:
            if woken:
                outcome = await self._lifecycle.check(watch)
                if outcome is None:
                    return watch.due  # nothing new: the planned look stands
            else:
                at = self._clock()
                outcome = await self._lifecycle.look(watch)
                self._learn(watch, at, self._clock())
                if outcome is None:
                    watch.due = await self._plan(watch)
                    return watch.due, self._rank(watch)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            delay = watch.on_crash(watch, exc)
            if delay is None:
                self._forget(job_id)
                return None
            watch.due = self._clock() + delay
            return watch.due
        self._forget(job_id)
        watch.on_end(outcome)
        return None

    def _forget(self, job_id: int) -> None:
        watch = self._watches.pop(job_id, None)
        if watch is not None:
            self._index(watch, None)

    async def _plan(self, watch: Watch) -> float:
        now = self._clock()
        if self.fixed_interval is not None:
            return fixed_due(watch.due, now, self.fixed_interval)
        hint = None
        run = self.runs.estimate(watch.job) if watch.sight.stage is Stage.RUNNING else None
        if watch.sight.stage is Stage.RUNNING and run is None:
            expected = await self._eta.expected_at(watch.job)
            hint = None if expected is None else now + expected - self._ctx.clock()
        delay = self._delay(watch, now, run, hint)
        if watch.failures:
            # No answer (RunComfy down, or limiting us): back off this job a little too.
            delay = max(delay, min(self.tuning.floor * 2**watch.failures, self.tuning.ceiling))
        return now + delay

    def _rank(self, watch: Watch) -> int:
        """ENDING for a look inside the job's predicted end window (it may find it done), SOON
        for any other look at a generating job, PLANNED for a queued one: under the rate cap
        the queue waits first. Measured in virtual time (bench/polling.py --max-rps 50), ends
        seen p99 13 s when every look at a generating job but those inside the window was
        PLANNED; 6 s when those with no prediction yet went with ENDING (the next jobs' starts
        then went unseen); 2.2 s like this."""
        if watch.sight.stage is not Stage.RUNNING or self.fixed_interval is not None:
            return PLANNED
        window = end_window(watch.sight, self.runs.estimate(watch.job), self.tuning)
        return ENDING if window is not None and window[0] <= watch.due <= window[1] else SOON

    def _delay(
        self, watch: Watch, now: float, run: tuple[float, float] | None, hint: float | None
    ) -> float:
        line = self._lines.get(watch.job.model_path)
        ahead, behind = line.around(watch.job.id) if line is not None else (0, 0)
        peers = self._peers(watch) if watch.sight.stage is Stage.RUNNING else 0
        phase = (watch.job.id * GOLDEN) % 1.0  # spreads the turns of jobs ending together
        outlook = Outlook(self.drain.rate(now), run, hint, behind, ahead, peers, phase)
        deadline_in = watch.deadline - self._ctx.clock()
        return next_delay(watch.sight, outlook, now, self.tuning, deadline_in=deadline_in)

    # --- learning --------------------------------------------------------------------------

    def _learn(self, watch: Watch, at: float, back: float) -> None:
        """Update the job's sight and the shared estimates from the answer the look got: it
        went out at `at` and came back at `back`, and RunComfy answered at some moment in
        between. A new stage began before `back` (not `at`: a slow answer may tell of a start
        after the request left); the old one still held at `at`."""
        answer, sight = watch.answer, watch.sight
        if answer is None:
            watch.failures += 1
            return
        watch.failures = 0
        state, position = answer.state, answer.queue_position
        previous = watch.last_at if watch.last_at is not None else sight.before
        watch.last_at = at
        line = self._lines.setdefault(watch.job.model_path, QueueLine())
        if sight.stage is Stage.QUEUED and sight.position is not None and previous is not None:
            if state is JobState.QUEUED and position is not None:
                gained = max(sight.position - position, 0)
            elif state in (JobState.RUNNING, JobState.COMPLETED):
                gained = sight.position + 1  # it passed the head of the queue
            else:
                gained = -1  # failed or cancelled: says nothing about the queue
            if gained >= 0:
                self.drain.observe(gained, at - previous, at)
                line.moved(previous, at, gained)
        if state is JobState.QUEUED:
            if sight.stage is not Stage.QUEUED:
                self._see(watch, Sight(Stage.QUEUED, at, previous, position, at))
            elif position != sight.position:
                self._see(watch, replace(sight, position=position, position_since=at))
            if position is not None:
                line.place(watch.job.id, position, at)
        else:
            line.drop(watch.job.id)
        if state is JobState.RUNNING and sight.stage is not Stage.RUNNING:
            self._see(watch, Sight(Stage.RUNNING, back, previous))
        elif state is JobState.COMPLETED and sight.stage is Stage.RUNNING:
            window = sight.start_window
            if window is not None and previous is not None:
                started, finished = sum(window) / 2, (previous + back) / 2
                spread = (window[1] - window[0] + back - previous) / 2
                self._finished(watch, finished - started, spread)
        self._look_at_the_left(line)

    def _see(self, watch: Watch, sight: Sight) -> None:
        watch.sight = sight
        self._index(watch, sight)

    def _index(self, watch: Watch, sight: Sight | None) -> None:
        job = watch.job
        if sight is None or sight.stage is not Stage.QUEUED:
            line = self._lines.get(job.model_path)
            if line is not None:
                line.drop(job.id)
        kind = kinds(job)[0]
        running = self._running.setdefault(kind, {})
        if sight is not None and sight.stage is Stage.RUNNING:
            running[job.id] = sight.since
        else:
            running.pop(job.id, None)

    def _peers(self, watch: Watch) -> int:
        """Other jobs of its kind first seen generating within a floor of this one."""
        since, near = watch.sight.since, self.tuning.floor
        running = self._running.get(kinds(watch.job)[0], {})
        return sum(1 for other in running.values() if abs(other - since) <= near) - 1

    def _look_at_the_left(self, line: QueueLine) -> None:
        """Jobs the queue's departures have passed have left it (first in, first out): look at
        them now. (Their start is not pinned from the departures: the count is a lower
        bound, so a pin could place a start later than it was, and the job would then wait
        past its real end; measured on the bench's default load, delivery p99 13 s pinned
        against 5.5 s not, at the same requests.)"""
        now = self._clock()
        for job_id, _ in line.left():
            if job_id in self._watches:
                self.scheduler.pull(job_id, now, SOON)

    def _finished(self, watch: Watch, seconds: float, spread: float) -> None:
        """A job finished after generating about `seconds` (give or take `spread`): learn it,
        look at once at the jobs of its kind now inside their own end window (those that
        started with it), and re-plan the others with what was learned."""
        self.runs.observe(watch.job, seconds, spread)
        run = self.runs.estimate(watch.job)
        now = self._clock()
        for other_id in list(self._running.get(kinds(watch.job)[0], ())):
            other = self._watches.get(other_id)
            # One whose look is in flight is pulled too: that look may have left just before
            # its end (it then answers "generating"), and the next would wait for its turn.
            if other is None or other_id == watch.job.id or other_id not in self.scheduler:
                continue
            window = end_window(other.sight, run, self.tuning)
            if window is not None and window[0] <= now:
                self.scheduler.pull(other_id, now, URGENT)
            else:
                self.scheduler.pull(other_id, now + self._delay(other, now, run, None))
