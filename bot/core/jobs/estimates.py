"""What the poller learns about RunComfy from all of its looks: how fast the queue drains, and
how long a kind of job generates. Plain arithmetic on one monotonic clock; kept in memory (a
restart learns again, with the stored history as a hint meanwhile)."""

from __future__ import annotations

import math
import statistics
from collections import deque

from bot.core.domain import Job

Kind = tuple[str, ...]
MOVED = 0.5  # positions gained (decayed) below which the queue counts as never seen moving


def kinds(job: Job) -> tuple[Kind, Kind]:
    """The job's kind for run times (model and options), and the coarser one it falls back on."""
    coarse = (job.model_path, str(job.params.get("resolution")))
    return (*coarse, str(job.params.get("duration"))), coarse


class DrainRate:
    """Queue positions RunComfy moves per second: the positions every job's looks saw it gain
    (a start counts as passing position 0), over the seconds those looks covered, both sums
    decaying with `half_life`, on top of a prior worth `prior_seconds` of looking."""

    def __init__(
        self, *, prior: float = 0.5, prior_seconds: float = 10.0, half_life: float = 120.0
    ) -> None:
        self.prior = prior
        self.prior_seconds = prior_seconds
        self.half_life = half_life
        self._positions = 0.0
        self._seconds = 0.0
        self._at: float | None = None

    def observe(self, positions: float, seconds: float, now: float) -> None:
        if seconds <= 0 or positions < 0:
            return
        keep = self._decay(now)
        self._positions = self._positions * keep + positions
        self._seconds = self._seconds * keep + seconds
        self._at = now

    def rate(self, now: float) -> float | None:
        """Positions per second; None until the queue has been seen to move at all (a queue
        that never moved says nothing about when it will)."""
        keep = self._decay(now)
        if self._positions * keep < MOVED:
            return None
        weight = self.prior_seconds
        return (self._positions * keep + self.prior * weight) / (self._seconds * keep + weight)

    def _decay(self, now: float) -> float:
        if self._at is None or now <= self._at:
            return 1.0
        return math.pow(0.5, (now - self._at) / self.half_life)


class RunTimes:
    """Seconds from start to finish of recent jobs of a kind, as this bot's looks saw them.

    Each sample comes with how closely the looks pinned it down; the estimate uses the closer
    ones (a start seen 20 s late says little about how long the job ran)."""

    def __init__(self, keep: int = 200) -> None:
        self._keep = keep
        self._samples: dict[Kind, deque[tuple[float, float]]] = {}

    def observe(self, job: Job, seconds: float, spread: float = 0.0) -> None:
        if not seconds > 0:
            return
        for kind in kinds(job):
            samples = self._samples.setdefault(kind, deque(maxlen=self._keep))
            samples.append((seconds, max(spread, 0.0)))

    def estimate(self, job: Job) -> tuple[float, float] | None:
        """The typical run time and its spread (a robust standard deviation, at least the
        samples' own uncertainty); None without history. The coarser kind counts with twice
        the spread."""
        exact, coarse = kinds(job)
        if found := _typical(self._samples.get(exact)):
            return found
        if found := _typical(self._samples.get(coarse)):
            return found[0], 2 * found[1]
        return None


def _typical(samples: deque[tuple[float, float]] | None) -> tuple[float, float] | None:
    """Each sample says the run took `seconds` give or take `spread`. The estimate is the
    median of the most closely pinned samples; while every sample agrees with every other
    (their ranges overlap: run times barely vary), it stays inside the overlap, and the
    overlap's width bounds the spread."""
    if not samples:
        return None
    best = min(spread for _, spread in samples)
    close = [(s, e) for s, e in samples if e <= max(2 * best, best + 0.5)]
    values = [s for s, _ in close]
    middle = statistics.median(values)
    own = statistics.median(e for _, e in close) / 2  # an even spread's deviation, roughly
    if len(values) == 1:
        spread = max(0.1 * middle, own, 0.2)
    else:
        mad = statistics.median(abs(s - middle) for s in values)
        floor = 0.05 * middle if len(values) < 5 else 0.02 * middle
        spread = max(1.4826 * mad, floor, own, 0.1)
    low = max(s - e for s, e in samples)
    high = min(s + e for s, e in samples)
    if low <= high:
        return min(max(middle, low), high), max(min(spread, (high - low) / 4), 0.05)
    return middle, spread
