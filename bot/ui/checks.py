"""Who may do what, decided by the bot itself, and the one way a member is answered privately.

Moderator rights over a job come from the job's own channel (Manage Messages there) or from
the server's moderator role, never from the channel where the command happens to be typed: a
member who manages one ticket channel is not a moderator of every video in the server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands

from bot.services import Services
from bot.ui.budget import MESSAGE_CHARS, clip

log = logging.getLogger(__name__)


def require_permission(interaction: discord.Interaction[Any], name: str) -> bool:
    """Check a permission in the bot itself: a server can open a command to anyone in its
    Integrations settings, whatever its default permissions say."""
    if not getattr(interaction.permissions, name):
        raise app_commands.MissingPermissions([name])
    return True


@dataclass(frozen=True)
class ModeratorRights:
    """What a member may moderate in one server, read once per interaction."""

    interaction: discord.Interaction[Any]
    has_role: bool  # the server's moderator role: every channel

    def over(self, channel_id: int) -> bool:
        """May they cancel and see others' jobs made in `channel_id`?"""
        return self.has_role or _manages_messages(self.interaction, channel_id)

    @property
    def server_wide(self) -> bool:
        """For what belongs to no channel (another member's credits): the role, or Manage
        Messages from the member's roles, not from one channel's overwrites."""
        member = self.interaction.user
        return self.has_role or (
            isinstance(member, discord.Member) and member.guild_permissions.manage_messages
        )

    @property
    def anywhere(self) -> bool:
        guild = self.interaction.guild
        ids = [c.id for c in guild.channels] if guild is not None else []
        if self.interaction.channel_id is not None:
            ids.append(self.interaction.channel_id)  # a thread is not among guild.channels
        return self.server_wide or any(self.over(i) for i in ids)


async def moderator_rights(
    services: Services, interaction: discord.Interaction[Any]
) -> ModeratorRights:
    if interaction.guild_id is None:
        return ModeratorRights(interaction, False)
    role_id = (await services.quotas.policy(interaction.guild_id)).moderator_role_id
    roles = getattr(interaction.user, "roles", [])
    return ModeratorRights(interaction, role_id is not None and any(r.id == role_id for r in roles))


def _manages_messages(interaction: discord.Interaction[Any], channel_id: int) -> bool:
    if channel_id == interaction.channel_id:
        return interaction.permissions.manage_messages  # Discord computed it for this channel
    member, guild = interaction.user, interaction.guild
    if guild is None or not isinstance(member, discord.Member):
        return False
    # A thread takes its parent's overwrites; discord.py resolves that in permissions_for.
    channel = guild.get_channel_or_thread(channel_id)
    if channel is None:
        return False  # unknown here (deleted): only the moderator role reaches it
    return channel.permissions_for(member).manage_messages


async def reply_ephemeral(interaction: discord.Interaction[Any], text: str) -> None:
    """Answer only the member, within Discord's length limit, pinging nobody."""
    mentions = discord.AllowedMentions.none()
    text = clip(text, MESSAGE_CHARS)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=mentions)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=mentions)
    except discord.HTTPException:
        log.warning("could not tell a member about an error (interaction %s)", interaction.id)
