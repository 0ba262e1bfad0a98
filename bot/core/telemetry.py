"""What the bot's parts report for health and metrics, as a port the core defines.

The core tells a `Telemetry` about every job state change; the RunComfy client about every HTTP
request it makes (route, outcome, seconds); the Discord side about deliveries and 429s.
`bot/metrics.py` implements it (Prometheus counters and the last hour's figures for
/botstatus); `NullTelemetry` is what the demo and tests get when they do not care.

`Heartbeat` is the runner's pulse: every look at a waiting job beats it, so a liveness check can
tell a stuck scheduler from an idle one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Protocol

from bot.core.domain import Job, JobStatus

# Where a result went: the file attached, a link (too large, or not downloadable), or a DM.
DELIVERY_PATHS = ("attachment", "link", "dm")


def outcome_of(error: BaseException | None) -> str:
    """A request's outcome as a metric label: "ok", or its error's kind ("rate_limited")."""
    if error is None:
        return "ok"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


class Telemetry(Protocol):
    def job_changed(self, job: Job, before: JobStatus | None) -> None:
        """`job` (its row right after the change) moved from `before` (None: just accepted)."""

    def provider_request(self, route: str, outcome: str, seconds: float) -> None:
        """One HTTP attempt at the provider: `route` is the operation (submit, status, result,
        cancel, download), `outcome` "ok" or the error's kind."""

    def delivered(self, path: str) -> None:
        """A result went out by one of DELIVERY_PATHS."""


class NullTelemetry:
    def job_changed(self, job: Job, before: JobStatus | None) -> None:
        return None

    def provider_request(self, route: str, outcome: str, seconds: float) -> None:
        return None

    def delivered(self, path: str) -> None:
        return None


class Heartbeat:
    """When the runner last showed it was working (monotonic seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.last = clock()

    def beat(self) -> None:
        self.last = self._clock()

    def age(self) -> float:
        return self._clock() - self.last
