"""/video: validate, reserve, answer with the public job card within Discord's 3 s, then run."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import SeedanceBot
from bot.core.errors import InvalidOptions, NotAllowed
from bot.core.schema import MODEL, PROMPT_FIELD, SEED_MAX, SEED_MIN

PROMPT_MAX = MODEL.max_length(PROMPT_FIELD) or 500
DURATIONS = sorted(int(d) for d in MODEL.enum("duration"))
ANSWER_FIRST_SECONDS = 2.0
# What the bot needs in a channel to show the card and deliver the video there.
NEEDED = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
    ("attach_files", "Attach Files"),
)  # how long a new job waits for other members' cards to go out


def _choices(name: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=_label(str(v)), value=str(v)) for v in MODEL.enum(name)]


def _label(value: str) -> str:
    """'9:16' reads better in the picker as '9:16 (portrait)'; other values stay as they are."""
    width, sep, height = value.partition(":")
    if not (sep and width.isdigit() and height.isdigit()):
        return value
    w, h = int(width), int(height)
    shape = "square" if w == h else "landscape" if w > h else "portrait"
    return f"{value} ({shape})"


class VideoCog(commands.Cog):
    def __init__(self, bot: SeedanceBot) -> None:
        self.bot = bot
        # New jobs start once every /video being handled has answered Discord: under a burst,
        # members get their cards first, then the submits and polls begin.
        self._answering = 0
        self._all_answered = asyncio.Event()
        self._all_answered.set()

    @app_commands.command(name="video", description="Turn a text prompt into a short video")
    @app_commands.guild_only()
    @app_commands.describe(
        prompt=f"What the video should show (up to {PROMPT_MAX} characters)",
        resolution=f"Picture quality; higher costs more (default {MODEL.default('resolution')})",
        ratio=f"Shape of the frame, width:height (default {MODEL.default('ratio')})",
        duration=(
            f"Length in seconds, {DURATIONS[0]} to {DURATIONS[-1]} "
            f"(default {MODEL.default('duration')})"
        ),
        seed="A number to reproduce a result; leave empty for a random one",
    )
    @app_commands.choices(resolution=_choices("resolution"), ratio=_choices("ratio"))
    async def video(
        self,
        interaction: discord.Interaction[Any],
        prompt: app_commands.Range[str, 1, PROMPT_MAX],
        resolution: str | None = None,
        ratio: str | None = None,
        duration: app_commands.Range[int, DURATIONS[0], DURATIONS[-1]] | None = None,
        seed: app_commands.Range[int, SEED_MIN, SEED_MAX] | None = None,
    ) -> None:
        self._answering += 1
        self._all_answered.clear()
        try:
            await self._video(interaction, prompt, resolution, ratio, duration, seed)
        finally:
            self._answering -= 1
            if self._answering == 0:
                self._all_answered.set()

    async def _video(
        self,
        interaction: discord.Interaction[Any],
        prompt: str,
        resolution: str | None,
        ratio: str | None,
        duration: int | None,
        seed: int | None,
    ) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None
        raw = {
            PROMPT_FIELD: prompt,
            "resolution": resolution,
            "ratio": ratio,
            "duration": duration,
            "seed": seed,
        }
        request = MODEL.validate(raw)
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
    await bot.add_cog(VideoCog(bot))
