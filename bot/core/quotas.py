"""What a job costs and how much room a member has: the bot-wide defaults from settings, a
server's own policy on top (per-role allowances, bans, grants, a daily budget, blocked terms).

Quota days reset at a fixed time (00:00 UTC) rather than over a rolling window: members can see
exactly when their credits come back, and the reset shows as a Discord timestamp.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.core.catalog import Catalog
from bot.core.domain import GuildPolicy, GuildRules, Limits, ModerationEntry
from bot.core.errors import QuotaRefused, UserFacingError
from bot.core.hints import Hints, LocalHints
from bot.core.ports import BlocklistStore, LedgerStore, ModerationStore, PolicyStore
from bot.core.schema import VideoRequest
from bot.core.text import match_key

BLOCKED = (
    "Your prompt contains a word or phrase this server does not allow. "
    "Rephrase it and try again. Nothing was charged."
)
BANNED = "A moderator has turned off video making for you in this server. Nothing was charged."


MODEL_OFF = (
    "{name} is turned off in this server. Pick another with the model option. Nothing was charged."
)


@dataclass(frozen=True)
class QuotaPolicy:
    """The bot-wide defaults (from settings)."""

    credits_per_day: int
    max_active_jobs: int
    resolution_weights: Mapping[str, int]  # the default model's; others' are in their meta
    model_weights: Mapping[str, int] = field(default_factory=dict)  # credits per second


@dataclass(frozen=True)
class Price:
    """What one model costs: credits a second, times its resolution's weight."""

    model: str
    per_second: int
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


@dataclass(frozen=True)
class QuotaStores:
    policies: PolicyStore
    ledger: LedgerStore
    blocklist: BlocklistStore
    modlog: ModerationStore


class QuotaService:
    """Reads go to the stores except `rules()`, which is cached per server: /video asks for it
    on every request and must answer Discord within 3 s. Every write here drops that cache."""

    def __init__(
        self,
        defaults: QuotaPolicy,
        stores: QuotaStores,
        catalog: Catalog | None = None,
        clock: Callable[[], float] = time.time,
        *,
        hints: Hints | None = None,
        rules_ttl: float | None = None,
    ) -> None:
        """`rules_ttl`: seconds a server's cached rules are trusted when other processes may
        change them (None: until this process changes them); the hints usually drop them
        sooner."""
        self.defaults = defaults
        self.catalog = catalog or Catalog.shipped()
        self._stores = stores
        self._clock = clock
        self._hints = hints or LocalHints()
        self._hints.on("rules", self._changed)
        self._rules_ttl = rules_ttl
        self._loaded_at: dict[int, float] = {}
        self._rules: dict[int, GuildRules] = {}
        self._generation: dict[int, int] = {}
        self._loading: dict[int, asyncio.Future[GuildRules]] = {}

    def cost(self, request: VideoRequest) -> int:
        """Seconds x the model's credits a second x its resolution's weight (close to
        per-pixel-second pricing)."""
        spec = self.catalog.get(request.model_key) or self.catalog.default
        override = self.defaults.resolution_weights if spec is self.catalog.default else None
        weight = self.defaults.model_weights.get(spec.key)
        return spec.credits(request.params, override, weight)

    def prices(self) -> list[Price]:
        """Every model's price, the default model first."""
        found = []
        for spec in self.catalog:
            per_second = self.defaults.model_weights.get(spec.key, spec.meta.credits_per_second)
            weights = dict(spec.meta.resolution_weights or {})
            if spec is self.catalog.default:
                weights = dict(self.defaults.resolution_weights)
            found.append(Price(spec.display_name, per_second, weights))
        return found

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
        rules = await self.rules(guild_id)
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
        rules = await self.rules(guild_id)
        if user_id in rules.banned:
            raise QuotaRefused(BANNED)
        # Both sides through the same key: a prompt that skipped `validate` is still normalised,
        # and so is a term stored before `/blocklist add` normalised what it stores.
        text = match_key(prompt)
        for term in map(match_key, rules.blocked_terms):
            if term and re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text):
                raise QuotaRefused(BLOCKED)

    async def spent_today(self, guild_id: int) -> int:
        """Credits the server's members have spent today (jobs in progress included)."""
        return await self._stores.ledger.guild_used(guild_id, self.period())

    async def summary(
        self, guild_id: int, user_id: int, role_ids: Sequence[int] = ()
    ) -> QuotaSummary:
        limits = await self.limits_for(guild_id, role_ids)
        usage = await self._stores.ledger.usage(guild_id, user_id, self.period())
        return QuotaSummary(
            allowance=limits.credits,
            granted=usage.granted,
            used=usage.used,
            active=usage.active,
            max_active=limits.max_active,
            reset_at=self.reset_at(),
            daily_budget=limits.guild_budget,
            banned=user_id in (await self.rules(guild_id)).banned,
        )

    # --- the cached rules ----------------------------------------------------------------------

    async def rules(self, guild_id: int) -> GuildRules:
        cached = self._rules.get(guild_id)
        if cached is not None and not self._expired(guild_id):
            return cached
        # One load per server at a time: a burst of commands on a cold cache waits for it
        # instead of each reading the same rows.
        loading = self._loading.get(guild_id)
        if loading is None:
            loading = asyncio.ensure_future(self._load_rules(guild_id))
            self._loading[guild_id] = loading
            loading.add_done_callback(lambda _: self._loading.pop(guild_id, None))
        return await asyncio.shield(loading)

    async def _load_rules(self, guild_id: int) -> GuildRules:
        generation = self._generation.get(guild_id, 0)
        policies = self._stores.policies
        rules = GuildRules(
            policy=await policies.get(guild_id),
            role_allowances=await policies.role_allowances(guild_id),
            blocked_terms=tuple(await self._stores.blocklist.terms(guild_id)),
            banned=await policies.banned(guild_id),
            models_off=await policies.models_off(guild_id),
        )
        if self._generation.get(guild_id, 0) == generation:
            self._rules[guild_id] = rules
            self._loaded_at[guild_id] = time.monotonic()
        return rules

    def _expired(self, guild_id: int) -> bool:
        if self._rules_ttl is None:
            return False
        return time.monotonic() - self._loaded_at.get(guild_id, 0.0) > self._rules_ttl

    async def _written(self, guild_id: int) -> None:
        self._changed(guild_id)
        await self._hints.send("rules", guild_id)  # the other processes drop theirs too

    def _changed(self, guild_id: int) -> None:
        # A load that overlapped this write sees a new generation and does not cache.
        self._generation[guild_id] = self._generation.get(guild_id, 0) + 1
        self._rules.pop(guild_id, None)
        self._loading.pop(guild_id, None)  # callers from now on wait for a fresh load

    # --- a server's policy, written by its admins and moderators ---------------------------

    async def policy(self, guild_id: int) -> GuildPolicy:
        return (await self.rules(guild_id)).policy

    async def update_policy(self, guild_id: int, **fields: int | None) -> GuildPolicy:
        """Set some fields (None clears one back to the default)."""
        updated = await self._stores.policies.update(guild_id, fields)
        await self._written(guild_id)
        return updated

    async def set_role_allowance(self, guild_id: int, role_id: int, credits: int | None) -> None:
        await self._stores.policies.set_role_allowance(guild_id, role_id, credits)
        await self._written(guild_id)

    async def grant(
        self, guild_id: int, user_id: int, amount: int, actor_id: int, note: str | None
    ) -> int:
        """Extra credits for today; returns the day's total grant."""
        return await self._stores.ledger.grant(
            guild_id, user_id, self.period(), amount, actor_id, note
        )

    async def screen_model(self, guild_id: int, model_key: str) -> None:
        """Refuse a model the server turned off, before anything is charged."""
        if model_key in (await self.rules(guild_id)).models_off:
            spec = self.catalog.get(model_key)
            raise QuotaRefused(MODEL_OFF.format(name=spec.display_name if spec else model_key))

    async def set_model(self, guild_id: int, model_key: str, on: bool, actor_id: int) -> None:
        await self._stores.policies.set_model(guild_id, model_key, on, actor_id)
        await self._written(guild_id)

    async def models_off(self, guild_id: int) -> frozenset[str]:
        return (await self.rules(guild_id)).models_off

    async def ban(self, guild_id: int, user_id: int, actor_id: int, reason: str | None) -> None:
        await self._stores.policies.ban(guild_id, user_id, actor_id, reason)
        await self._written(guild_id)

    async def unban(self, guild_id: int, user_id: int) -> bool:
        removed = await self._stores.policies.unban(guild_id, user_id)
        await self._written(guild_id)
        return removed

    async def blocked_terms(self, guild_id: int) -> list[str]:
        return list((await self.rules(guild_id)).blocked_terms)

    async def add_blocked_term(self, guild_id: int, term: str, actor_id: int) -> bool:
        """Stored as prompts are matched (`Ｇｏｒｅ` is `gore`); False if it was there."""
        key = match_key(term)
        if not key:
            raise UserFacingError("A blocked term needs at least one letter or digit.")
        added = await self._stores.blocklist.add(guild_id, key, actor_id)
        await self._written(guild_id)
        return added

    async def remove_blocked_term(self, guild_id: int, term: str) -> bool:
        removed = await self._stores.blocklist.remove(guild_id, match_key(term))
        await self._written(guild_id)
        return removed

    async def record_moderation(
        self, guild_id: int, job_id: int | None, actor_id: int, action: str, reason: str | None
    ) -> None:
        await self._stores.modlog.record(guild_id, job_id, actor_id, action, reason)

    async def moderation_log(self, guild_id: int, limit: int = 20) -> list[ModerationEntry]:
        return await self._stores.modlog.recent(guild_id, limit)
