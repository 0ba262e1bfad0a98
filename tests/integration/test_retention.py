"""RETENTION_DAYS on a real sqlite file: finished jobs older than the retention lose their prompt
and video link (their rows and the ledger stay), old moderation log rows go, open and recent
jobs keep everything, leftover video files are swept; 0 keeps every row."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bot.core.retention import DAY, STALE_VIDEO, Retention
from bot.services import Services
from db.retention import RetentionRepo
from tests.integration.test_jobs_flow import RecordingSink, accept

PROMPT_WORDS = "paper boat"


async def age_job(services: Services, job_id: int, days: float) -> None:
    then = time.time() - days * DAY
    await services.db.execute(
        "UPDATE jobs SET created_at = ?, finished_at = ? WHERE id = ?", (then, then, job_id)
    )


async def test_old_finished_jobs_lose_prompts_and_links_and_nothing_else(
    services: Services, tmp_path: Path
) -> None:
    old = await accept(services, user_id=1)
    await services.jobs.run(old, RecordingSink())
    recent = await accept(services, user_id=2)
    await services.jobs.run(recent, RecordingSink())
    still_open = await accept(services, user_id=3)  # accepted, never sent
    await age_job(services, old.id, 40)
    await services.db.execute(
        "UPDATE jobs SET created_at = ? WHERE id = ?", (time.time() - 40 * DAY, still_open.id)
    )
    quotas = services.quotas
    await quotas.record_moderation(1, old.id, 99, "cancel", "an old reason")
    await quotas.record_moderation(1, None, 99, "ban", "a recent reason")
    await services.db.execute(
        "UPDATE moderation_log SET created_at = ? WHERE reason = 'an old reason'",
        (time.time() - 40 * DAY,),
    )
    video_dir = tmp_path / "videos"
    video_dir.mkdir(exist_ok=True)
    leftover, fresh = video_dir / "job-1-aaaa.mp4", video_dir / "job-2-bbbb.mp4"
    leftover.write_bytes(b"x")
    fresh.write_bytes(b"y")  # an upload may be in progress: kept
    stale = time.time() - STALE_VIDEO - 60
    os.utime(leftover, (stale, stale))
    ledger_before = await services.db.fetchall("SELECT * FROM ledger ORDER BY id")

    assert services.retention is not None and services.retention.days == 90
    retention = Retention(
        RetentionRepo(services.db),
        days=30,
        video_dir=video_dir,
        prompt_fields=[spec.meta.prompt_key for spec in services.catalog],
    )
    pruned = await retention.run_once()
    assert (pruned.jobs, pruned.log_rows, pruned.videos) == (1, 1, 1)
    assert not leftover.exists() and fresh.exists()

    forgotten = await services.jobs.get(old.id)
    assert forgotten is not None
    assert forgotten.prompt == "" and forgotten.video_url is None
    assert PROMPT_WORDS not in str(forgotten.params)
    assert forgotten.params["resolution"] == old.params["resolution"]  # the rest stays
    assert forgotten.status is not None and forgotten.cost == old.cost
    for kept in (recent, still_open):
        job = await services.jobs.get(kept.id)
        assert job is not None and PROMPT_WORDS in job.prompt and PROMPT_WORDS in str(job.params)
    assert [e.reason for e in await quotas.moderation_log(1)] == ["a recent reason"]
    assert await services.db.fetchall("SELECT * FROM ledger ORDER BY id") == ledger_before
    assert (await retention.run_once()).jobs == 0  # nothing left to forget

    retention.days = 0  # RETENTION_DAYS=0: keep everything
    await age_job(services, recent.id, 400)
    assert (await retention.run_once()).jobs == 0
    job = await services.jobs.get(recent.id)
    assert job is not None and PROMPT_WORDS in job.prompt
