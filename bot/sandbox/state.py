"""The sandbox's memory: its settings, its jobs, the queue that moves them, faults and outcomes.

Plain Python with no HTTP in it, so tests running the sandbox in-process can read and steer it
directly (`Sandbox.state`), and the control endpoints are thin wrappers around the same methods.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

log = logging.getLogger(__name__)

JobStatus = Literal["in_queue", "in_progress", "completed", "failed", "cancelled"]
STATUSES: tuple[str, ...] = get_args(JobStatus)
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
ROUTES: tuple[str, ...] = (
    "submit",
    "status",
    "result",
    "cancel",
    "video",
    "redirect",
    "control",
    "other",
)
FAULT_ROUTES = frozenset({"submit", "status", "result", "cancel", "video", "any"})
DEFAULT_ERROR = "Video generation failed (sandbox)."
AuthFailure = Literal["400004", "401"]
AUTH_FAILURES: tuple[str, ...] = get_args(AuthFailure)


@dataclass
class SandboxConfig:
    """How the sandbox behaves; mutable at run time (tests change it live)."""

    token: str | None = field(default=None, repr=False)
    """The bearer token required; None accepts any non-empty bearer token."""
    queue_seconds: float = 3.0
    """How long a job waits, in total since it was submitted, before it may start."""
    run_seconds: float = 4.0
    """How long generating takes once started."""
    concurrency: int = 2
    """Jobs generating at once; the rest wait in FIFO order."""
    video_bytes: int | None = None
    """Pad the served MP4 to this size with a `free` box (to test Discord's upload limits)."""
    paused: bool = False
    """While True no job changes state by itself; tests drive states with set_status."""
    auth_failure: AuthFailure = "400004"
    """How a wrong token is refused: HTTP 400 with code 400004 as RunComfy documents, or HTTP 401
    with code 401001, which RunComfy's own CLI also treats as a refused token."""
    video_base_url: str | None = None
    """Where result video URLs point instead of the address the request came to, e.g.
    `http://localhost:<port>` to give a client's download allow-list a host it must refuse."""


@dataclass
class Outcome:
    """How a job will end when its run time is over."""

    failed: bool = False
    error: str | dict[str, Any] | None = None
    status_says_completed: bool = False
    no_video: bool = False


@dataclass
class SandboxJob:
    """One submitted job. Times are wall-clock epoch seconds."""

    request_id: str
    payload: dict[str, Any]
    status: JobStatus
    owner: str = field(repr=False)
    """A SHA-256 fingerprint of the submitting bearer token (never the token itself)."""
    created_at: float
    outcome: Outcome
    started_at: float | None = None
    finished_at: float | None = None
    error: str | dict[str, Any] | None = None
    queued_mono: float = field(default=0.0, repr=False)
    started_mono: float = field(default=0.0, repr=False)

    @property
    def has_video(self) -> bool:
        return self.status == "completed" and not self.outcome.no_video

    @property
    def shown_status(self) -> str:
        """What /status says: a provider quirk can make it say completed for a failed job."""
        if self.status == "failed" and self.outcome.status_says_completed:
            return "completed"
        return self.status


@dataclass
class LoggedRequest:
    """One request as received; `status` is None until answered, and stays None if dropped."""

    route: str
    method: str
    path: str
    at: float
    request_id: str | None = None
    status: int | None = None


@dataclass
class Fault:
    """A misbehaviour for the next `times` requests to a route."""

    route: str
    status: int | None = None
    body: dict[str, Any] | None = None
    retry_after: float | None = None
    delay: float = 0.0
    drop: bool = False
    times: int = 1
    text: str | None = None
    """A raw answer sent instead of JSON, as from a proxy; with a 2xx status the request is
    processed first (a submit creates its job) and only its answer is replaced."""


def fingerprint(token: str) -> str:
    # surrogateescape: aiohttp decodes odd header bytes that way, and they must still hash.
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


class SandboxState:
    """Jobs, the FIFO queue, the request log, pending faults and planned outcomes."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.jobs: dict[str, SandboxJob] = {}
        self.log: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self.outcomes: list[Outcome] = []
        # Dicts as ordered sets: FIFO order with O(1) removal from the middle (cancel).
        self._queue: dict[str, None] = {}
        self._running: dict[str, None] = {}
        self._positions: dict[str, int] | None = None
        self._counts: Counter[str] = Counter()
        self._serial = 0

    # -- the log ---------------------------------------------------------------------------
    def record(self, entry: LoggedRequest) -> None:
        self.log.append(entry)
        self._counts[entry.route] += 1

    def count(self, route: str) -> int:
        """How many requests reached `route` ("submit", "status", ..., "other")."""
        return self._counts[route]

    # -- steering ---------------------------------------------------------------------------
    def add_fault(
        self,
        route: str,
        *,
        status: int | None = None,
        body: dict[str, Any] | None = None,
        retry_after: float | None = None,
        delay: float = 0.0,
        drop: bool = False,
        times: int = 1,
        text: str | None = None,
    ) -> None:
        """Make the next `times` requests to `route` (or "any") slow, fail, or go unanswered.

        `status` with `body` answers that JSON; with `text`, that raw text (not JSON) instead.
        """
        if route not in FAULT_ROUTES:
            raise ValueError(f"route must be one of {sorted(FAULT_ROUTES)}, not {route!r}")
        if status is not None and not 100 <= status <= 599:
            raise ValueError(f"status must be an HTTP status, not {status!r}")
        if drop and status is not None:
            raise ValueError("a fault either answers a status or drops the connection, not both")
        if times < 1 or delay < 0:
            raise ValueError("times must be at least 1 and delay not negative")
        if text is not None and (status is None or body is not None or not isinstance(text, str)):
            raise ValueError("a text answer is a string, needs a status, and replaces the body")
        self.faults.append(Fault(route, status, body, retry_after, delay, drop, times, text))

    def take_fault(self, route: str) -> Fault | None:
        """Consume one use of the first fault that applies to `route`."""
        for index, fault in enumerate(self.faults):
            if fault.route in (route, "any"):
                fault.times -= 1
                if fault.times <= 0:
                    del self.faults[index]
                return fault
        return None

    def next_outcome(
        self,
        *,
        failed: bool = False,
        error: str | dict[str, Any] | None = None,
        status_says_completed: bool = False,
        no_video: bool = False,
    ) -> None:
        """Plan how the next submitted job (after those already planned) will end."""
        self.outcomes.append(Outcome(failed, error, status_says_completed, no_video))

    def set_status(self, request_id: str, status: str) -> None:
        """Force a job into a state, paused or not. KeyError for an unknown id."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {list(STATUSES)}, not {status!r}")
        job = self.jobs[request_id]
        self._unlink(request_id)
        now = time.monotonic()
        if status == "in_queue":
            job.status, job.started_at, job.finished_at, job.error = "in_queue", None, None, None
            job.queued_mono = now
            self._queue[request_id] = None
            self._positions = None
        elif status == "in_progress":
            self._start(job, now)
        else:
            self._finish(job, cast(JobStatus, status))

    def reset(self) -> None:
        """Forget every job, log entry, fault and planned outcome (the config stays)."""
        self.jobs.clear()
        self.log.clear()
        self.faults.clear()
        self.outcomes.clear()
        self._queue.clear()
        self._running.clear()
        self._positions = None
        self._counts.clear()

    def owned_by(self, job: SandboxJob, token: str) -> bool:
        return job.owner == fingerprint(token)

    # -- the queue --------------------------------------------------------------------------
    def submit(self, payload: dict[str, Any], token: str) -> SandboxJob:
        self._serial += 1
        # Shaped like a UUID as the real ids are, sortable by submission; the random tail keeps
        # ids unique across sandbox restarts (a bot's database outlives the sandbox process).
        request_id = f"5a4db0c5-0000-4000-8000-{self._serial:06d}{uuid.uuid4().hex[:6]}"
        outcome = self.outcomes.pop(0) if self.outcomes else Outcome()
        job = SandboxJob(
            request_id=request_id,
            payload=payload,
            status="in_queue",
            owner=fingerprint(token),
            created_at=time.time(),
            outcome=outcome,
            queued_mono=time.monotonic(),
        )
        self.jobs[request_id] = job
        self._queue[request_id] = None
        self._positions = None
        log.info("sandbox job %s queued", request_id)
        return job

    def cancel(self, request_id: str) -> bool:
        """Cancel a job still in the queue; False (and nothing changes) otherwise."""
        job = self.jobs[request_id]
        if job.status != "in_queue":
            return False
        self._unlink(request_id)
        self._finish(job, "cancelled")
        return True

    def queue_position(self, request_id: str) -> int | None:
        """Jobs ahead of this one (0 = next to start), or None if it is not queued."""
        if self._positions is None:
            # Rebuilt at most once per change, so polling 1,000 queued jobs stays linear.
            self._positions = {rid: index for index, rid in enumerate(self._queue)}
        return self._positions.get(request_id)

    def advance(self) -> None:
        """Move jobs along: finish those whose run is over, start those whose wait is over."""
        if self.config.paused:
            return
        now = time.monotonic()
        for request_id in list(self._running):
            job = self.jobs[request_id]
            if now - job.started_mono >= self.config.run_seconds:
                self._unlink(request_id)
                self._finish(job, "failed" if self._fails(job) else "completed")
        while self._queue and len(self._running) < self.config.concurrency:
            job = self.jobs[next(iter(self._queue))]
            if now - job.queued_mono < self.config.queue_seconds:
                break  # FIFO: nobody overtakes the head of the queue
            self._unlink(job.request_id)
            self._start(job, now)

    @staticmethod
    def _fails(job: SandboxJob) -> bool:
        return job.outcome.failed or job.outcome.status_says_completed

    def _unlink(self, request_id: str) -> None:
        if request_id in self._queue:
            del self._queue[request_id]
            self._positions = None
        self._running.pop(request_id, None)

    def _start(self, job: SandboxJob, now: float) -> None:
        job.status, job.finished_at, job.error = "in_progress", None, None
        job.started_at, job.started_mono = time.time(), now
        self._running[job.request_id] = None
        log.info("sandbox job %s started", job.request_id)

    def _finish(self, job: SandboxJob, status: JobStatus) -> None:
        job.status, job.finished_at = status, time.time()
        job.error = (job.outcome.error or DEFAULT_ERROR) if status == "failed" else None
        log.info("sandbox job %s %s", job.request_id, status)
