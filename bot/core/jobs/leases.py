"""Keeping this process's leases on the jobs it runs, and taking over the jobs of a process
that stopped renewing its own (issue 13). One loop, every third of the lease time: renew what
this process holds, stop running what another process has claimed meanwhile, claim what is
free. On one process with sqlite it finds nothing to take and nothing lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from bot.core.domain import Job
from bot.core.jobs.context import JobSink
from bot.core.jobs.runner import Runner
from bot.core.ports import JobStore

log = logging.getLogger(__name__)


class LeaseKeeper:
    def __init__(
        self,
        store: JobStore,
        runner: Runner,
        *,
        lease_seconds: float,
        busy: Callable[[], set[int]] = set,
    ) -> None:
        """`busy`: jobs with a step in flight, renewed too (after a stop, the runner runs
        nothing, but a submit or an upload that outlived the grace still writes its end)."""
        self._store = store
        self._runner = runner
        self._busy = busy
        self.interval = lease_seconds / 3  # two renewals may fail before a lease runs out
        self.claiming = True  # False once stopping: renew, take nothing new
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Future[None] | None = None

    def start(self, sink_for: Callable[[Job], JobSink]) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(sink_for), name="lease-keeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def stop_after(self, steps: list[asyncio.Future[Any]]) -> None:
        """Stop once these steps have ended (renewing their leases until then)."""
        self.claiming = False
        self._stopping = asyncio.ensure_future(self._stop_after(steps))

    async def _stop_after(self, steps: list[asyncio.Future[Any]]) -> None:
        if steps:
            await asyncio.wait(steps)
        await self.stop()

    async def tick(self, sink_for: Callable[[Job], JobSink], *, claim: bool = True) -> None:
        # What runs here is read before the renewal: a job accepted after that is this
        # process's and is not mistaken for lost.
        running = self._runner.running()
        held = await self._store.renew(running | self._busy())
        for job_id in running - held:
            job = await self._store.get(job_id)
            if job is not None and job.is_open:
                self._runner.drop(job_id)  # open and not ours: another process claimed it
        if claim and self.claiming:
            await self._runner.take_over(sink_for)

    async def _loop(self, sink_for: Callable[[Job], JobSink]) -> None:
        recovering = False
        while True:
            await asyncio.sleep(self.interval)
            try:
                # Back from a database outage, every lease has run out, and the other
                # processes renew theirs on their first tick: take nothing before they did.
                await self.tick(sink_for, claim=not recovering)
            except Exception:  # the database away for a moment: the next tick tries again
                log.exception("lease renewal failed")
                recovering = True
            else:
                recovering = False
