"""The pollers alone, in virtual time: how many looks each makes and how late it sees ends.

No processes, no network, no CPU noise: the real `Poller` and its scheduler run on a fake
clock against a simulated FIFO provider shaped like the sandbox (a job may start `queue`
seconds after it is sent, at most `slots` generate at once, each for `run` seconds), with the
bench's arrival pattern (a burst, then a steady rate). It isolates the polling decisions from
the host's speed, which `bench/jobs.py` (the whole bot through the fake Discord) cannot.

    python bench/polling.py            # both loads, both pollers
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import dataclasses
import heapq
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.domain import Job, JobStatus
from bot.core.jobs.context import JobContext, Watch
from bot.core.jobs.poller import Poller
from bot.core.jobs.schedule import Tuning
from bot.core.jobs.timers import RateGate
from bot.core.provider import JobResult, JobState

LOADS = {"default": (5.0, 20.0), "short": (2.5, 2.5)}  # sandbox queue and run seconds


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


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
    """The poller's lifecycle, reduced to asking the provider."""

    job_timeout = 1e9

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.count: Counter[int] = Counter()

    async def look(self, watch: Watch) -> Job | None:
        self.count[watch.job.id] += 1
        watch.answer = self.provider.answer(watch.job.id)
        await asyncio.sleep(0)
        if watch.answer.state is JobState.COMPLETED:
            return dataclasses.replace(watch.job, status=JobStatus.DELIVERING)
        return None

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
    looks = Looks(provider)
    ctx = JobContext(store=None, provider=None, clock=clock, gate=RateGate(0, clock=clock))  # type: ignore[arg-type]
    poller = Poller(
        ctx, looks, NoHistory(), tuning=Tuning(), fixed_interval=fixed,  # type: ignore[arg-type]
        clock=clock, autostart=False,
    )  # fmt: skip
    ended: dict[int, float] = {}
    on_end: Callable[[Job], object] = lambda j: ended.setdefault(j.id, clock.now)  # noqa: E731
    sched, sent = poller.scheduler, 0

    def crashed(watch: Watch, exc: BaseException) -> None:
        raise SystemExit(f"job {watch.job.id} crashed: {exc!r}")

    while len(ended) < args.jobs:
        while sent < args.jobs and sends[sent] <= clock.now:
            sent += 1
            poller.watch(job(sent, clock.now), None, on_end=on_end, on_crash=crashed)  # type: ignore[arg-type]
        sched.run_due()
        await sched.settle()
        following = sched.run_due()
        if sched.in_flight or len(ended) == args.jobs:
            continue
        nexts = [t for t in (following, sends[sent] if sent < args.jobs else None) if t is not None]
        if not nexts:
            raise SystemExit(f"stuck at {clock.now:.1f} s: {len(ended)} of {sent} ended")
        clock.now = max(clock.now, min(nexts))
    lags = sorted(ended[j] - provider.finished[j - 1] for j in ended)
    life = sum(provider.finished) / args.jobs - sum(sends) / args.jobs
    return {
        "looks per job": sum(looks.count.values()) / args.jobs,
        "requests per job": sum(looks.count.values()) / args.jobs + 2,  # + submit, download
        "end seen p50 (s)": lags[len(lags) // 2],
        "end seen p99 (s)": lags[min(len(lags) - 1, int(len(lags) * 0.99))],
        "end seen max (s)": lags[-1],
        "mean life (s)": life,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--jobs", type=int, default=1000)
    p.add_argument("--burst", type=int, default=200)
    p.add_argument("--rate", type=float, default=50.0)
    p.add_argument("--concurrency", type=int, default=100)
    p.add_argument("--poll", type=float, default=3.0, help="the fixed poller's interval")
    args = p.parse_args(argv)
    for load in LOADS:
        queue, run = LOADS[load]
        print(f"# {load} load: {args.jobs} jobs ({args.burst} at once, then {args.rate:g}/s), ")
        print(f"#   queue {queue:g} s + run {run:g} s, {args.concurrency} generating at once")
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
