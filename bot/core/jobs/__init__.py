"""The life of a job, Discord-free: accept (reserve + row), submit, poll, download, deliver,
cancel. `JobService` is the entry point; a `JobSink` (the Discord card, or the demo's console)
is told about progress and asked to deliver, and never decides anything."""

from bot.core.jobs.cancel import CancelResult
from bot.core.jobs.context import JobSink, Undeliverable
from bot.core.jobs.messages import (
    CRASHED,
    LOST_SUBMIT,
    REMOVED_FROM_SERVER,
    UNANSWERED,
    UNDELIVERABLE,
    UNTRUSTED_VIDEO,
    VIDEO_GONE,
)
from bot.core.jobs.service import JobService

__all__ = [
    "CRASHED",
    "LOST_SUBMIT",
    "REMOVED_FROM_SERVER",
    "UNANSWERED",
    "UNDELIVERABLE",
    "UNTRUSTED_VIDEO",
    "VIDEO_GONE",
    "CancelResult",
    "JobService",
    "JobSink",
    "Undeliverable",
]
