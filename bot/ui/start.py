"""Starting a video, from /video or from an Again / Make another press: check the channel,
accept (quota, blocklist, bans, the duplicate guard), answer with the public card within
Discord's 3 s, then run the job."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import Any, Protocol

import discord

from bot.core.domain import Job
from bot.core.errors import DuplicateRequest, NotAllowed
from bot.core.jobs import JobSink
from bot.core.schema import VideoRequest
from bot.services import Services
from bot.ui.again import AgainButton
from bot.ui.checks import reply_ephemeral
from bot.ui.sink import CardUpdater

ANSWER_FIRST_SECONDS = 2.0  # how long a new job waits for other members' cards to go out
# What the bot needs in a channel to show the card and deliver the video there.
NEEDED = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
    ("attach_files", "Attach Files"),
)


class SinkFor(Protocol):
    def __call__(self, job: Job) -> JobSink: ...


class VideoStarter:
    def __init__(self, services: Services, cards: CardUpdater, sink_for: SinkFor) -> None:
        self._services = services
        self._cards = cards
        self._sink_for = sink_for
        # New jobs start once every request being handled has answered Discord: under a
        # burst, members get their cards first, then the submits and polls begin.
        self._answering = 0
        self._all_answered = asyncio.Event()
        self._all_answered.set()

    async def start(
        self,
        interaction: discord.Interaction[Any],
        request: VideoRequest,
        *,
        again_of: int | None = None,
        contest_id: int | None = None,
    ) -> None:
        """Raises UserFacingError (shown ephemerally) when the video can't be made.
        `contest_id`: enter the delivered video in that contest (checked by the caller)."""
        self._answering += 1
        self._all_answered.clear()
        try:
            await self._start(interaction, request, again_of, contest_id)
        finally:
            self._answering -= 1
            if self._answering == 0:
                self._all_answered.set()

    async def _start(
        self,
        interaction: discord.Interaction[Any],
        request: VideoRequest,
        again_of: int | None,
        contest_id: int | None = None,
    ) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None
        missing = [name for flag, name in NEEDED if not getattr(interaction.app_permissions, flag)]
        if missing:
            raise NotAllowed(
                "I can't post videos in this channel: I need the "
                + ", ".join(missing)
                + " permission(s) here. Ask a server admin, or try another channel. "
                "Nothing was charged."
            )
        jobs = self._services.jobs
        try:
            job = await jobs.accept(
                guild_id=interaction.guild_id,
                channel_id=interaction.channel_id,
                user_id=interaction.user.id,
                request=request,
                upload_limit=interaction.filesize_limit,
                role_ids=[r.id for r in getattr(interaction.user, "roles", [])],
                again_of=again_of,
                contest_id=contest_id,
            )
        except DuplicateRequest as exc:
            await _answer_duplicate(interaction, exc)
            return
        job = await self._answer(interaction, job)
        jobs.start(job, self._sink_for(job), after=self._after_answers)

    async def _answer(self, interaction: discord.Interaction[Any], job: Job) -> Job:
        jobs = self._services.jobs
        try:
            embed, view = await self._cards.render(job)
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
        self._cards.attach(job, interaction, (embed.to_dict(), view is not None))
        return job

    async def _after_answers(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._all_answered.wait(), ANSWER_FIRST_SECONDS)


async def _answer_duplicate(interaction: discord.Interaction[Any], exc: DuplicateRequest) -> None:
    """Tell the member which job this repeats, with a button for when they want two."""
    view = discord.ui.View(timeout=None)
    view.add_item(AgainButton(exc.job_id, "Make another"))
    try:
        await interaction.response.send_message(
            exc.message,
            view=view,
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )
    except discord.HTTPException:
        await reply_ephemeral(interaction, exc.message)
