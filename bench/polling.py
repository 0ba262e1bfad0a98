"""The pollers alone, in virtual time: how many looks each makes and how late it sees ends.

No processes, no network, no CPU noise: the real `Poller` and its scheduler run on a fake
clock against a simulated FIFO provider shaped like the sandbox (a job may start `queue`
seconds after it is sent, at most `slots` generate at once, each for `run` seconds), with the
bench's arrival pattern (a burst, then a steady rate). It isolates the polling decisions from
the host's speed, which `bench/jobs.py` (the whole bot through the fake Discord) cannot.

What the real run adds can be put back one part at a time, still in virtual time and the same
for every run (a seeded random): the rate cap (`--max-rps` and `--end-burst`, the adaptive
poller only, as in `bench/jobs.py`), each look's round trip (`--look-latency`, plus `--jitter`:
an exponential extra with that mean; RunComfy answers at a random moment inside it), and the
bot's own CPU, one core doing one thing at a time (`--look-cpu` for each answer, `--end-cpu`
for each delivery, so that a wave of ends holds the next answers back as on a busy event loop).
`--like-bench` sets all of them to what comes close to `bench/jobs.py` on a 2-core host.

"end seen" is when the look that found the end reached RunComfy (bench/jobs.py's "stage
change seen"), "end known" when its answer was dealt with.

    python bench/polling.py                        # both loads, both pollers
    python bench/polling.py --like-bench --latest 5
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import dataclasses
import heapq
import itertools
import random
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import DEFAULT_END_BURST, DEFAULT_MAX_RPS
from bot.core.domain import Job, JobStatus
from bot.core.jobs.context import JobContext, Watch
from bot.core.jobs.poller import Poller
from bot.core.jobs.schedule import Tuning
from bot.core.jobs.timers import RateGate
from bot.core.provider import JobResult, JobState

LOADS = {"default": (5.0, 20.0), "short": (2.5, 2.5)}  # sandbox queue and run seconds


class Clock:
    """Virtual time: `sleep` parks a coroutine until the simulation moves the clock past it."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self.sleeping = 0  # coroutines parked in `sleep`

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + seconds, next(self._seq), future))
        self.sleeping += 1
        await future

    def next_timer(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    def ring(self) -> None:
        """Wake every sleeper whose time has come."""
        while self._timers and self._timers[0][0] <= self.now:
            _, _, future = heapq.heappop(self._timers)
            self.sleeping -= 1
            future.set_result(None)


class Provider:
    """Sandbox-like answers: FIFO by send time, `slots` at once, `queue` s least wait."""

    def __init__(self, clock: Clock, sends: list[float], queue: float, run: float, slots: int):
        self.clock, self.sends = clock, sends
        free = [0.0] * slots
        self.started: list[float] = []
        for sent in sends:  # already in send order
            start = max(sent + queue, heapq.heappop(free))
            self.started.append(start)
            heapq.heappush(free, start + run)
        self.finished = [s + run for s in self.started]

    def answer(self, job_id: int) -> JobResult:
        i, now, rid = job_id - 1, self.clock.now, f"req-{job_id}"
        if now >= self.finished[i]:
            return JobResult(rid, JobState.COMPLETED, "https://v/x.mp4", None, None)
        if now >= self.started[i]:
            return JobResult(rid, JobState.RUNNING, None, None, None)
        # Ahead: sent before it and not started yet (starts are in send order, FIFO).
        first_waiting = bisect.bisect_right(self.started, now)
        return JobResult(rid, JobState.QUEUED, None, None, max(i - first_waiting, 0))


class Looks:
    """The poller's lifecycle, reduced to asking the provider (after the look's share of its
    round trip) and paying for the answer (in turn, on the one core)."""

    job_timeout = 1e9

    def __init__(self, provider: Provider, args: argparse.Namespace) -> None:
        self.provider, self.clock = provider, provider.clock
        self.latency, self.jitter, self.cpu = args.look_latency, args.jitter, args.look_cpu
        self.random = random.Random(args.seed)
        self.count: Counter[int] = Counter()
        self.answers: Counter[JobState] = Counter()
        self.times: list[float] = []  # when each look reached RunComfy
        self.at: dict[int, list[float]] = {}  # job -> when each of its looks reached RunComfy
        self.seen: dict[int, float] = {}  # job -> when RunComfy first answered "completed"
        self.started: dict[int, float] = {}  # ... and anything but "queued"
        self.end_cpu = args.end_cpu
        self.core_free = 0.0  # when the one core has done what it was given

    async def look(self, watch: Watch) -> Job | None:
        job_id = watch.job.id
        self.count[job_id] += 1
        trip = self.latency + (self.random.expovariate(1 / self.jitter) if self.jitter else 0.0)
        there = trip * self.random.random()
        await self.clock.sleep(there)
        watch.answer = self.provider.answer(job_id)
        self.answers[watch.answer.state] += 1
        self.times.append(self.clock.now)
        self.at.setdefault(job_id, []).append(self.clock.now)
        if watch.answer.state is not JobState.QUEUED:
            self.started.setdefault(job_id, self.clock.now)
        if watch.answer.state is JobState.COMPLETED:
            self.seen.setdefault(job_id, self.clock.now)
        await self.clock.sleep(trip - there)
        await self.clock.sleep(self.work(self.cpu))
        await asyncio.sleep(0)
        if watch.answer.state is JobState.COMPLETED:
            self.work(self.end_cpu)  # the delivery, which later answers wait behind
            return dataclasses.replace(watch.job, status=JobStatus.DELIVERING)
        return None

    def work(self, seconds: float) -> float:
        """Give the core `seconds` of work after what it has; how long until it is done."""
        if seconds > 0:
            self.core_free = max(self.core_free, self.clock.now) + seconds
        return max(self.core_free - self.clock.now, 0.0) if seconds > 0 else 0.0

    async def check(self, watch: Watch) -> Job | None:
        return None


class NoHistory:
    async def expected_at(self, job: Job) -> float | None:
        return None


def job(job_id: int, at: float) -> Job:
    values: dict[str, Any] = {f.name: None for f in dataclasses.fields(Job)}
    values.update(
        id=job_id, guild_id=1, channel_id=1, user_id=job_id, model_path="m", cost=5,
        params={"resolution": "480p", "duration": 5}, status=JobStatus.QUEUED,
        request_id=f"req-{job_id}", created_at=at, submitted_at=at, updated_at=at,
        period="2026-01-01", upload_limit=10**7, fingerprint=None, seed_by_bot=False, prompt="",
    )  # fmt: skip
    return Job(**values)


async def simulate(args: argparse.Namespace, load: str, fixed: float | None) -> dict[str, float]:
    queue, run = LOADS[load]
    clock = Clock()
    sends = [0.0 if n < args.burst else (n - args.burst + 1) / args.rate for n in range(args.jobs)]
    provider = Provider(clock, sends, queue, run, args.concurrency)
    looks = Looks(provider, args)
    rps = 0.0 if fixed is not None else args.max_rps  # as bench/jobs.py runs them
    gate = RateGate(rps, clock=clock, reserve=args.end_burst)
    ctx = JobContext(store=None, provider=None, clock=clock, gate=gate)  # type: ignore[arg-type]
    poller = Poller(
        ctx, looks, NoHistory(), tuning=Tuning(), fixed_interval=fixed,  # type: ignore[arg-type]
        clock=clock, autostart=False,
    )  # fmt: skip
    ended: dict[int, float] = {}
    on_end: Callable[[Job], object] = lambda j: ended.setdefault(j.id, clock.now)  # noqa: E731
    sched, sent = poller.scheduler, 0

    def crashed(watch: Watch, exc: BaseException) -> None:
        raise SystemExit(f"job {watch.job.id} crashed: {exc!r}")

    async def settle() -> float | None:
        """Start what is due and run every look until it waits on the clock; when the
        scheduler wants to go on."""
        while True:
            started = sched.looks
            following = sched.run_due()
            if sched.looks == started and clock.sleeping >= sched.in_flight:
                return following
            # Yield until every look in flight waits on the virtual clock (or is done): only
            # then may the clock move. No event says so; a look ends or parks in a few steps.
            while clock.sleeping < sched.in_flight:  # noqa: ASYNC110
                await asyncio.sleep(0)

    while len(ended) < args.jobs:
        while sent < args.jobs and sends[sent] <= clock.now:
            sent += 1
            poller.watch(job(sent, clock.now), None, on_end=on_end, on_crash=crashed)  # type: ignore[arg-type]
        following = await settle()
        if len(ended) == args.jobs:
            break
        arrival = sends[sent] if sent < args.jobs else None
        nexts = [t for t in (following, arrival, clock.next_timer()) if t is not None]
        if not nexts:
            raise SystemExit(f"stuck at {clock.now:.1f} s: {len(ended)} of {sent} ended")
        clock.now = max(clock.now, min(nexts))
        clock.ring()
    seen = sorted(looks.seen[j] - provider.finished[j - 1] for j in ended)
    known = sorted(ended[j] - provider.finished[j - 1] for j in ended)
    starts = sorted(looks.started[j] - provider.started[j - 1] for j in ended)
    life = sum(provider.finished) / args.jobs - sum(sends) / args.jobs
    if args.latest and fixed is None:
        print(f"## {load}, adaptive: the {args.latest} ends seen latest (looks after the start)")
        for j in sorted(ended, key=lambda j: looks.seen[j] - provider.finished[j - 1])[
            -args.latest :
        ]:
            start, end = provider.started[j - 1], provider.finished[j - 1]
            ats = " ".join(f"{t - start:.1f}" for t in looks.at[j])
            print(
                f"job {j}: seen {looks.seen[j] - end:.2f} s late; started {start:.1f}; looks: {ats}"
            )
    return {
        "looks per job": sum(looks.count.values()) / args.jobs,
        "requests per job": sum(looks.count.values()) / args.jobs + 2,  # + submit, download
        "end seen p50 (s)": percentile(seen, 50),
        "end seen p99 (s)": percentile(seen, 99),
        "end seen max (s)": seen[-1],
        "end known p99 (s)": percentile(known, 99),
        "start seen p99 (s)": percentile(starts, 99),
        "first look max (s)": max(looks.at[j][0] - sends[j - 1] for j in ended),
        "looks queued/job": looks.answers[JobState.QUEUED] / args.jobs,
        "looks running/job": looks.answers[JobState.RUNNING] / args.jobs,
        "busiest second": max(Counter(int(t) for t in looks.times).values()),
        "mean life (s)": life,
    }


def percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--jobs", type=int, default=1000)
    p.add_argument("--burst", type=int, default=200)
    p.add_argument("--rate", type=float, default=50.0)
    p.add_argument("--concurrency", type=int, default=100)
    p.add_argument("--poll", type=float, default=3.0, help="the fixed poller's interval")
    p.add_argument("--load", choices=[*LOADS, "both"], default="both")
    p.add_argument(
        "--max-rps", type=float, default=0.0,
        help=f"the adaptive poller's RUNCOMFY_MAX_RPS (0: none; product: {DEFAULT_MAX_RPS:g})",
    )  # fmt: skip
    p.add_argument(
        "--end-burst", type=int, default=DEFAULT_END_BURST,
        help=f"the adaptive poller's RUNCOMFY_END_BURST (product: {DEFAULT_END_BURST})",
    )  # fmt: skip
    p.add_argument("--look-latency", type=float, default=0.0, help="seconds of each round trip")
    p.add_argument("--jitter", type=float, default=0.0, help="mean extra seconds (exponential)")
    p.add_argument("--look-cpu", type=float, default=0.0, help="CPU seconds each answer costs")
    p.add_argument("--end-cpu", type=float, default=0.0, help="CPU seconds each delivery costs")
    p.add_argument(
        "--like-bench", action="store_true",
        help="--max-rps 50 --look-latency 0.05 --jitter 0.1 --look-cpu 0.002 --end-cpu 0.04",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--latest", type=int, default=0, help="print the N ends seen latest")
    args = p.parse_args(argv)
    if args.like_bench:
        args.max_rps, args.look_latency, args.jitter = DEFAULT_MAX_RPS, 0.05, 0.1
        args.look_cpu, args.end_cpu = 0.002, 0.04
    for load in LOADS if args.load == "both" else (args.load,):
        queue, run = LOADS[load]
        print(f"# {load} load: {args.jobs} jobs ({args.burst} at once, then {args.rate:g}/s),")
        print(f"#   queue {queue:g} s + run {run:g} s, {args.concurrency} generating at once;")
        print(
            f"#   adaptive cap {args.max_rps:g}/s, look {args.look_latency:g} s"
            f" + {args.jitter:g} s jitter, {args.look_cpu * 1000:g} ms CPU"
            f" a look, {args.end_cpu * 1000:g} ms a delivery"
        )
        fixed = asyncio.run(simulate(args, load, args.poll))
        adaptive = asyncio.run(simulate(args, load, None))
        print(f"{'figure':<20} {'fixed':>8} {'adaptive':>9} {'adaptive/fixed':>15}")
        for name, f in fixed.items():
            a = adaptive[name]
            print(f"{name:<20} {f:>8.2f} {a:>9.2f} {a / f if f else float('nan'):>15.2f}")
        print("")
    return 0


if __name__ == "__main__":
    sys.exit(main())
