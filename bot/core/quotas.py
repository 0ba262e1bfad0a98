"""What a job costs and how much room a member has: the bot-wide defaults from settings, a
server's own policy on top (per-role allowances, bans, grants, a daily budget, blocked terms).

Quota days reset at a fixed time (00:00 UTC) rather than over a rolling window: members can see
exactly when their credits come back, and the reset shows as a Discord timestamp.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.errors import QuotaRefused
from bot.core.schema import VideoRequest
from bot.core.text import match_key
from db.jobs import Limits
from db.policy import PolicyRepo

BLOCKED = (
    "Your prompt contains a word or phrase this server does not allow. "
    "Rephrase it and try again. Nothing was charged."
)
BANNED = "A moderator has turned off video making for you in this server. Nothing was charged."


@dataclass(frozen=True)
class QuotaPolicy:
    """The bot-wide defaults (from settings)."""

    credits_per_day: int
    max_active_jobs: int
    resolution_weights: Mapping[str, int]


@dataclass(frozen=True)
class QuotaSummary:
    allowance: int
    granted: int
    used: int
    active: int
    max_active: int
    reset_at: int
    daily_budget: int | None
    banned: bool = False

    @property
    def remaining(self) -> int:
        return max(self.allowance + self.granted - self.used, 0)


class QuotaService:
    def __init__(
        self, defaults: QuotaPolicy, policy: PolicyRepo, clock: Callable[[], float] = time.time
    ) -> None:
        self.defaults = defaults
        self.policy = policy
        self._clock = clock

    def cost(self, request: VideoRequest) -> int:
        """Duration in seconds times the resolution's weight (close to per-pixel-second pricing)."""
        return request.duration * self.defaults.resolution_weights[request.resolution]

    def costs(self, duration: int) -> dict[str, int]:
        return {res: duration * w for res, w in self.defaults.resolution_weights.items()}

    def period(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).strftime("%Y-%m-%d")

    def reset_at(self) -> int:
        """Epoch seconds of the next reset (the start of the next UTC day)."""
        today = datetime.fromtimestamp(self._clock(), UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        return int((today + timedelta(days=1)).timestamp())

    async def limits_for(self, guild_id: int, role_ids: Sequence[int] = ()) -> Limits:
        """A member's limits: the best of the server default and their roles' allowances."""
        rules = await self.policy.rules(guild_id)
        policy = rules.policy
        base = policy.credits_per_day
        if base is None:
            base = self.defaults.credits_per_day
        by_role = rules.role_allowances
        best = max([base, *(by_role[r] for r in role_ids if r in by_role)])
        max_active = policy.max_active_jobs or self.defaults.max_active_jobs
        return Limits(best, max_active, policy.daily_budget)

    async def screen(self, guild_id: int, user_id: int, prompt: str) -> None:
        """Refuse banned members and blocked terms before anything is charged."""
        rules = await self.policy.rules(guild_id)
        if user_id in rules.banned:
            raise QuotaRefused(BANNED)
        # Both sides through the same key: a prompt that skipped `validate` is still normalised,
        # and so is a term stored before `/blocklist add` normalised what it stores.
        text = match_key(prompt)
        for term in map(match_key, rules.blocked_terms):
            if term and re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text):
                raise QuotaRefused(BLOCKED)

    async def summary(
        self, guild_id: int, user_id: int, role_ids: Sequence[int] = ()
    ) -> QuotaSummary:
        limits = await self.limits_for(guild_id, role_ids)
        usage = await self.policy.usage(guild_id, user_id, self.period())
        return QuotaSummary(
            allowance=limits.credits,
            granted=usage.granted,
            used=usage.used,
            active=usage.active,
            max_active=limits.max_active,
            reset_at=self.reset_at(),
            daily_budget=limits.guild_budget,
            banned=await self.policy.is_banned(guild_id, user_id),
        )
