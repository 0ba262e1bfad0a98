"""Keep each job's public card current without tripping Discord's rate limits, and deliver.

- Coalescing: each job keeps only its latest state; a card is edited at most every `interval`
  seconds (the final state goes out at once) and only when what it shows changed.
- Token expiry: while the interaction token is comfortably valid, edits go through it (its own
  rate-limit bucket); before it expires they switch to bot-token channel edits, which share the
  channel's bucket, so those go through a per-channel and a global budget (`pacing.Pacer`).
- Old or vanished cards: a card older than about an hour (edits refused, 30046) or deleted is
  replaced by a fresh one; a result whose channel is gone goes to the author by DM.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import discord

from bot.core.catalog import Catalog
from bot.core.domain import CANCELLABLE_STATUSES, Job, JobStatus
from bot.core.jobs import JobService, Undeliverable
from bot.core.telemetry import NullTelemetry, Telemetry
from bot.ui.again import AgainButton
from bot.ui.buttons import job_view
from bot.ui.cards import render, result_text, stage_of
from bot.ui.pacing import Pacer

log = logging.getLogger(__name__)
T = TypeVar("T")

TOKEN_MARGIN = 120.0  # stop using an interaction token this long before it expires
UNWRITABLE_FOR = 600.0  # a channel that answered 403 / unknown channel is left alone this long
UNKNOWN_CHANNEL = 10003
CARD_MAX_AGE = 50 * 60.0  # Discord refuses edits to messages older than about an hour
NO_MENTIONS = discord.AllowedMentions.none()


@dataclass
class _Card:
    latest: Job | None = None
    urgent: bool = False
    stage: str | None = None  # the stage last asked for; a new one is shown at once
    shown: Any = None  # what the card shows now; an edit is skipped when nothing changed
    last_edit: float = 0.0
    interaction: discord.Interaction[Any] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    worker: asyncio.Task[None] | None = None


class CardUpdater:
    def __init__(
        self,
        client: discord.Client,
        jobs: JobService,
        catalog: Catalog,
        *,
        interval: float,
        pacer: Pacer | None = None,
    ) -> None:
        self._client = client
        self._jobs = jobs
        self._catalog = catalog
        self._interval = interval
        self._pacer = pacer or Pacer()
        self._cards: dict[int, _Card] = {}
        # Channels that refused the bot (removed from the server, access taken away): writing
        # again only collects 403s, which count toward Discord's invalid-request limit.
        self._unwritable: dict[int, float] = {}

    def tracked(self) -> dict[str, int]:
        """Sizes of what is kept per card and channel (the metrics' leak watch)."""
        return {"cards": len(self._cards), "unwritable_channels": len(self._unwritable)}

    def writable(self, channel_id: int) -> bool:
        until = self._unwritable.get(channel_id)
        if until is None or until < time.monotonic():
            self._unwritable.pop(channel_id, None)
            return True
        return False

    def refused(self, channel_id: int, exc: discord.HTTPException) -> None:
        log.info("channel %d refused the bot (%s); leaving it alone", channel_id, exc.code)
        self._unwritable[channel_id] = time.monotonic() + UNWRITABLE_FOR

    def left(self, channel_ids: Iterable[int]) -> None:
        """The bot left their server: no writes there until it is invited back."""
        for channel_id in channel_ids:
            self._unwritable[channel_id] = math.inf

    def rejoined(self, channel_ids: Iterable[int]) -> None:
        for channel_id in channel_ids:
            self._unwritable.pop(channel_id, None)

    def attach(self, job: Job, interaction: discord.Interaction[Any], shown: Any) -> None:
        """Remember the interaction whose response is this job's card, and what it shows."""
        card = self._cards.setdefault(job.id, _Card())
        card.interaction = interaction
        card.shown = shown
        card.stage = stage_of(job)
        card.last_edit = time.monotonic()

    def push(self, job: Job, *, urgent: bool = False) -> asyncio.Task[None]:
        """Ask for the card to show `job`; newer states replace older unsent ones. A new stage
        goes out at once; details of the same stage (queue position, progress) are paced."""
        card = self._cards.setdefault(job.id, _Card())
        card.latest = job
        card.urgent = card.urgent or urgent or stage_of(job) != card.stage
        card.stage = stage_of(job)
        card.wake.set()
        if card.worker is None or card.worker.done():
            card.worker = asyncio.create_task(self._work(job.id, card), name=f"card-{job.id}")
        return card.worker

    def live_interaction(self, job_id: int) -> discord.Interaction[Any] | None:
        """The job's interaction while its token is comfortably valid, else None."""
        card = self._cards.get(job_id)
        if card is None or card.interaction is None or not _token_ok(card.interaction):
            return None
        return card.interaction

    async def settle(self, job: Job) -> None:
        """Show the final state now and forget the job."""
        await self.push(job, urgent=True)
        self._cards.pop(job.id, None)

    async def _work(self, job_id: int, card: _Card) -> None:
        while card.latest is not None:
            wait = card.last_edit + self._interval - time.monotonic()
            if wait > 0 and not card.urgent:
                card.wake.clear()
                try:
                    await asyncio.wait_for(card.wake.wait(), wait)
                    continue  # a newer or urgent state arrived: re-check
                except TimeoutError:
                    pass
            job, card.latest, card.urgent = card.latest, None, False
            try:
                await self._show(job, card)
            except Exception:
                log.exception("job %d: card update failed", job_id)
            card.last_edit = time.monotonic()
            if await self._progressing(job, card):
                card.latest = job  # the progress bar moves by itself: look again, paced

    async def _progressing(self, job: Job, card: _Card) -> bool:
        """A generating job with an expected end shows a bar that moves with time."""
        if job.status is not JobStatus.RUNNING or card.latest is not None:
            return False
        return await self._jobs.expected_at(job) is not None

    def options(self, job: Job) -> str:
        """The card's line of options; the model is named unless it is the default one."""
        spec = self._catalog.by_path(job.model_path)
        if spec is None:  # a model removed since the job was made
            return job.model_path
        summary = spec.summary(job.params)
        if spec is self._catalog.default:
            return summary
        return f"{spec.display_name} · {summary}" if summary else spec.display_name

    async def render(self, job: Job) -> tuple[discord.Embed, discord.ui.View | None]:
        expected = await self._jobs.expected_at(job)
        speed = self._jobs.queue_speed() if job.status is JobStatus.QUEUED else None
        eta = int(expected) if expected else None
        embed = render(job, self.options(job), eta, time.time(), speed)
        return embed, job_view(job.id, job.status in CANCELLABLE_STATUSES)

    async def _show(self, job: Job, card: _Card) -> None:
        embed, view = await self.render(job)
        shown = (embed.to_dict(), view is not None)
        if shown == card.shown:
            return
        if job.card_message_id is None:
            await self._fresh_card(job, embed, view)
        elif card.interaction is not None and _token_ok(card.interaction):
            try:
                await card.interaction.edit_original_response(embed=embed, view=view)
            except discord.HTTPException as exc:
                log.info("job %d: token edit failed (%s); using the channel", job.id, exc.code)
                card.interaction = None
                await self._channel_edit(job, embed, view)
        elif self.writable(job.channel_id):
            card.interaction = None
            await self._channel_edit(job, embed, view)
        else:
            return  # the result goes by DM; nothing to show here
        card.shown = shown

    async def _channel_edit(
        self, job: Job, embed: discord.Embed, view: discord.ui.View | None
    ) -> None:
        assert job.card_message_id is not None
        age = time.time() - discord.utils.snowflake_time(job.card_message_id).timestamp()
        if age > CARD_MAX_AGE and job.is_open:
            await self._fresh_card(job, embed, view)
            return  # a closed job's final state is still tried on the old card below
        message = self._client.get_partial_messageable(job.channel_id).get_partial_message(
            job.card_message_id
        )
        try:
            await self.paced(job.channel_id, message.edit(embed=embed, view=view))
        except discord.HTTPException as exc:
            if _channel_gone(exc):
                self.refused(job.channel_id, exc)
            elif isinstance(exc, discord.NotFound) or exc.code == 30046:
                await self._fresh_card(job, embed, view)  # deleted, or too old to edit
            else:
                raise

    async def _fresh_card(
        self, job: Job, embed: discord.Embed, view: discord.ui.View | None
    ) -> None:
        if not job.is_open or not self.writable(job.channel_id):
            return  # the result message already tells the story; no new card for a closed job
        channel = self._client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        kwargs: dict[str, Any] = {"embed": embed, "allowed_mentions": NO_MENTIONS}
        if view is not None:
            kwargs["view"] = view
        try:
            message = await self.paced(job.channel_id, channel.send(**kwargs))
        except (discord.NotFound, discord.Forbidden) as exc:
            self.refused(job.channel_id, exc)  # the result will go by DM
            return
        await self._jobs.answered(job, message.id)

    async def paced(self, channel_id: int, call: Coroutine[Any, Any, T]) -> T:
        """A bot-token write, once the channel's and the global budget allow it."""
        try:
            await self._pacer.wait(channel_id)
        except asyncio.CancelledError:
            call.close()  # cut off while waiting for the budget (a shutdown): never sent
            raise
        return await call


def _channel_gone(exc: discord.HTTPException) -> bool:
    """The bot cannot write to the channel at all (not: one message is gone)."""
    return isinstance(exc, discord.Forbidden) or exc.code == UNKNOWN_CHANNEL


def _token_ok(interaction: discord.Interaction[Any]) -> bool:
    return interaction.expires_at.timestamp() - time.time() > TOKEN_MARGIN


class DiscordSink:
    """The JobSink for one job: progress to its card, the result to its channel (or a DM)."""

    def __init__(
        self, client: discord.Client, updater: CardUpdater, telemetry: Telemetry | None = None
    ) -> None:
        self._client = client
        self._updater = updater
        self._telemetry = telemetry or NullTelemetry()

    async def progress(self, job: Job) -> None:
        self._updater.push(job)

    async def finished(self, job: Job) -> None:
        await self._updater.settle(job)

    async def deliver(self, job: Job, video: Path | None, *, too_large: bool) -> int | None:
        interaction = self._updater.live_interaction(job.id)
        if interaction is not None:
            # A followup rides the interaction's own rate-limit bucket, outside the channel's
            # and the global one, so many results finishing together go out at once.
            try:
                sent = await interaction.followup.send(
                    wait=True, **_result_message(job, video, too_large)
                )
                self._telemetry.delivered("attachment" if video is not None else "link")
                return sent.id
            except discord.HTTPException as exc:
                log.info("job %d: followup failed (%s); posting in the channel", job.id, exc.code)
        if not self._updater.writable(job.channel_id):
            return await self._by_dm(job, video, too_large)
        channel = self._client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        reference = None
        if job.card_message_id is not None:
            reference = discord.MessageReference(
                message_id=job.card_message_id, channel_id=job.channel_id, fail_if_not_exists=False
            )
        try:
            message = await self._send_fitting(channel, job, video, too_large, reference)
        except (discord.NotFound, discord.Forbidden) as exc:
            self._updater.refused(job.channel_id, exc)
            return await self._by_dm(job, video, too_large)
        return message.id

    async def _by_dm(self, job: Job, video: Path | None, too_large: bool) -> int:
        """The channel is gone or closed to the bot: send the result to its author, once."""
        log.info("job %d: sending the result by DM", job.id)
        try:
            dm = await self._client.create_dm(discord.Object(job.user_id))
            message = await self._send_fitting(dm, job, video, too_large, None)
        except discord.Forbidden as exc:
            raise Undeliverable(f"DM refused ({exc.code})") from None  # DMs closed: final
        return message.id

    async def _send_fitting(
        self,
        channel: discord.abc.Messageable,
        job: Job,
        video: Path | None,
        too_large: bool,
        reference: discord.MessageReference | None,
    ) -> discord.Message:
        """The file, or its link when Discord says it is too large there (413: a DM allows
        less than a boosted server)."""
        try:
            return await self._send(channel, job, video, too_large, reference)
        except discord.HTTPException as exc:
            if exc.status != 413 or video is None:
                raise
            return await self._send(channel, job, None, True, reference)

    async def _send(
        self,
        channel: discord.abc.Messageable,
        job: Job,
        video: Path | None,
        too_large: bool,
        reference: discord.MessageReference | None,
    ) -> discord.Message:
        in_dm = isinstance(channel, discord.DMChannel)  # Again works in the server only
        kwargs = _result_message(job, video, too_large, again=not in_dm)
        if reference is not None:
            kwargs["reference"] = reference
        channel_id = getattr(channel, "id", job.channel_id)
        message: discord.Message = await self._updater.paced(channel_id, channel.send(**kwargs))
        self._telemetry.delivered("dm" if in_dm else "attachment" if video is not None else "link")
        return message


def _result_message(
    job: Job, video: Path | None, too_large: bool, *, again: bool = True
) -> dict[str, Any]:
    """The result message: the file (a fresh File each time: one can be sent only once) or the
    link, pinging the author and nobody else, with the Again button."""
    kwargs: dict[str, Any] = {
        "content": result_text(job, linked=video is None, too_large=too_large),
        "allowed_mentions": discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(job.user_id)]
        ),
    }
    if video is not None:
        kwargs["file"] = discord.File(video, filename=f"video-{job.id}.mp4")
    if again:
        view = discord.ui.View(timeout=None)
        view.add_item(AgainButton(job.id))
        kwargs["view"] = view
    return kwargs
