"""One log line, and one telemetry event, per job state change.

Every state change of a job is a transition of its row, so the job store is where they are all
seen: `StateLog` wraps the store, lets each transition through unchanged and, when it moved the
row, logs one INFO line (job id, server, model, the change and its timings; never the prompt)
and tells the telemetry. A queue position changing inside one state is not a state change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from bot.core.domain import Duplicate, Job, JobStatus, Limits, NewJob, Refusal
from bot.core.ports import JobStore
from bot.core.telemetry import Telemetry

log = logging.getLogger("bot.jobs")
_IN_TEXT = ("job_id", "status", "from")  # already in the line's own words


def timings(job: Job, now: float) -> dict[str, float]:
    """Seconds spent in the phases the job has been through, as of its new state."""
    out: dict[str, float] = {}

    def span(name: str, start: float | None, end: float | None) -> None:
        if start is not None and end is not None:
            out[name] = round(max(end - start, 0.0), 3)

    status = job.status
    span("submit_s", job.created_at, job.submitted_at)
    if status is not JobStatus.QUEUED:
        span("queued_s", job.submitted_at, job.started_at)
    if job.finished_at is not None and job.submitted_at is not None:
        span("generating_s", job.started_at or job.submitted_at, job.finished_at)
    span("delivery_s", job.finished_at, job.delivered_at)
    end = job.delivered_at or (job.finished_at if not job.is_open else now)
    span("total_s", job.created_at, end)
    return out


class StateLog:
    """A JobStore that reports every state change it makes (see the module docstring)."""

    def __init__(
        self, store: JobStore, telemetry: Telemetry, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._telemetry = telemetry
        self._clock = clock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)  # reads (and anything else) go straight through

    async def get(self, job_id: int) -> Job | None:
        return await self._store.get(job_id)

    async def accept(self, new: NewJob, limits: Limits) -> Job | Refusal | Duplicate:
        outcome = await self._store.accept(new, limits)
        if isinstance(outcome, Job):
            self._changed(outcome, None)
        return outcome

    async def mark_submitting(self, job_id: int) -> bool:
        moved = await self._store.mark_submitting(job_id)
        return await self._after(moved, job_id, JobStatus.ACCEPTED)

    async def mark_submitted(self, job_id: int, request_id: str) -> bool:
        moved = await self._store.mark_submitted(job_id, request_id)
        return await self._after(moved, job_id, JobStatus.SUBMITTING)

    async def mark_progress(
        self, job_id: int, status: JobStatus, queue_position: int | None
    ) -> bool:
        before = await self._store.get(job_id)
        moved = await self._store.mark_progress(job_id, status, queue_position)
        if before is None or before.status is status:
            return moved  # the same state, maybe another place in line
        return await self._after(moved, job_id, before.status)

    async def mark_delivering(self, job_id: int, video_url: str) -> bool:
        moved = await self._store.mark_delivering(job_id, video_url)
        if not moved:
            return False
        job = await self._store.get(job_id)
        if job is not None:
            self._changed(job, JobStatus.RUNNING if job.started_at else JobStatus.QUEUED)
        return True

    async def mark_delivered(self, job_id: int, result_message_id: int | None) -> bool:
        moved = await self._store.mark_delivered(job_id, result_message_id)
        return await self._after(moved, job_id, JobStatus.DELIVERING)

    async def mark_failed(
        self, job_id: int, error: str, *, forget_video: bool = False
    ) -> Job | None:
        before = await self._store.get(job_id)
        closed = await self._store.mark_failed(job_id, error, forget_video=forget_video)
        if closed is not None:
            self._changed(closed, before.status if before else None)
        return closed

    async def mark_cancelled(
        self,
        job_id: int,
        actor_id: int,
        from_statuses: frozenset[JobStatus],
        reason: str | None = None,
    ) -> Job | None:
        before = await self._store.get(job_id)
        closed = await self._store.mark_cancelled(job_id, actor_id, from_statuses, reason)
        if closed is not None:
            self._changed(closed, before.status if before else None)
        return closed

    async def _after(self, moved: bool, job_id: int, before: JobStatus) -> bool:
        if moved:
            job = await self._store.get(job_id)
            if job is not None:
                self._changed(job, before)
        return moved

    def _changed(self, job: Job, before: JobStatus | None) -> None:
        spans = timings(job, self._clock())
        fields: dict[str, Any] = {
            "job_id": job.id,
            "guild_id": job.guild_id,
            "model": job.model_path,
            "status": job.status.value,
            "from": before.value if before else None,
            **spans,
        }
        if before is None:
            fields["cost"] = job.cost
        if job.request_id and job.status is JobStatus.QUEUED:
            fields["request_id"] = job.request_id
        shown = " ".join(
            f"{k}={v}" for k, v in fields.items() if k not in _IN_TEXT and v is not None
        )
        change = f"{before.value} -> {job.status.value}" if before else job.status.value
        log.info("job %d %s: %s", job.id, change, shown, extra={"fields": fields})
        try:
            self._telemetry.job_changed(job, before)
        except Exception:
            log.exception("job %d: telemetry failed", job.id)  # never stops the job
