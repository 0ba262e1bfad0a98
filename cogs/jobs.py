"""/jobs: a member's history, one job's details, cancelling, and the moderators' queue view."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import SeedanceBot, is_moderator, reply_ephemeral
from bot.core.errors import JobNotFound, NotAllowed
from bot.ui.cards import status_line
from db.jobs import Job


def _link(job: Job) -> str:
    message_id = job.result_message_id or job.card_message_id
    if message_id is None:
        return ""
    return f" · https://discord.com/channels/{job.guild_id}/{job.channel_id}/{message_id}"


def _line(job: Job) -> str:
    prompt = job.prompt if len(job.prompt) <= 60 else job.prompt[:59] + "…"
    return (
        f"**#{job.id}** <t:{int(job.created_at)}:R> · {status_line(job)} · “{prompt}”{_link(job)}"
    )


class JobsCog(commands.GroupCog, group_name="jobs", group_description="Your video jobs"):
    def __init__(self, bot: SeedanceBot) -> None:
        self.bot = bot
        super().__init__()

    async def _job_here(self, interaction: discord.Interaction[Any], job_id: int) -> Job:
        job = await self.bot.services.jobs.jobs.get(job_id)
        if job is None or job.guild_id != interaction.guild_id:
            raise JobNotFound(job_id)
        return job

    @app_commands.command(name="list", description="Your recent videos in this server")
    @app_commands.guild_only()
    async def list_jobs(self, interaction: discord.Interaction[Any]) -> None:
        assert interaction.guild_id is not None
        jobs = await self.bot.services.jobs.jobs.for_user(interaction.guild_id, interaction.user.id)
        text = (
            "\n".join(_line(j) for j in jobs)
            or "You have not made any videos here yet: try /video."
        )
        await reply_ephemeral(interaction, text)

    @app_commands.command(name="show", description="Details of one job")
    @app_commands.describe(job="The job number, shown on its card")
    @app_commands.guild_only()
    async def show(self, interaction: discord.Interaction[Any], job: int) -> None:
        found = await self._job_here(interaction, job)
        embed, _ = await self.bot.cards.render(found)
        if found.video_url and found.status in ("delivered", "failed"):
            embed.add_field(name="Video link", value=found.video_url[:1000], inline=False)
        embed.add_field(name="Where", value=_link(found).lstrip(" ·") or "—", inline=False)
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
        await self._job_here(interaction, job)
        await self.bot.cancel_from(interaction, job, reason)

    @cancel.autocomplete("job")
    async def cancel_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        jobs = await self.bot.services.jobs.jobs.open_in_guild(interaction.guild_id)
        moderator = await is_moderator(self.bot, interaction)
        choices = []
        for j in jobs:
            if j.status not in ("accepted", "queued"):
                continue
            if j.user_id != interaction.user.id and not moderator:
                continue
            if current and not str(j.id).startswith(current.strip().lstrip("#")):
                continue
            label = f"#{j.id} · {j.prompt}"
            choices.append(app_commands.Choice(name=label[:100], value=j.id))
        return choices[:25]

    @app_commands.command(name="queue", description="Queued and running jobs in this server")
    @app_commands.guild_only()
    async def queue(self, interaction: discord.Interaction[Any]) -> None:
        assert interaction.guild_id is not None
        if not await is_moderator(self.bot, interaction):
            raise NotAllowed("Only moderators can see the whole server's queue.")
        jobs = await self.bot.services.jobs.jobs.open_in_guild(interaction.guild_id)
        lines = [f"{_line(j)} · by <@{j.user_id}>" for j in jobs]
        text = "\n".join(lines) or "Nothing is queued or running in this server."
        await reply_ephemeral(interaction, text)


async def setup(bot: SeedanceBot) -> None:
    await bot.add_cog(JobsCog(bot))
