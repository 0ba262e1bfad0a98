"""Everything a contest posts in its channel, with the bot token: the card's edits, the reveal,
the results, the end of a cancelled contest. The contest ticker hands it each phase change.

- Resumable: every post's message id is stored as soon as it exists (`set_*_message`), and a
  post is only made while its id is missing, so a crash mid-reveal continues where it stopped
  (`resume`, asked by the ticker at start and now and then).
- Paced: every write goes through the card updater's per-channel and global budget, so a reveal
  of 30 entries goes out back to back as fast as the channel allows, sharing the channel fairly
  with job cards; a channel that refused the bot is left alone for a while.
- One contest at a time: the work of one contest runs in order (a reveal before its results),
  different contests in parallel. The public vote count on the card is refreshed at most every
  `count_interval` seconds (latest count wins).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar

import discord

from bot.core.contests import ChangeKind, Contest, ContestService, Entry, Phase, PhaseChange
from bot.ui.contest_buttons import vote_view
from bot.ui.contest_cards import (
    NO_MENTIONS,
    announcement,
    cancelled,
    entry_content,
    results_message,
    voting_open,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
EDIT_TOO_OLD = 30046


class Channels(Protocol):
    """The card updater, as far as contest posts need it: its write budget and its memory of
    channels that refused the bot."""

    def writable(self, channel_id: int) -> bool: ...
    def refused(self, channel_id: int, exc: discord.HTTPException) -> None: ...
    async def paced(self, channel_id: int, call: Coroutine[Any, Any, T]) -> T: ...


class StartHook(Protocol):
    async def started(self) -> None: ...


class ContestPoster:
    def __init__(
        self,
        client: discord.Client,
        contests: ContestService,
        channels: Channels,
        *,
        count_interval: float,
        on_start: StartHook | None = None,
    ) -> None:
        self._client = client
        self._contests = contests
        self._channels = channels
        self._count_interval = count_interval
        self._on_start = on_start
        self._chains: dict[int, asyncio.Task[None]] = {}
        self._count_pending: set[int] = set()
        self._timers: set[asyncio.Task[None]] = set()

    # --- what the ticker and the cog call -------------------------------------------------

    async def changed(self, change: PhaseChange) -> None:
        contest = change.contest
        if change.kind is ChangeKind.VOTING_OPENED:
            self._queue(contest.id, lambda: self._reveal(contest))
        else:  # NO_ENTRIES and RESULTS: the results post says which
            self._queue(contest.id, lambda: self._results(contest))

    async def announce(self, contest: Contest) -> discord.Message | None:
        """The announcement card of a new contest; None if the channel refused the bot."""
        sent = await self._send(contest, embed=announcement(contest))
        if sent is not None:
            await self._contests.set_announcement(contest, sent.id)
        return sent

    async def resume(self, contest: Contest) -> None:
        if contest.id in self._chains:
            return  # being posted right now
        if contest.phase is Phase.VOTING:
            self._queue(contest.id, lambda: self._reveal(contest))
        elif contest.phase is Phase.CLOSED:
            self._queue(contest.id, lambda: self._results(contest))

    async def started(self) -> None:
        if self._on_start is not None:
            await self._on_start.started()

    def votes_changed(self, contest: Contest) -> None:
        """A vote was cast or taken back: the card's count, soon (presses coalesce)."""
        if contest.id in self._count_pending:
            return
        self._count_pending.add(contest.id)

        async def later() -> None:
            await asyncio.sleep(self._count_interval)
            self._count_pending.discard(contest.id)
            self._queue(contest.id, lambda: self._edit_card(contest))

        task = asyncio.create_task(later(), name=f"contest-{contest.id}-count")
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    def was_cancelled(self, contest: Contest) -> None:
        self._queue(contest.id, lambda: self._cancelled(contest))

    def was_disqualified(self, contest: Contest, entry: Entry) -> None:
        self._queue(contest.id, lambda: self._disqualified(contest, entry))

    def card_changed(self, contest: Contest) -> None:
        self._queue(contest.id, lambda: self._edit_card(contest))

    async def wait_idle(self) -> None:
        while self._chains:
            await asyncio.gather(*self._chains.values(), return_exceptions=True)

    async def stop(self) -> None:
        """At shutdown: what is cut off here is posted at the next start (ids are stored)."""
        tasks = [*self._chains.values(), *self._timers]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- the order of one contest's work --------------------------------------------------

    def _queue(self, contest_id: int, work: Callable[[], Awaitable[None]]) -> None:
        previous = self._chains.get(contest_id)

        async def run() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            try:
                await work()
            except Exception:
                log.exception("contest %d: posting failed; tried again later", contest_id)

        task = asyncio.create_task(run(), name=f"contest-{contest_id}")
        self._chains[contest_id] = task

        def ended(done: asyncio.Task[None]) -> None:
            if self._chains.get(contest_id) is done:
                del self._chains[contest_id]

        task.add_done_callback(ended)

    # --- the posts ------------------------------------------------------------------------

    async def _reveal(self, contest: Contest) -> None:
        """ "Voting is open", then every entry back to back in its shown order."""
        contest = await self._contests.refresh(contest)
        if contest.phase is not Phase.VOTING:
            if contest.phase is Phase.CLOSED:
                await self._results(contest)
            return
        entries = await self._contests.entries(contest)
        if contest.voting_message_id is None:
            sent = await self._send(contest, content=voting_open(contest, len(entries)), reply=True)
            if sent is None:
                return
            await self._contests.set_voting_message(contest, sent.id)
        for entry in entries:
            if entry.message_id is not None:
                continue
            sent = await self._send(
                contest, content=entry_content(contest, entry), view=vote_view(entry.id)
            )
            if sent is None:
                return
            await self._contests.set_entry_message(entry, sent.id)
        log.info("contest %d: %d entries revealed", contest.id, len(entries))
        await self._edit_card(contest)

    async def _results(self, contest: Contest) -> None:
        contest = await self._contests.refresh(contest)
        if contest.phase is not Phase.CLOSED or contest.results_message_id is not None:
            return
        results = await self._contests.results(contest)
        content, mentions = results_message(results)
        sent = await self._send(contest, content=content, allowed_mentions=mentions, reply=True)
        if sent is None:
            return
        await self._contests.set_results_message(contest, sent.id)
        log.info("contest %d: results posted", contest.id)
        await self._edit_card(contest)
        await self._strip_buttons(contest)

    async def _cancelled(self, contest: Contest) -> None:
        contest = await self._contests.refresh(contest)
        await self._edit_card(contest)
        await self._send(contest, content=cancelled(contest), reply=True)
        await self._strip_buttons(contest)

    async def _disqualified(self, contest: Contest, entry: Entry) -> None:
        if entry.message_id is not None:
            await self._edit(
                contest, entry.message_id, content=entry_content(contest, entry), view=None
            )
        await self._edit_card(contest)

    async def _strip_buttons(self, contest: Contest) -> None:
        """The reveal posts lose their Vote buttons once votes no longer count."""
        for entry in await self._contests.entries(contest, live_only=False):
            if entry.message_id is not None and not entry.disqualified:
                await self._edit(contest, entry.message_id, view=None)

    async def _edit_card(self, contest: Contest) -> None:
        contest = await self._contests.refresh(contest)
        if contest.announcement_message_id is not None:
            await self._edit(contest, contest.announcement_message_id, embed=announcement(contest))

    # --- writing --------------------------------------------------------------------------

    async def _send(
        self, contest: Contest, *, reply: bool = False, **kwargs: Any
    ) -> discord.Message | None:
        """A new message in the contest channel; None if the channel refused the bot."""
        channel_id = contest.channel_id
        if not self._channels.writable(channel_id):
            return None
        kwargs.setdefault("allowed_mentions", NO_MENTIONS)
        if reply and contest.announcement_message_id is not None:
            kwargs["reference"] = discord.MessageReference(
                message_id=contest.announcement_message_id,
                channel_id=channel_id,
                fail_if_not_exists=False,
            )
        channel = self._client.get_partial_messageable(channel_id, guild_id=contest.guild_id)
        try:
            sending = channel.send(**kwargs)
            message: discord.Message = await self._channels.paced(channel_id, sending)
        except (discord.NotFound, discord.Forbidden) as exc:
            self._channels.refused(channel_id, exc)
            return None
        return message

    async def _edit(self, contest: Contest, message_id: int, **kwargs: Any) -> None:
        """Edit one of the contest's messages; one that is gone or too old is left as it is
        (the posts that follow tell the story)."""
        channel_id = contest.channel_id
        if not self._channels.writable(channel_id):
            return
        message = self._client.get_partial_messageable(
            channel_id, guild_id=contest.guild_id
        ).get_partial_message(message_id)
        try:
            await self._channels.paced(channel_id, message.edit(**kwargs))
        except discord.Forbidden as exc:
            self._channels.refused(channel_id, exc)
        except discord.HTTPException as exc:
            if not isinstance(exc, discord.NotFound) and exc.code != EDIT_TOO_OLD:
                raise
            log.info("contest %d: message %d not edited (%s)", contest.id, message_id, exc.code)
