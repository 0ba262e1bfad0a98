"""The job service when things other than RunComfy go wrong: a crashed runner, a shutdown in
the middle of an upload, a double cancel, a job of another server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.core.domain import Job
from bot.core.errors import JobNotFound
from bot.core.jobs import CRASHED, LOST_SUBMIT, JobService
from bot.sandbox import Sandbox
from bot.services import Services
from db.jobs import JobRepo
from tests.integration.test_jobs_flow import RecordingSink, accept, used


def quick_runner(services: Services) -> JobService:
    """The same service, retrying a crashed runner without waiting seconds between tries."""
    jobs = services.jobs
    jobs.runner.backoff = 0.01
    return jobs


async def test_a_runner_crash_is_retried_then_failed_with_a_refund(
    services: Services, sandbox: Sandbox
):
    jobs = quick_runner(services)
    video_dir = services.settings.database_path.parent / "videos"
    video_dir.write_text("a file where the videos folder should be")  # like a full disk
    job = await accept(services)
    sink = RecordingSink()
    jobs.start(job, sink)
    await jobs.wait_idle()
    final = sink.finals[-1]
    assert final.status == "failed" and final.error == CRASHED
    assert await used(services) == 0
    assert sandbox.state.count("submit") == 1  # retries carried on from the row, never resent


async def test_a_runner_crash_that_clears_up_delivers(
    services: Services, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
):
    jobs = quick_runner(services)
    jobs.runner.backoff = 0.2
    video_dir = services.settings.database_path.parent / "videos"
    video_dir.write_text("in the way")
    job = await accept(services)
    sink = RecordingSink()
    jobs.start(job, sink)
    await _until(lambda: "runner crashed (attempt 1)" in caplog.text)
    video_dir.unlink()  # the operator freed the disk
    await jobs.wait_idle()
    assert sink.finals[-1].status == "delivered" and len(sink.delivered) == 1


class SlowSink(RecordingSink):
    """Reads the video only after the runner has been told to stop, like a slow upload."""

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.go_on = asyncio.Event()

    async def deliver(self, job: Job, video: Path | None, *, too_large: bool) -> int | None:
        self.started.set()
        await self.go_on.wait()
        return await super().deliver(job, video, too_large=too_large)


async def test_a_shutdown_during_an_upload_leaves_the_file_until_the_upload_ends(
    services: Services, sandbox: Sandbox
):
    job = await accept(services)
    sink = SlowSink()
    services.jobs.start(job, sink)
    await asyncio.wait_for(sink.started.wait(), 10)
    await services.jobs.shutdown(grace=0.05)  # stops waiting before the upload is done
    sink.go_on.set()
    await _until(lambda: sink.delivered)
    [(job_id, video)] = sink.delivered
    assert job_id == job.id and video is not None and video[4:8] == b"ftyp"
    await _until(lambda: not list(services.settings.database_path.parent.glob("videos/*.mp4")))
    assert list((services.settings.database_path.parent / "videos").glob("*.mp4")) == []


async def test_a_job_of_another_server_is_unknown_to_cancel(services: Services, sandbox: Sandbox):
    sandbox.config.paused = True
    job = await accept(services)  # in guild 1
    with pytest.raises(JobNotFound):
        await services.jobs.cancel(job.id, actor_id=7, guild_id=2, moderator=True)
    fresh = await JobRepo(services.db).get(job.id)
    assert fresh is not None and fresh.status == "accepted"


async def test_two_cancels_at_once_cancel_once(services: Services, sandbox: Sandbox):
    sandbox.config.paused = True
    job = await accept(services)
    sink = RecordingSink()
    services.jobs.start(job, sink)
    await asyncio.wait_for(_until(lambda: sandbox.state.count("submit") == 1), 10)
    await asyncio.wait_for(_queued(services, job), 10)
    first, second = await asyncio.gather(
        services.jobs.cancel(job.id, actor_id=99, guild_id=1, moderator=True, reason="spam"),
        services.jobs.cancel(job.id, actor_id=99, guild_id=1, moderator=True, reason="spam"),
    )
    assert sorted([first.cancelled, second.cancelled]) == [False, True]
    loser = first if not first.cancelled else second
    assert loser.reason == "It was already cancelled."
    winner = first if first.cancelled else second
    assert winner.job.cancelled_by == 99 and winner.job.error == "spam"
    assert sandbox.state.count("cancel") == 1
    await services.jobs.wait_idle()


async def _until(check) -> None:  # type: ignore[no-untyped-def]
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never got there")


async def _queued(services: Services, job: Job) -> None:
    while True:
        fresh = await JobRepo(services.db).get(job.id)
        if fresh is not None and fresh.status == "queued":
            return
        await asyncio.sleep(0.01)


async def test_a_submit_answered_with_something_unreadable_is_never_resent(
    services: Services, sandbox: Sandbox
):
    sandbox.state.add_fault("submit", status=200, text="<html>upstream hiccup</html>")
    sink = RecordingSink()
    await services.jobs.run(await accept(services), sink)
    final = sink.finals[-1]
    assert final.status == "failed" and final.error == LOST_SUBMIT
    assert "again" not in final.error.replace("not sent again", "")
    assert sandbox.state.count("submit") == 1 and len(sandbox.state.jobs) == 1
    assert await used(services) == 0


async def test_videos_left_by_an_interrupted_upload_are_removed_at_start(services: Services):
    video_dir = services.settings.database_path.parent / "videos"
    video_dir.mkdir()
    (video_dir / "job-3-0a1b2c3d.mp4").write_bytes(b"half an upload")
    (video_dir / "keep.txt").write_text("not ours")
    await services.jobs.resume_all(lambda job: RecordingSink())
    assert sorted(p.name for p in video_dir.iterdir()) == ["keep.txt"]
