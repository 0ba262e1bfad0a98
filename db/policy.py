"""Per-server quota policy, bans, grants, blocked prompt terms and the moderation log."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from db.database import Database
from db.jobs import OPEN_STATUSES, ledger_entry

_POLICY_FIELDS = (
    "credits_per_day",
    "max_active_jobs",
    "daily_budget",
    "moderator_role_id",
    "log_channel_id",
)


@dataclass(frozen=True)
class GuildPolicy:
    """A server's overrides; None means the bot-wide default applies."""

    credits_per_day: int | None = None
    max_active_jobs: int | None = None
    daily_budget: int | None = None
    moderator_role_id: int | None = None
    log_channel_id: int | None = None


@dataclass(frozen=True)
class GuildRules:
    """Everything /video checks before accepting, read together and cached per server."""

    policy: GuildPolicy
    role_allowances: dict[int, int]
    blocked_terms: tuple[str, ...]
    banned: frozenset[int]


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


class PolicyRepo:
    """Reads go to the database except `rules()`, which is cached: /video asks for it on every
    request and must answer Discord within 3 s. Every write here drops that server's cache."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._rules: dict[int, GuildRules] = {}
        self._generation: dict[int, int] = {}
        self._loading: dict[int, asyncio.Future[GuildRules]] = {}

    def _changed(self, guild_id: int) -> None:
        # A load that overlapped this write sees a new generation and does not cache.
        self._generation[guild_id] = self._generation.get(guild_id, 0) + 1
        self._rules.pop(guild_id, None)
        self._loading.pop(guild_id, None)  # callers from now on wait for a fresh load

    async def rules(self, guild_id: int) -> GuildRules:
        cached = self._rules.get(guild_id)
        if cached is not None:
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
        banned = await self._db.fetchall(
            "SELECT user_id FROM member_ban WHERE guild_id = ?", (guild_id,)
        )
        rules = GuildRules(
            policy=await self.get(guild_id),
            role_allowances=await self.role_allowances(guild_id),
            blocked_terms=tuple(await self.blocked_terms(guild_id)),
            banned=frozenset(int(r[0]) for r in banned),
        )
        if self._generation.get(guild_id, 0) == generation:
            self._rules[guild_id] = rules
        return rules

    async def get(self, guild_id: int) -> GuildPolicy:
        row = await self._db.fetchone(
            f"SELECT {', '.join(_POLICY_FIELDS)} FROM guild_policy WHERE guild_id = ?",
            (guild_id,),
        )
        return GuildPolicy(*row) if row else GuildPolicy()

    async def update(self, guild_id: int, **fields: int | None) -> GuildPolicy:
        """Set some fields (None clears one back to the default)."""
        unknown = set(fields) - set(_POLICY_FIELDS)
        if unknown:
            raise ValueError(f"unknown policy fields: {sorted(unknown)}")
        names = ", ".join(fields)
        marks = ", ".join(f":{k}" for k in fields)
        sets = ", ".join(f"{k} = excluded.{k}" for k in fields)
        await self._db.execute(
            f"INSERT INTO guild_policy (guild_id, {names}) VALUES (:guild_id, {marks})"
            f" ON CONFLICT (guild_id) DO UPDATE SET {sets}",
            {"guild_id": guild_id, **fields},
        )
        self._changed(guild_id)
        return await self.get(guild_id)

    async def role_allowances(self, guild_id: int) -> dict[int, int]:
        rows = await self._db.fetchall(
            "SELECT role_id, credits_per_day FROM role_allowance WHERE guild_id = ?", (guild_id,)
        )
        return {int(r[0]): int(r[1]) for r in rows}

    async def set_role_allowance(self, guild_id: int, role_id: int, credits: int | None) -> None:
        if credits is None:
            await self._db.execute(
                "DELETE FROM role_allowance WHERE guild_id = ? AND role_id = ?", (guild_id, role_id)
            )
            self._changed(guild_id)
            return
        await self._db.execute(
            "INSERT INTO role_allowance (guild_id, role_id, credits_per_day) VALUES (?, ?, ?)"
            " ON CONFLICT (guild_id, role_id)"
            " DO UPDATE SET credits_per_day = excluded.credits_per_day",
            (guild_id, role_id, credits),
        )
        self._changed(guild_id)

    async def ban(self, guild_id: int, user_id: int, actor_id: int, reason: str | None) -> None:
        await self._db.execute(
            "INSERT OR REPLACE INTO member_ban (guild_id, user_id, actor_id, reason, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (guild_id, user_id, actor_id, reason, time.time()),
        )
        self._changed(guild_id)

    async def unban(self, guild_id: int, user_id: int) -> bool:
        changed = await self._db.execute(
            "DELETE FROM member_ban WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        self._changed(guild_id)
        return changed == 1

    async def is_banned(self, guild_id: int, user_id: int) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM member_ban WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        return row is not None

    async def grant(
        self, guild_id: int, user_id: int, period: str, amount: int, actor_id: int, note: str | None
    ) -> int:
        """Add `amount` credits for one quota day; returns the day's total grant."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO quota_usage (guild_id, user_id, period, used, granted)"
                " VALUES (?, ?, ?, 0, ?) ON CONFLICT (guild_id, user_id, period)"
                " DO UPDATE SET granted = granted + excluded.granted RETURNING granted",
                (guild_id, user_id, period, amount),
            )
            await ledger_entry(
                tx, guild_id, user_id, period, None, "grant", amount, actor_id=actor_id, note=note
            )
        assert row is not None
        return int(row[0])

    async def usage(self, guild_id: int, user_id: int, period: str) -> Usage:
        row = await self._db.fetchone(
            "SELECT COALESCE((SELECT used FROM quota_usage WHERE guild_id = :g AND user_id = :u"
            "   AND period = :p), 0),"
            " COALESCE((SELECT granted FROM quota_usage WHERE guild_id = :g AND user_id = :u"
            "   AND period = :p), 0),"
            " (SELECT COUNT(*) FROM jobs WHERE guild_id = :g AND user_id = :u"
            f"   AND status IN ({', '.join(repr(s) for s in OPEN_STATUSES)}))",
            {"g": guild_id, "u": user_id, "p": period},
        )
        assert row is not None
        return Usage(int(row[0]), int(row[1]), int(row[2]))

    async def blocked_terms(self, guild_id: int) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT term FROM blocked_term WHERE guild_id = ? ORDER BY term", (guild_id,)
        )
        return [str(r[0]) for r in rows]

    async def add_blocked_term(self, guild_id: int, term: str, actor_id: int) -> bool:
        changed = await self._db.execute(
            "INSERT OR IGNORE INTO blocked_term (guild_id, term, actor_id, created_at)"
            " VALUES (?, ?, ?, ?)",
            (guild_id, term, actor_id, time.time()),
        )
        self._changed(guild_id)
        return changed == 1

    async def remove_blocked_term(self, guild_id: int, term: str) -> bool:
        changed = await self._db.execute(
            "DELETE FROM blocked_term WHERE guild_id = ? AND term = ?", (guild_id, term)
        )
        self._changed(guild_id)
        return changed == 1

    async def log_moderation(
        self, guild_id: int, job_id: int | None, actor_id: int, action: str, reason: str | None
    ) -> None:
        await self._db.execute(
            "INSERT INTO moderation_log (guild_id, job_id, actor_id, action, reason, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (guild_id, job_id, actor_id, action, reason, time.time()),
        )

    async def moderation_log(self, guild_id: int, limit: int = 20) -> list[ModerationEntry]:
        rows = await self._db.fetchall(
            "SELECT job_id, actor_id, action, reason, created_at FROM moderation_log"
            " WHERE guild_id = ? ORDER BY id DESC LIMIT ?",
            (guild_id, limit),
        )
        return [ModerationEntry(*r) for r in rows]
