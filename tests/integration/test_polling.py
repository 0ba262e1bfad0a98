"""The adaptive poller against the real sandbox over HTTP, with real sqlite files: fewer looks
than the fixed poller for the same jobs, a 429 that holds every look back, a cancel still seen
at once, and the fixed poller still on its cadence."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from bot.core.jobs import JobService
from bot.runcomfy import RunComfyClient
from bot.sandbox import Sandbox
from bot.services import Services, build_services
from db.database import Database
from db.jobs import JobRepo
from tests.conftest import make_settings
from tests.integration.test_jobs_flow import RecordingSink, accept

LOOKS = ("status", "result")


@contextlib.asynccontextmanager
async def services_with(
    tmp_path: Path, sandbox: Sandbox, db: Database, **settings: Any
) -> AsyncIterator[Services]:
    async with aiohttp.ClientSession() as session:
        services = build_services(make_settings(tmp_path, sandbox.url, **settings), session, db)
        try:
            yield services
        finally:
            await services.jobs.shutdown(grace=1.0)


def looks_at(sandbox: Sandbox, request_id: str | None) -> list[float]:
    return [e.at for e in sandbox.state.log if e.route in LOOKS and e.request_id == request_id]


async def deliver_three_in_turn(services: Services, sandbox: Sandbox) -> list[int]:
    """Two jobs that teach the poller how long such a job runs, then a third; the looks at
    each (status and result requests), in order."""
    looks = []
    for user in (7, 8, 9):
        job = await accept(services, user_id=user)
        sink = RecordingSink()
        await services.jobs.run(job, sink)
        assert sink.finals[-1].status == "delivered"
        fresh = await JobRepo(services.db).get(job.id)
        assert fresh is not None
        looks.append(len(looks_at(sandbox, fresh.request_id)))
    return looks


async def test_a_job_is_delivered_with_far_fewer_looks_than_the_fixed_poller_makes(
    tmp_path: Path, sandbox: Sandbox, db: Database
):
    sandbox.config.queue_seconds, sandbox.config.run_seconds = 0.5, 4.0
    tuning = {"poll_interval": 0.25, "poll_floor": 0.25}
    async with services_with(tmp_path / "fixed", sandbox, db, poller="fixed", **tuning) as fixed:
        fixed_looks = await deliver_three_in_turn(fixed, sandbox)
    async with services_with(tmp_path / "adaptive", sandbox, db, **tuning) as adaptive:
        adaptive_looks = await deliver_three_in_turn(adaptive, sandbox)
    # The fixed poller looks every 0.25 s of a 4.5 s life; the adaptive one, once it has seen
    # two such jobs, looks when the job should have started and when it should be done.
    assert min(fixed_looks) >= 15
    assert adaptive_looks[-1] * 3 <= fixed_looks[-1]
    assert adaptive_looks[-1] <= 6


async def test_a_rate_limit_holds_every_look_back_for_its_retry_after(
    tmp_path: Path, sandbox: Sandbox, db: Database
):
    sandbox.config.queue_seconds, sandbox.config.run_seconds = 0.2, 3.0
    async with aiohttp.ClientSession() as session:
        # One attempt per request: the 429 reaches the poller as it is (the shipped client
        # first retries it itself, honouring Retry-After the same way).
        client = RunComfyClient(
            session, base_url=sandbox.url, token=make_settings(tmp_path, "").runcomfy_api_token,
            max_attempts=1,
        )  # fmt: skip
        base = build_services(make_settings(tmp_path, sandbox.url), session, db)
        jobs = JobService(
            JobRepo(db), base.quotas, client, video_dir=tmp_path / "videos",
            poll_floor=0.25, max_rps=0,
        )  # fmt: skip
        services = Services(**{**base.__dict__, "jobs": jobs})
        sinks = [RecordingSink() for _ in range(3)]
        for user, sink in zip((7, 8, 9), sinks, strict=True):
            jobs.start(await accept(services, user_id=user), sink)
        await until(lambda: sandbox.state.count("result") >= 3)
        sandbox.state.add_fault("result", status=429, retry_after=2.0, times=1)
        await until(lambda: any(e.status == 429 for e in sandbox.state.log))
        await jobs.wait_idle()
    limited = next(e for e in sandbox.state.log if e.status == 429)
    after = [e.at - limited.at for e in sandbox.state.log if e.route in LOOKS and e.at > limited.at]
    # Nobody looked during the Retry-After (but for looks already on their way), then all did.
    assert after and all(wait < 0.05 or wait >= 2.0 for wait in after)
    assert all(sink.finals[-1].status == "delivered" for sink in sinks)


async def test_a_cancel_is_seen_at_once_without_asking_runcomfy_again(
    services: Services, sandbox: Sandbox
):
    sandbox.config.paused = True
    job = await accept(services)
    sink = RecordingSink()
    services.jobs.start(job, sink)
    await until(lambda: sandbox.state.count("result") >= 3)  # queued, and looked at a while
    looks_before = sandbox.state.count("result") + sandbox.state.count("status")
    started = time.monotonic()
    result = await services.jobs.cancel(job.id, actor_id=7, guild_id=1, moderator=False)
    assert result.cancelled
    await until(lambda: sink.finals)
    assert time.monotonic() - started < 0.5  # not at the next planned look, seconds away
    assert sink.finals[-1].status == "cancelled"
    assert sandbox.state.count("result") + sandbox.state.count("status") == looks_before
    await services.jobs.wait_idle()


async def test_the_fixed_poller_keeps_its_cadence(tmp_path: Path, sandbox: Sandbox, db: Database):
    sandbox.config.queue_seconds, sandbox.config.run_seconds = 0.3, 2.0
    settings = {"poller": "fixed", "poll_interval": 0.5, "poll_floor": 0.25}
    async with services_with(tmp_path, sandbox, db, **settings) as fixed:
        job = await accept(fixed)
        sink = RecordingSink()
        await fixed.jobs.run(job, sink)
        fresh = await JobRepo(fixed.db).get(job.id)
    assert sink.finals[-1].status == "delivered" and fresh is not None
    times = looks_at(sandbox, fresh.request_id)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) >= 4 and all(0.4 <= gap <= 0.8 for gap in gaps)


async def until(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("never got there")
        await asyncio.sleep(0.01)
