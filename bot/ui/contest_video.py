"""`/video ... contest:<n>` on Discord: the result is entered once delivered, and its author
is told how that went.

`ContestEntrySink` wraps a job's sink: when the job is finished and delivered, the video is
entered (`VideoEntries.settle`). The author hears of it privately through the interaction's
token while it lasts, else in a reply to the result message. At start, `started` settles the
videos delivered just before a crash.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

import discord

from bot.core.contests.video_entries import VideoEntries, VideoEntryOutcome
from bot.core.domain import Job, JobStatus
from bot.core.jobs import JobService, JobSink
from bot.ui.budget import MESSAGE_CHARS, clip
from bot.ui.contest_posts import Channels

log = logging.getLogger(__name__)
NO_MENTIONS = discord.AllowedMentions.none()


class Interactions(Protocol):
    """The card updater, as far as this needs it: a job's interaction while its token lasts."""

    def live_interaction(self, job_id: int) -> discord.Interaction[Any] | None: ...


class VideoEntryReporter:
    def __init__(
        self,
        client: discord.Client,
        entries: VideoEntries,
        jobs: JobService,
        channels: Channels,
    ) -> None:
        self._client = client
        self._entries = entries
        self._jobs = jobs
        self._channels = channels

    async def delivered(self, job: Job, interaction: discord.Interaction[Any] | None) -> None:
        outcome = await self._entries.settle(job)
        if outcome is not None:
            await self._tell(outcome, interaction)

    async def started(self) -> None:
        """Videos delivered just before a crash, not entered yet."""
        for job_id in await self._entries.unsettled():
            job = await self._jobs.get(job_id)
            if job is not None:
                await self.delivered(job, None)

    async def _tell(
        self, outcome: VideoEntryOutcome, interaction: discord.Interaction[Any] | None
    ) -> None:
        job = outcome.job
        text = clip(outcome.message, MESSAGE_CHARS)
        if interaction is not None:
            try:
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
                return
            except discord.HTTPException as exc:
                log.info("job %d: contest note by token failed (%s)", job.id, exc.code)
        if not self._channels.writable(job.channel_id):
            return
        kwargs: dict[str, Any] = {"content": text, "allowed_mentions": NO_MENTIONS}
        if job.result_message_id is not None:
            kwargs["reference"] = discord.MessageReference(
                message_id=job.result_message_id,
                channel_id=job.channel_id,
                fail_if_not_exists=False,
            )
        channel = self._client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        try:
            await self._channels.paced(job.channel_id, channel.send(**kwargs))
        except (discord.NotFound, discord.Forbidden) as exc:
            self._channels.refused(job.channel_id, exc)


class ContestEntrySink:
    """A job's sink that also enters the delivered video in its contest, if it has one."""

    def __init__(
        self, inner: JobSink, interactions: Interactions, reporter: VideoEntryReporter
    ) -> None:
        self._inner = inner
        self._interactions = interactions
        self._reporter = reporter

    async def progress(self, job: Job) -> None:
        await self._inner.progress(job)

    async def deliver(self, job: Job, video: Path | None, *, too_large: bool) -> int | None:
        return await self._inner.deliver(job, video, too_large=too_large)

    async def finished(self, job: Job) -> None:
        interaction = self._interactions.live_interaction(job.id)  # before the card forgets it
        await self._inner.finished(job)
        if job.status is JobStatus.DELIVERED:
            await self._reporter.delivered(job, interaction)
