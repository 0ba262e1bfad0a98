"""The discord.py bot: takes its services in the constructor, loads cogs, resumes jobs."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.errors import UserFacingError
from bot.runcomfy import RunComfyError
from bot.services import Services
from bot.ui.buttons import CancelButton
from bot.ui.checks import moderator_rights, reply_ephemeral
from bot.ui.joblists import PageButton
from bot.ui.sink import CardUpdater, DiscordSink
from db.jobs import Job

log = logging.getLogger(__name__)

PERMISSION_NAMES = {"manage_guild": "Manage Server", "manage_messages": "Manage Messages"}
COGS = ("cogs.video", "cogs.jobs", "cogs.quota", "cogs.blocklist")


class SeedanceBot(commands.Bot):
    def __init__(self, services: Services) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
        )
        self.services = services
        self.cards = CardUpdater(self, interval=services.settings.card_edit_interval)
        self.tree.error(self.on_app_command_error)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(CancelButton, PageButton)
        for name in COGS:
            await self.load_extension(name)
        await self.sync_commands()
        await self.services.jobs.resume_all(self.sink_for)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        for channel in guild.channels:
            self.cards.refused(channel.id, None)  # every write there would now be a 403
        for job in await self.services.jobs.guild_removed(guild.id):
            await self.cards.settle(job)  # through the token while it lasts; else nothing

    def sink_for(self, job: Job) -> DiscordSink:
        return DiscordSink(self, self.cards)

    async def sync_commands(self) -> None:
        """Guilds from DISCORD_GUILD_IDS get the commands at once; the global sync (rate-limited
        per day by Discord) only runs when the command tree actually changed."""
        guild_ids = self.services.settings.discord_guild_ids
        for guild_id in guild_ids:
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
            log.info("commands synced to guild %d", guild_id)
        if guild_ids:
            return
        digest = hashlib.sha256(
            json.dumps(
                [c.to_dict(self.tree) for c in self.tree.get_commands()], sort_keys=True
            ).encode()
        ).hexdigest()
        if await self.services.meta.get("global_commands") != digest:
            await self.tree.sync()
            await self.services.meta.set("global_commands", digest)
            log.info("global commands synced")

    async def cancel_from(
        self, interaction: discord.Interaction[Any], job_id: int, reason: str | None = None
    ) -> None:
        """The Cancel button and /jobs cancel both end here."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        jobs = self.services.jobs
        try:
            # A forged custom_id may name another server's job: it is as unknown as a missing one.
            assert interaction.guild_id is not None
            job = await jobs.job_in_guild(job_id, interaction.guild_id)
            rights = await moderator_rights(self.services, interaction)
            result = await jobs.cancel(
                job_id,
                interaction.user.id,
                guild_id=interaction.guild_id,
                moderator=rights.over(job.channel_id),
                reason=reason,
            )
        except UserFacingError as exc:
            await interaction.followup.send(exc.message, ephemeral=True)
            return
        except RunComfyError as exc:
            await interaction.followup.send(
                f"Job #{job_id} could not be cancelled just now: {exc.user_message}",
                ephemeral=True,
            )
            return
        if result.cancelled:
            await self.cards.settle(result.job)
        await interaction.followup.send(
            f"Job #{job_id}: {result.reason}",
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        if result.cancelled and result.job.user_id != interaction.user.id:
            await self._log_moderation(result.job, interaction.user.id, reason)

    async def _log_moderation(self, job: Job, actor_id: int, reason: str | None) -> None:
        why = f" Reason: {reason}" if reason else ""
        text = f"<@{actor_id}> cancelled video #{job.id} by <@{job.user_id}>.{why}"
        await self.record_moderation(job.guild_id, job.id, actor_id, "cancel", reason, text)

    async def record_moderation(
        self,
        guild_id: int,
        job_id: int | None,
        actor_id: int,
        action: str,
        reason: str | None,
        text: str,
    ) -> None:
        """Keep a moderator's action in the log, and post it to the server's log channel."""
        policy = self.services.quotas.policy
        await policy.log_moderation(guild_id, job_id, actor_id, action, reason)
        channel_id = (await policy.get(guild_id)).log_channel_id
        if channel_id is None:
            return
        try:
            await self.get_partial_messageable(channel_id).send(
                text, allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.HTTPException as exc:
            log.warning("could not post to the log channel of guild %d (%s)", guild_id, exc.code)

    async def on_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        original = getattr(error, "original", error)
        if isinstance(original, UserFacingError):
            text = original.message
        elif isinstance(error, app_commands.NoPrivateMessage):
            text = "This command only works in a server."
        elif isinstance(error, app_commands.MissingPermissions):
            names = [PERMISSION_NAMES.get(p, p) for p in error.missing_permissions]
            text = f"You need the {' and '.join(names)} permission for that."
        elif isinstance(error, app_commands.TransformerError):
            text = f"The value `{str(error.value)[:40]}` can't be used for that option."
        else:
            code = uuid.uuid4().hex[:8]
            log.error("error %s in /%s", code, interaction.command, exc_info=original)
            text = (
                "Something went wrong on our side. If it keeps happening, "
                f"give a server admin this code: `{code}`."
            )
        await reply_ephemeral(interaction, text)
