"""/jobs: a member's history, one job's details, cancelling, and the moderators' queue view."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import SeedanceBot
from bot.core.domain import CANCELLABLE_STATUSES, JobStatus
from bot.ui.budget import CHOICE_NAME_CHARS, FIELD_VALUE_CHARS, excerpt
from bot.ui.cancel import cancel_from
from bot.ui.checks import moderator_rights
from bot.ui.joblists import Reply, job_link, list_page, queue_page


class JobsCog(commands.GroupCog, group_name="jobs", group_description="Your video jobs"):
    def __init__(self, bot: SeedanceBot) -> None:
        self.bot = bot
        super().__init__()

    async def _send(self, interaction: discord.Interaction[Any], reply: Reply) -> None:
        await interaction.response.send_message(
            ephemeral=True, allowed_mentions=discord.AllowedMentions.none(), **reply.fields()
        )

    @app_commands.command(name="list", description="Your recent videos in this server")
    @app_commands.guild_only()
    async def list_jobs(self, interaction: discord.Interaction[Any]) -> None:
        await self._send(interaction, await list_page(self.bot.services, interaction, 0))

    @app_commands.command(name="show", description="Details of one job")
    @app_commands.describe(job="The job number, shown on its card")
    @app_commands.guild_only()
    async def show(self, interaction: discord.Interaction[Any], job: int) -> None:
        assert interaction.guild_id is not None
        found = await self.bot.services.jobs.job_in_guild(job, interaction.guild_id)
        embed, _ = await self.bot.cards.render(found)
        if found.video_url and found.status in (JobStatus.DELIVERED, JobStatus.FAILED):
            url = found.video_url
            shown = url if len(url) <= FIELD_VALUE_CHARS else "(too long to show: ask an admin)"
            embed.add_field(name="Video link", value=shown, inline=False)
        embed.add_field(name="Where", value=job_link(found) or "—", inline=False)
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    @app_commands.command(name="cancel", description="Cancel a job that has not started yet")
    @app_commands.describe(
        job="The job number, shown on its card", reason="Moderators: why (kept in the log)"
    )
    @app_commands.guild_only()
    async def cancel(
        self,
        interaction: discord.Interaction[Any],
        job: int,
        reason: app_commands.Range[str, 0, 200] | None = None,
    ) -> None:
        await cancel_from(self.bot.services, self.bot.cards, interaction, job, reason)

    @cancel.autocomplete("job")
    async def cancel_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        jobs = await self.bot.services.jobs.open_in_guild(interaction.guild_id)
        rights = await moderator_rights(self.bot.services, interaction)
        typed = current.strip().lstrip("#")
        choices = []
        for j in jobs:
            if j.status not in CANCELLABLE_STATUSES:
                continue
            if j.user_id != interaction.user.id and not rights.over(j.channel_id):
                continue
            if typed and not str(j.id).startswith(typed):
                continue
            label = excerpt(f"#{j.id} · {j.prompt}", CHOICE_NAME_CHARS)
            choices.append(app_commands.Choice(name=label, value=j.id))
        return choices[:25]

    @app_commands.command(name="queue", description="Queued and running jobs in this server")
    @app_commands.guild_only()
    async def queue(self, interaction: discord.Interaction[Any]) -> None:
        await self._send(interaction, await queue_page(self.bot.services, interaction, 0))


async def setup(bot: SeedanceBot) -> None:
    await bot.add_cog(JobsCog(bot))
