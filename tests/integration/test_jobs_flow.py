"""The job service end to end without Discord: real sandbox over HTTP, real sqlite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.core.domain import Job
from bot.core.errors import NotAllowed, QuotaRefused
from bot.core.jobs import LOST_SUBMIT, UNANSWERED, VIDEO_GONE
from bot.core.schema import MODEL, VideoRequest
from bot.sandbox import Sandbox
from bot.services import Services
from db.jobs import JobRepo


class RecordingSink:
    """Remembers what a member would have seen."""

    def __init__(self) -> None:
        self.progress_seen: list[tuple[str, int | None]] = []
        self.delivered: list[tuple[int, bytes | None]] = []
        self.finals: list[Job] = []

    async def progress(self, job: Job) -> None:
        self.progress_seen.append((job.status, job.queue_position))

    async def deliver(self, job: Job, video: Path | None, *, too_large: bool) -> int | None:
        self.delivered.append((job.id, video.read_bytes() if video else None))
        return 1000 + job.id

    async def finished(self, job: Job) -> None:
        self.finals.append(job)


def request(**options: object) -> VideoRequest:
    checked = MODEL.validate({"text": "a paper boat on a stormy sea", **options})
    assert isinstance(checked, VideoRequest)
    return checked


async def accept(services: Services, user_id: int = 7, **options: object) -> Job:
    return await services.jobs.accept(
        guild_id=1, channel_id=2, user_id=user_id, request=request(**options), upload_limit=10**7
    )


async def used(services: Services, user_id: int = 7) -> int:
    row = await services.db.fetchone(
        "SELECT COALESCE(SUM(used), 0) FROM quota_usage WHERE user_id = ?", (user_id,)
    )
    assert row is not None
    return int(row[0])


async def test_happy_path_delivers_the_mp4_and_commits(services: Services, sandbox: Sandbox):
    job = await accept(services, resolution="720p", duration=4)
    assert job.cost == 8 and await used(services) == 8
    sink = RecordingSink()
    await services.jobs.run(job, sink)
    final = sink.finals[-1]
    assert final.status == "delivered" and final.result_message_id == 1000 + job.id
    assert ("queued", 0) in sink.progress_seen or ("queued", None) in sink.progress_seen
    assert any(status == "running" for status, _ in sink.progress_seen)
    [(job_id, video)] = sink.delivered
    assert job_id == job.id and video is not None and video[4:8] == b"ftyp"
    assert sandbox.state.count("submit") == 1
    assert await used(services) == 8  # committed, not refunded
    assert list(services.settings.database_path.parent.glob("videos/*.mp4")) == []


async def test_provider_failure_is_refunded_with_a_readable_reason(
    services: Services, sandbox: Sandbox
):
    sandbox.state.next_outcome(failed=True, error={"message": "The prompt was flagged"})
    job = await accept(services)
    sink = RecordingSink()
    await services.jobs.run(job, sink)
    final = sink.finals[-1]
    assert final.status == "failed"
    assert final.error is not None and "The prompt was flagged" in final.error
    assert "refunded" in final.error
    assert sink.delivered == []
    assert await used(services) == 0


async def test_status_says_completed_but_result_failed_counts_as_failed(
    services: Services, sandbox: Sandbox
):
    sandbox.state.next_outcome(failed=True, error="boom", status_says_completed=True)
    sink = RecordingSink()
    await services.jobs.run(await accept(services), sink)
    assert sink.finals[-1].status == "failed" and sink.delivered == []


async def test_lost_submit_answer_is_never_resent_and_is_refunded(
    services: Services, sandbox: Sandbox
):
    sandbox.state.add_fault("submit", drop=True)
    sink = RecordingSink()
    await services.jobs.run(await accept(services), sink)
    final = sink.finals[-1]
    assert final.status == "failed" and final.error == LOST_SUBMIT
    assert sandbox.state.count("submit") == 1
    assert len(sandbox.state.jobs) == 1  # the provider did create one; we did not make another
    assert await used(services) == 0


async def test_crash_between_submit_and_storing_the_id_is_refunded_not_resent(
    services: Services, sandbox: Sandbox
):
    job = await accept(services)
    dead = JobRepo(services.db, owner=job.lease_owner)  # the process that accepted it
    assert await dead.mark_submitting(job.id)  # then the process "died"
    stuck = await JobRepo(services.db).get(job.id)
    assert stuck is not None
    sink = RecordingSink()
    await services.jobs.run(stuck, sink)
    assert sink.finals[-1].status == "failed" and sink.finals[-1].error == LOST_SUBMIT
    assert sandbox.state.count("submit") == 0
    assert await used(services) == 0


async def test_resuming_a_queued_job_polls_it_and_never_submits_again(
    services: Services, sandbox: Sandbox
):
    sandbox.config.paused = True
    job = await accept(services)
    submission = await services.runcomfy.submit(job.model_path, job.params)
    dead = JobRepo(services.db, owner=job.lease_owner)  # the process that accepted it
    assert await dead.mark_submitting(job.id)
    assert await dead.mark_submitted(job.id, submission.request_id)
    sandbox.config.paused = False
    resumed = await JobRepo(services.db).get(job.id)
    assert resumed is not None
    sink = RecordingSink()
    await services.jobs.run(resumed, sink)
    assert sink.finals[-1].status == "delivered"
    assert sandbox.state.count("submit") == 1 and len(sink.delivered) == 1


async def test_oversized_video_is_handed_over_as_a_link(services: Services, sandbox: Sandbox):
    sandbox.config.video_bytes = 300_000
    job = await services.jobs.accept(
        guild_id=1, channel_id=2, user_id=7, request=request(), upload_limit=100_000
    )
    sink = RecordingSink()
    await services.jobs.run(job, sink)
    assert sink.delivered == [(job.id, None)]
    assert sink.finals[-1].status == "delivered" and sink.finals[-1].video_url


async def test_cancel_while_queued_refunds_and_stops_the_provider_job(
    services: Services, sandbox: Sandbox
):
    job, sink = await start_queued(services, sandbox)
    with pytest.raises(NotAllowed):
        await services.jobs.cancel(job.id, actor_id=99, guild_id=1, moderator=False)
    result = await services.jobs.cancel(job.id, actor_id=99, guild_id=1, moderator=True)
    assert result.cancelled and result.job.cancelled_by == 99
    await services.jobs.wait_idle()
    assert sink.finals[-1].status == "cancelled" and sink.delivered == []
    [provider_job] = sandbox.state.jobs.values()
    assert provider_job.status == "cancelled"
    assert await used(services) == 0
    again = await services.jobs.cancel(job.id, actor_id=7, guild_id=1, moderator=False)
    assert not again.cancelled and "already cancelled" in again.reason


async def test_cancel_while_running_is_explained_and_the_job_goes_on(
    services: Services, sandbox: Sandbox
):
    job, sink = await start_queued(services, sandbox)
    [request_id] = sandbox.state.jobs
    sandbox.state.set_status(request_id, "in_progress")
    result = await services.jobs.cancel(job.id, actor_id=7, guild_id=1, moderator=False)
    assert not result.cancelled and "already started" in result.reason
    sandbox.config.paused = False
    await services.jobs.wait_idle()
    assert sink.finals[-1].status == "delivered"
    assert await used(services) == job.cost


async def test_quota_refusal_costs_nothing_and_names_the_reset(services: Services):
    big = request(resolution="1080p", duration=12)  # 60 credits: the whole default allowance
    await services.jobs.accept(guild_id=1, channel_id=2, user_id=7, request=big, upload_limit=1)
    with pytest.raises(QuotaRefused) as refused:
        await accept(services)
    assert "<t:" in refused.value.message and "Nothing was charged" in refused.value.message
    assert await used(services) == 60


async def start_queued(services: Services, sandbox: Sandbox) -> tuple[Job, RecordingSink]:
    """A job running in the background, held in the provider's queue (the sandbox is paused)."""
    sandbox.config.paused = True
    job = await accept(services)
    sink = RecordingSink()
    services.jobs.start(job, sink)
    for _ in range(500):
        current = await JobRepo(services.db).get(job.id)
        if current is not None and current.status == "queued":
            return job, sink
        await asyncio.sleep(0.02)
    raise AssertionError("the job never reached the provider's queue")


async def test_a_job_never_answered_before_a_crash_is_cancelled_on_resume(
    services: Services, sandbox: Sandbox
):
    job = await accept(services)  # accepted, but no card: the member was never answered
    sinks: list[RecordingSink] = []

    def sink_for(_: Job) -> RecordingSink:
        sinks.append(RecordingSink())
        return sinks[-1]

    assert await services.jobs.resume_all(sink_for) == 0
    closed = await JobRepo(services.db).get(job.id)
    assert closed is not None and closed.status == "cancelled" and closed.error == UNANSWERED
    assert sandbox.state.count("submit") == 0 and await used(services) == 0


async def test_an_expired_video_link_is_refunded_not_linked(services: Services, sandbox: Sandbox):
    sandbox.state.add_fault("video", status=404, times=20)
    sink = RecordingSink()
    await services.jobs.run(await accept(services), sink)
    assert sink.delivered == []
    assert sink.finals[-1].status == "failed" and sink.finals[-1].error == VIDEO_GONE
    assert await used(services) == 0


async def test_one_unknown_request_answer_is_not_taken_as_final(
    services: Services, sandbox: Sandbox
):
    sandbox.state.add_fault("result", status=404, times=1)
    sink = RecordingSink()
    await services.jobs.run(await accept(services), sink)
    assert sink.finals[-1].status == "delivered"


async def test_a_ban_right_after_a_rules_load_began_is_seen(services: Services):
    quotas = services.quotas
    loading = asyncio.create_task(quotas.rules(1))
    await asyncio.sleep(0)  # the load has started and waits on the database
    await quotas.ban(1, 7, actor_id=99, reason=None)
    assert 7 in (await quotas.rules(1)).banned
    await loading
