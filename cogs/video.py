"""/video: validate, reserve, answer with the public job card within Discord's 3 s, then run."""

from __future__ import annotations

from typing import Any

import discord
from discord.ext import commands

from bot.client import SeedanceBot
from bot.core.errors import InvalidOptions
from bot.core.model_meta import MediaInput
from bot.ui.video_command import video_command


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
        await self.bot.starter.start(interaction, request)


async def setup(bot: SeedanceBot) -> None:
    cog = VideoCog(bot)
    await bot.add_cog(cog)
    bot.tree.add_command(video_command(bot.services.catalog, cog.video))
