"""/video: validate, reserve, answer with the public job card within Discord's 3 s, then run."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import Any

import discord
from discord.ext import commands

from bot.client import SeedanceBot
from bot.core.errors import InvalidOptions, NotAllowed
from bot.core.model_meta import MediaInput
from bot.ui.video_command import video_command

ANSWER_FIRST_SECONDS = 2.0  # how long a new job waits for other members' cards to go out
# What the bot needs in a channel to show the card and deliver the video there.
NEEDED = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
    ("attach_files", "Attach Files"),
)


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
        # New jobs start once every /video being handled has answered Discord: under a burst,
        # members get their cards first, then the submits and polls begin.
        self._answering = 0
        self._all_answered = asyncio.Event()
        self._all_answered.set()

    async def video(self, interaction: discord.Interaction[Any], given: dict[str, Any]) -> None:
        self._answering += 1
        self._all_answered.clear()
        try:
            await self._video(interaction, given)
        finally:
            self._answering -= 1
            if self._answering == 0:
                self._all_answered.set()

    async def _video(self, interaction: discord.Interaction[Any], given: dict[str, Any]) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None
        catalog = self.bot.services.catalog
        key = given.pop("model", None) or catalog.default.key
        spec = catalog.get(key)
        if spec is None:  # an old command version, or a modified client
            raise InvalidOptions([f"There is no model `{str(key)[:40]}`; pick one from the list."])
        options = {
            name: _media(value) if isinstance(value, discord.Attachment) else value
            for name, value in given.items()
        }
        request = spec.from_options(options)
        if isinstance(request, list):
            raise InvalidOptions(request)
        missing = [name for flag, name in NEEDED if not getattr(interaction.app_permissions, flag)]
        if missing:
            raise NotAllowed(
                "I can't post videos in this channel: I need the "
                + ", ".join(missing)
                + " permission(s) here. Ask a server admin, or try another channel. "
                "Nothing was charged."
            )
        jobs = self.bot.services.jobs
        job = await jobs.accept(
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=interaction.user.id,
            request=request,
            upload_limit=interaction.filesize_limit,
            role_ids=[r.id for r in getattr(interaction.user, "roles", [])],
        )
        try:
            embed, view = await self.bot.cards.render(job)
            kwargs: dict[str, Any] = {
                "embed": embed,
                "allowed_mentions": discord.AllowedMentions.none(),
            }
            if view is not None:
                kwargs["view"] = view
            response = await interaction.response.send_message(**kwargs)
            card_id = response.message_id
            if card_id is not None:
                await jobs.answered(job, card_id)
                job = replace(job, card_message_id=card_id)
        except BaseException:
            # The member saw "the application did not respond" (or an error): nothing was
            # sent to RunComfy yet, so cancel and refund rather than run a job nobody follows.
            await asyncio.shield(jobs.unanswered(job))
            raise
        self.bot.cards.attach(job, interaction, (embed.to_dict(), view is not None))

        async def after_answers() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_answered.wait(), ANSWER_FIRST_SECONDS)

        jobs.start(job, self.bot.sink_for(job), after=after_answers)


async def setup(bot: SeedanceBot) -> None:
    cog = VideoCog(bot)
    await bot.add_cog(cog)
    bot.tree.add_command(video_command(bot.services.catalog, cog.video))
