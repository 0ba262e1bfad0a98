"""The contest ticker: started with the job runner, it moves every contest on when its phase
deadline passes, and at start it first finishes what a crash left undone.

At start: the posts a crash cut short (`needing_posts`), then the first tick, which catches up
any deadline that passed while the bot was down. Then one tick every `interval` seconds, so a
phase ends within about that long of its set time. Phase changes are compare-and-set in the
store, so a tick that races a moderator's `/contest close` (or another process) never acts
twice. The handler (the Discord poster) is told of each change and must not block the loop for
long: it queues its posts per contest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from bot.core.contests.domain import Contest, PhaseChange
from bot.core.contests.service import ContestService

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
RECHECK_TICKS = 60  # posts that failed (Discord down, say) are tried again this often


class PhaseHandler(Protocol):
    async def changed(self, change: PhaseChange) -> None:
        """A phase change this process made: post what goes with it."""
        ...

    async def resume(self, contest: Contest) -> None:
        """A contest whose reveal or results posts are unfinished (after a crash, or a post
        that failed): asked at start and now and then; a contest being posted is skipped."""
        ...

    async def started(self) -> None:
        """Once at start, before the first tick (e.g. videos delivered just before a crash)."""
        ...


class ContestTicker:
    def __init__(
        self,
        contests: ContestService,
        handler: PhaseHandler,
        *,
        interval: float = TICK_SECONDS,
        only: Callable[[int], bool] | None = None,
    ) -> None:
        """`only`: the servers whose contests this process moves and posts (its shards'),
        so that two processes never post one contest's reveal twice; None: all."""
        self._contests = contests
        self._handler = handler
        self._interval = interval
        self._only = only
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="contest-ticker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        await self._resume()
        try:
            await self._handler.started()
        except Exception:
            log.exception("contest start-up work failed; the next start tries again")
        ticks = 0
        while True:
            await self.tick()
            await asyncio.sleep(self._interval)
            ticks += 1
            if ticks % RECHECK_TICKS == 0:
                await self._resume()

    async def _resume(self) -> None:
        try:
            for contest in await self._contests.needing_posts():
                if self._only is None or self._only(contest.guild_id):
                    await self._handler.resume(contest)
        except Exception:
            log.exception("resuming contest posts failed; tried again later")

    async def tick(self) -> int:
        """One round: advance every due contest and hand each change over; returns how many."""
        try:
            changes = await self._contests.tick(self._only)
        except Exception:
            log.exception("contest tick failed")
            return 0
        for change in changes:
            try:
                await self._handler.changed(change)
            except Exception:
                log.exception("contest %d: handling %s failed", change.contest.id, change.kind)
        return len(changes)
