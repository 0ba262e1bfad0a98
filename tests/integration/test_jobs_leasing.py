"""The job service with leases (issue 13), in one process on sqlite: a submit or an upload that
outlives the stop's grace still writes its outcome (the stop gives no lease away from under
it), and a job this process gave up on while the database was away is taken up again once
its lease has run out, rather than held by a live process that no longer runs it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.core.domain import JobStatus
from bot.sandbox import Sandbox
from bot.services import Services
from db.database import Database
from tests.integration.test_jobs_flow import RecordingSink, accept
from tests.integration.test_jobs_hardening import SlowSink, _until, quick_runner


async def test_an_upload_that_outlives_the_grace_is_still_committed(
    services: Services, sandbox: Sandbox
):
    job = await accept(services)
    sink = SlowSink()
    services.jobs.start(job, sink)
    await asyncio.wait_for(sink.started.wait(), 10)
    await services.jobs.shutdown(grace=0.05)
    sink.go_on.set()
    await _until(lambda: sink.delivered)
    await _until(lambda: not services.jobs.busy_jobs())
    row = await services.jobs.get(job.id)
    assert row is not None and row.status is JobStatus.DELIVERED


async def test_a_submit_answered_after_the_grace_keeps_its_request_id(
    services: Services, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
):
    provider = services.runcomfy
    real = provider.submit
    answered = asyncio.Event()

    async def slow_submit(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.5)  # the answer comes after the stop's grace
        try:
            return await real(*args, **kwargs)
        finally:
            answered.set()

    monkeypatch.setattr(provider, "submit", slow_submit)
    job = await accept(services)
    services.jobs.start(job, RecordingSink())
    await _until(lambda: services.jobs.busy_jobs() == {job.id})
    await services.jobs.shutdown(grace=0.05)
    await answered.wait()
    await _until(lambda: not services.jobs.busy_jobs())
    row = await services.jobs.get(job.id)
    assert row is not None and row.status is JobStatus.QUEUED and row.request_id is not None
    assert sandbox.state.count("cancel") == 0  # not mistaken for a lost lease


async def test_a_job_given_up_while_the_database_was_away_is_taken_up_again(
    services: Services, sandbox: Sandbox, db: Database, caplog: pytest.LogCaptureFixture
):
    sandbox.config.queue_seconds = 60
    jobs = quick_runner(services)
    job = await accept(services)
    jobs.start(job, RecordingSink())
    await _until(lambda: job.id in jobs.poller)
    store: Any = jobs._ctx.store  # the store the runner reads through
    real_get = store.get

    async def away(job_id: int) -> None:
        raise ConnectionError("database away")

    store.get = away  # every look crashes, and so does closing the job
    await _until(lambda: "could not be closed" in caplog.text)
    store.get = real_get
    await _until(lambda: not jobs.runner.running())
    sink_for = lambda j: RecordingSink()  # noqa: E731
    await jobs.leases.tick(sink_for)
    assert not jobs.runner.running()  # not renewed: nothing runs it here
    await db.execute("UPDATE jobs SET lease_until = 0 WHERE id = ?", (job.id,))  # runs out
    sandbox.config.queue_seconds = 0.1
    await jobs.leases.tick(sink_for)
    assert jobs.runner.running() == {job.id}  # taken up again, here
    await asyncio.wait_for(jobs.wait_idle(), 30)
    row = await jobs.get(job.id)
    assert row is not None and row.status is JobStatus.DELIVERED
