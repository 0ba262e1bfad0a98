"""The bot's domain as plain values: jobs and their statuses, quota limits, a server's policy.

The core owns these; `db/` builds them from rows and the cogs and cards read them. Nothing
here imports discord, aiohttp or the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    ACCEPTED = "accepted"  # credits reserved, row written, not sent yet
    SUBMITTING = "submitting"  # the paid submit is on the wire
    QUEUED = "queued"
    RUNNING = "running"
    DELIVERING = "delivering"  # RunComfy finished; downloading and posting
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset(
    {
        JobStatus.ACCEPTED,
        JobStatus.SUBMITTING,
        JobStatus.QUEUED,
        JobStatus.RUNNING,
        JobStatus.DELIVERING,
    }
)
# Not yet generating: RunComfy can still drop it, so nobody pays for it.
CANCELLABLE_STATUSES = frozenset({JobStatus.ACCEPTED, JobStatus.QUEUED})
WAITING_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})  # polled at RunComfy


def sql_list(statuses: frozenset[JobStatus] | tuple[JobStatus, ...]) -> str:
    """`('a', 'b')` for an SQL `IN`, in a stable order; built from the enum, never retyped."""
    return "(" + ", ".join(f"'{s.value}'" for s in sorted(statuses)) + ")"


@dataclass(frozen=True)
class Job:
    id: int
    guild_id: int
    channel_id: int
    user_id: int
    model_path: str
    params: dict[str, Any]
    cost: int
    period: str
    upload_limit: int
    status: JobStatus
    queue_position: int | None
    request_id: str | None
    card_message_id: int | None
    result_message_id: int | None
    video_url: str | None
    error: str | None
    cancelled_by: int | None
    created_at: float
    submitted_at: float | None
    started_at: float | None
    finished_at: float | None
    delivered_at: float | None
    updated_at: float
    fingerprint: str | None = None  # the model and options asked for (the duplicate guard)
    seed_by_bot: bool = False  # the seed was picked by Again, not by the member
    prompt: str = ""  # the prompt, whatever the model's field for it is called
    lease_owner: str | None = None  # the process running it (issue 13's leases)
    lease_until: float | None = None  # when another process may take it over

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class NewJob:
    guild_id: int
    channel_id: int
    user_id: int
    model_path: str
    params: dict[str, Any]
    cost: int
    period: str
    upload_limit: int
    fingerprint: str | None = None
    seed_by_bot: bool = False
    prompt: str = ""
    duplicate_since: float | None = None
    """Refuse it when the same member's same request was accepted after this time, or is
    still waiting to start (a double click); None skips the check."""
    again_of: int | None = None
    """The job an Again / Make another press repeats on purpose: not a duplicate of it."""
    contest_id: int | None = None
    """The contest (row id) to enter the video in once delivered (`/video contest:<n>`)."""


@dataclass(frozen=True)
class Duplicate:
    """The request repeats one of the member's jobs that has only just been accepted."""

    job: Job


@dataclass(frozen=True)
class Limits:
    credits: int  # the member's allowance for the period
    max_active: int  # open jobs at once, per member
    guild_budget: int | None = None  # credits for the whole server per period


@dataclass(frozen=True)
class Refusal:
    """Why a job was not accepted: 'active', 'credits' or 'budget', with the figures to explain;
    for `/video contest:<n>` also 'contest_limit' (used: live entries, active: videos being made
    for it) or 'contest_closed'."""

    reason: str
    used: int
    active: int
    granted: int = 0
    guild_used: int = 0
    contest_number: int | None = None  # "Contest #N", for the contest refusals
    entry_limit: int = 0


@dataclass(frozen=True)
class GuildPolicy:
    """A server's overrides; None means the bot-wide default applies."""

    credits_per_day: int | None = None
    max_active_jobs: int | None = None
    daily_budget: int | None = None
    moderator_role_id: int | None = None
    log_channel_id: int | None = None


POLICY_FIELDS = tuple(GuildPolicy.__dataclass_fields__)


@dataclass(frozen=True)
class GuildRules:
    """Everything /video checks before accepting, read together and cached per server."""

    policy: GuildPolicy
    role_allowances: dict[int, int]
    blocked_terms: tuple[str, ...]
    banned: frozenset[int]
    models_off: frozenset[str] = frozenset()  # keys of the models turned off here


@dataclass(frozen=True)
class Usage:
    used: int
    granted: int
    active: int


@dataclass(frozen=True)
class ModerationEntry:
    job_id: int | None
    actor_id: int
    action: str
    reason: str | None
    created_at: float
