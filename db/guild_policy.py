"""A server's policy: its overrides of the bot-wide defaults, per-role allowances, bans, and
the models it turned off."""

from __future__ import annotations

import time
from collections.abc import Mapping

from bot.core.domain import POLICY_FIELDS, GuildPolicy
from db.sql import SqlDatabase


class GuildPolicyRepo:
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def get(self, guild_id: int) -> GuildPolicy:
        row = await self._db.fetchone(
            f"SELECT {', '.join(POLICY_FIELDS)} FROM guild_policy WHERE guild_id = ?",
            (guild_id,),
        )
        return GuildPolicy(*row) if row else GuildPolicy()

    async def update(self, guild_id: int, fields: Mapping[str, int | None]) -> GuildPolicy:
        """Set some fields (None clears one back to the default)."""
        unknown = set(fields) - set(POLICY_FIELDS)
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
            return
        await self._db.execute(
            "INSERT INTO role_allowance (guild_id, role_id, credits_per_day) VALUES (?, ?, ?)"
            " ON CONFLICT (guild_id, role_id)"
            " DO UPDATE SET credits_per_day = excluded.credits_per_day",
            (guild_id, role_id, credits),
        )

    async def banned(self, guild_id: int) -> frozenset[int]:
        rows = await self._db.fetchall(
            "SELECT user_id FROM member_ban WHERE guild_id = ?", (guild_id,)
        )
        return frozenset(int(r[0]) for r in rows)

    async def ban(self, guild_id: int, user_id: int, actor_id: int, reason: str | None) -> None:
        await self._db.execute(
            "INSERT INTO member_ban (guild_id, user_id, actor_id, reason, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET"
            " actor_id = excluded.actor_id, reason = excluded.reason,"
            " created_at = excluded.created_at",
            (guild_id, user_id, actor_id, reason, time.time()),
        )

    async def unban(self, guild_id: int, user_id: int) -> bool:
        changed = await self._db.execute(
            "DELETE FROM member_ban WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        return changed == 1

    async def models_off(self, guild_id: int) -> frozenset[str]:
        rows = await self._db.fetchall(
            "SELECT model_key FROM guild_model_off WHERE guild_id = ?", (guild_id,)
        )
        return frozenset(str(r[0]) for r in rows)

    async def set_model(self, guild_id: int, model_key: str, on: bool, actor_id: int) -> None:
        if on:
            await self._db.execute(
                "DELETE FROM guild_model_off WHERE guild_id = ? AND model_key = ?",
                (guild_id, model_key),
            )
            return
        await self._db.execute(
            "INSERT INTO guild_model_off (guild_id, model_key, actor_id, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (guild_id, model_key, actor_id, time.time()),
        )
