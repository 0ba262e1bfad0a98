"""The video provider as the core sees it: its answers as plain values, and the Protocol the
RunComfy client implements. Its failures are the exception tree in `provider_errors`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class JobState(StrEnum):
    QUEUED = "in_queue"
    RUNNING = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Submission:
    request_id: str
    status_url: str
    result_url: str
    cancel_url: str


@dataclass(frozen=True)
class StatusReport:
    request_id: str
    state: JobState
    queue_position: int | None


@dataclass(frozen=True)
class JobResult:
    request_id: str
    state: JobState
    video_url: str | None
    error: str | None
    queue_position: int | None


@dataclass(frozen=True)
class CancelOutcome:
    request_id: str
    cancelled: bool
    state: JobState | None


class VideoProvider(Protocol):
    """RunComfy's model API as the job service uses it."""

    async def submit(self, model_path: str, payload: Mapping[str, object]) -> Submission: ...
    async def result(self, request_id: str) -> JobResult: ...
    async def cancel(self, request_id: str) -> CancelOutcome: ...
    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int: ...
