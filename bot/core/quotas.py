"""What a job costs and how much room a member has: plain arithmetic over settings and policy.

Quota days reset at a fixed time (00:00 UTC) rather than over a rolling window: members can see
exactly when their credits come back, and the reset shows as a Discord timestamp.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.schema import VideoRequest
from db.jobs import Limits


@dataclass(frozen=True)
class QuotaPolicy:
    credits_per_day: int
    max_active_jobs: int
    resolution_weights: Mapping[str, int]
    guild_budget: int | None = None


class QuotaService:
    def __init__(self, policy: QuotaPolicy, clock: Callable[[], float] = time.time) -> None:
        self._policy = policy
        self._clock = clock

    @property
    def policy(self) -> QuotaPolicy:
        return self._policy

    def cost(self, request: VideoRequest) -> int:
        """Duration in seconds times the resolution's weight (close to per-pixel-second pricing)."""
        return request.duration * self._policy.resolution_weights[request.resolution]

    def costs(self, duration: int) -> dict[str, int]:
        return {res: duration * w for res, w in self._policy.resolution_weights.items()}

    def period(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).strftime("%Y-%m-%d")

    def reset_at(self) -> int:
        """Epoch seconds of the next reset (the start of the next UTC day)."""
        today = datetime.fromtimestamp(self._clock(), UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        return int((today + timedelta(days=1)).timestamp())

    async def limits_for(self, guild_id: int, user_id: int) -> Limits:
        p = self._policy
        return Limits(p.credits_per_day, p.max_active_jobs, p.guild_budget)
