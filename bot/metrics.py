"""The bot's Telemetry: Prometheus metrics (prometheus-client) and the last hour's figures.

Counters move as things happen (job state changes from the core's StateLog, every RunComfy HTTP
attempt from the client's `_request` chokepoint, deliveries from the Discord sink, Discord 429s
from an aiohttp trace on discord.py's own session); gauges that describe the present (jobs by
state in the database, the gateway, the runner, open tasks, discord.py's cached views) are set
just before each scrape by `bot.health`. /botstatus reads the same object: RunComfy latency and
error rate over the last hour come from `HourWindow`, which keeps a bounded sample per minute.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import aiohttp
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
)

from bot import __version__
from bot.core.domain import Job, JobStatus
from bot.core.telemetry import DELIVERY_PATHS

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
POLL_ROUTES = frozenset({"status", "result"})  # a look at a waiting job
MINUTE = 60.0
SAMPLES_PER_MINUTE = 200  # latencies kept per minute for the hour's percentiles
CLOSED = {JobStatus.FAILED: "refunded", JobStatus.CANCELLED: "refunded"}


@dataclass
class _Minute:
    start: float
    count: int = 0
    errors: int = 0
    samples: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class HourFigures:
    count: int
    errors: int
    p50: float | None  # seconds
    p95: float | None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.count if self.count else None


class HourWindow:
    """Events of the last hour in one-minute buckets: counts, errors and a bounded sample of
    latencies (reservoir sampling), so memory stays the same however busy the bot is."""

    def __init__(self, clock: Callable[[], float] = time.time, span: float = 3600.0) -> None:
        self._clock = clock
        self._span = span
        self._minutes: list[_Minute] = []
        self._rng = random.Random(0)

    def add(self, ok: bool, seconds: float | None = None) -> None:
        now = self._clock()
        start = now - now % MINUTE
        if not self._minutes or self._minutes[-1].start != start:
            self._minutes.append(_Minute(start))
            self._prune(now)
        minute = self._minutes[-1]
        minute.count += 1
        minute.errors += not ok
        if seconds is not None:
            if len(minute.samples) < SAMPLES_PER_MINUTE:
                minute.samples.append(seconds)
            elif (slot := self._rng.randrange(minute.count)) < SAMPLES_PER_MINUTE:
                minute.samples[slot] = seconds

    def figures(self) -> HourFigures:
        self._prune(self._clock())
        samples = sorted(s for m in self._minutes for s in m.samples)
        return HourFigures(
            count=sum(m.count for m in self._minutes),
            errors=sum(m.errors for m in self._minutes),
            p50=_percentile(samples, 50),
            p95=_percentile(samples, 95),
        )

    def _prune(self, now: float) -> None:
        while self._minutes and self._minutes[0].start + MINUTE <= now - self._span:
            self._minutes.pop(0)


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


class Metrics:
    """Implements `bot.core.telemetry.Telemetry`; one per process, its own registry."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.started_at = clock()
        self.version = __version__
        r = self.registry = CollectorRegistry()
        ProcessCollector(registry=r)  # RSS, CPU, open files: process_*
        Info("seedance_build", "The running version.", registry=r).info({"version": __version__})
        self.transitions = Counter(
            "seedance_job_transitions", "Job state changes, by new state.", ["state"], registry=r
        )
        self.jobs = Gauge("seedance_jobs", "Jobs in the database by state.", ["state"], registry=r)
        self.provider = Histogram(
            "seedance_provider_request_seconds",
            "RunComfy HTTP requests (each attempt), by route and outcome.",
            ["route", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.polls = Counter(
            "seedance_polls", "Status looks at RunComfy, by outcome.", ["outcome"], registry=r
        )
        self.discord_429s = Counter(
            "seedance_discord_429", "Discord answers with HTTP 429 (rate limited).", registry=r
        )
        self.deliveries = Counter(
            "seedance_deliveries", "Results delivered, by path.", ["path"], registry=r
        )
        self.credits = Counter(
            "seedance_credits", "Credits reserved, committed, refunded.", ["kind"], registry=r
        )
        self.gateway = Gauge("seedance_gateway_connected", "1 while connected.", registry=r)
        self.runner = Gauge("seedance_runner_alive", "1 while the job runner works.", registry=r)
        self.tasks = Gauge("seedance_asyncio_tasks", "Open asyncio tasks.", registry=r)
        self.tracked = Gauge(
            "seedance_tracked", "In-memory records, by kind (leak watch).", ["kind"], registry=r
        )
        for status in JobStatus:
            self.transitions.labels(status.value)
        for path in DELIVERY_PATHS:
            self.deliveries.labels(path)
        for kind in ("reserved", "committed", "refunded"):
            self.credits.labels(kind)
        self.provider_hour = HourWindow(clock)
        self.limits_hour = HourWindow(clock)

    # --- Telemetry -----------------------------------------------------------------------------

    def job_changed(self, job: Job, before: JobStatus | None) -> None:
        self.transitions.labels(job.status.value).inc()
        if before is None:
            self.credits.labels("reserved").inc(job.cost)
        elif job.status is JobStatus.DELIVERED:
            self.credits.labels("committed").inc(job.cost)
        elif job.status in CLOSED:
            self.credits.labels(CLOSED[job.status]).inc(job.cost)

    def provider_request(self, route: str, outcome: str, seconds: float) -> None:
        self.provider.labels(route, outcome).observe(seconds)
        if route in POLL_ROUTES:
            self.polls.labels(outcome).inc()
        if route != "download":  # a video's size, not RunComfy's speed, sets that one
            self.provider_hour.add(outcome == "ok", seconds)

    def delivered(self, path: str) -> None:
        self.deliveries.labels(path).inc()

    # --- Discord -------------------------------------------------------------------------------

    def discord_429(self) -> None:
        self.discord_429s.inc()
        self.limits_hour.add(False)

    def discord_trace(self) -> aiohttp.TraceConfig:
        """For discord.py's `http_trace`: every response it gets, retries included, so a 429
        that discord.py waits out and retries by itself is still counted."""
        trace = aiohttp.TraceConfig()

        async def ended(
            _: aiohttp.ClientSession, __: SimpleNamespace, params: aiohttp.TraceRequestEndParams
        ) -> None:
            if params.response.status == 429:
                self.discord_429()

        trace.on_request_end.append(ended)
        return trace

    def total(self, name: str, **labels: str) -> float:
        """A sample's value now, e.g. total("seedance_discord_429_total")."""
        return self.registry.get_sample_value(name, labels) or 0.0
