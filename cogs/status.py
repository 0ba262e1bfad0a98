"""/botstatus: how the bot is doing (Manage Server; the answer is ephemeral)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import SeedanceBot
from bot.status import StatusService
from bot.ui.checks import reply_ephemeral
from bot.ui.status import render_status


class StatusCog(commands.Cog):
    def __init__(self, bot: SeedanceBot) -> None:
        self.bot = bot
        services = bot.services
        self.status = StatusService(services.jobs, services.quotas, services.metrics)

    @app_commands.command(name="botstatus", description="How the bot is doing (server managers)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)  # a server can open it to anyone
    async def botstatus(self, interaction: discord.Interaction[Any]) -> None:
        assert interaction.guild_id is not None
        report = await self.status.report(interaction.guild_id)
        await reply_ephemeral(interaction, render_status(report, self.bot.latency))


async def setup(bot: SeedanceBot) -> None:
    await bot.add_cog(StatusCog(bot))
