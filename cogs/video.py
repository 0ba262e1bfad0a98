"""/video: validate, reserve, answer with the public job card within Discord's 3 s, then run."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import SeedanceBot
from bot.core.contests import Phase
from bot.core.errors import InvalidOptions
from bot.core.model_meta import MediaInput
from bot.ui.contest_admin import open_contest_choices
from bot.ui.video_command import CONTEST_OPTION, video_command


def _media(attachment: discord.Attachment) -> MediaInput:
    return MediaInput(
        url=attachment.url,
        content_type=attachment.content_type,
        size=attachment.size,
        width=attachment.width,
        height=attachment.height,
        filename=attachment.filename,
    )


class VideoCog(commands.Cog):
    def __init__(self, bot: SeedanceBot) -> None:
        self.bot = bot

    async def video(self, interaction: discord.Interaction[Any], given: dict[str, Any]) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None
        catalog = self.bot.services.catalog
        key = given.pop("model", None) or catalog.default.key
        contest = given.pop(CONTEST_OPTION, None)
        spec = catalog.get(key)
        if spec is None:  # an old command version, or a modified client
            raise InvalidOptions([f"There is no model `{str(key)[:40]}`; pick one from the list."])
        # Said first: no point fixing an attachment for a model this server turned off.
        await self.bot.services.quotas.screen_model(interaction.guild_id, spec.key)
        options = {
            name: _media(value) if isinstance(value, discord.Attachment) else value
            for name, value in given.items()
        }
        request = spec.from_options(options)
        if isinstance(request, list):
            raise InvalidOptions(request)
        contest_id = None
        if contest is not None:  # refused here, before anything is charged
            entering = self.bot.services.video_entries
            contest_id = (
                await entering.check(interaction.guild_id, contest, interaction.user.id)
            ).id
        await self.bot.starter.start(interaction, request, contest_id=contest_id)

    async def contest_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        """Contests taking entries now."""
        services = self.bot.services
        return await open_contest_choices(services, interaction, current, Phase.SUBMISSIONS)


async def setup(bot: SeedanceBot) -> None:
    cog = VideoCog(bot)
    await bot.add_cog(cog)
    bot.tree.add_command(video_command(bot.services.catalog, cog.video, cog.contest_choices))
