"""A moderator's action, kept in the moderation log and posted to the server's log channel."""

from __future__ import annotations

import logging

import discord

from bot.core.quotas import QuotaService

log = logging.getLogger(__name__)


async def record_moderation(
    client: discord.Client,
    quotas: QuotaService,
    guild_id: int,
    job_id: int | None,
    actor_id: int,
    action: str,
    reason: str | None,
    text: str,
) -> None:
    await quotas.record_moderation(guild_id, job_id, actor_id, action, reason)
    channel_id = (await quotas.policy(guild_id)).log_channel_id
    if channel_id is None:
        return
    try:
        await client.get_partial_messageable(channel_id).send(
            text, allowed_mentions=discord.AllowedMentions.none()
        )
    except discord.HTTPException as exc:
        log.warning("could not post to the log channel of guild %d (%s)", guild_id, exc.code)
