"""A job's run through the real job service (sandbox over HTTP, real sqlite) logs one INFO line
per state change, with the job id, server, model and timings, and neither its prompt nor a
token; the telemetry sees the same changes."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.core.domain import JobStatus
from bot.logs import JsonFormatter, RedactingFilter
from bot.services import Services
from tests.conftest import SANDBOX_TOKEN
from tests.integration.test_jobs_flow import RecordingSink, accept

PROMPT_WORDS = "paper boat on a stormy sea"  # test_jobs_flow's prompt


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter([SANDBOX_TOKEN]))
    logging.root.addHandler(handler)
    old = logging.root.level
    logging.root.setLevel(logging.INFO)
    yield stream
    logging.root.setLevel(old)
    logging.root.removeHandler(handler)


def changes(stream: io.StringIO, job_id: int) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [r for r in rows if r["logger"] == "bot.jobs" and r.get("job_id") == job_id]


async def test_one_line_per_state_change(services: Services, log_lines: io.StringIO) -> None:
    job = await accept(services, resolution="480p", duration=4)
    await services.jobs.run(job, RecordingSink())
    lines = changes(log_lines, job.id)
    statuses = [line["status"] for line in lines]
    assert statuses[0] == "accepted" and statuses[-1] == "delivered"
    assert statuses[:3] == ["accepted", "submitting", "queued"]
    assert len(statuses) == len(set(statuses)), "a state change was logged twice"
    assert [line["from"] for line in lines] == [None, *statuses[:-1]]  # a chain, nothing missed
    for line in lines:
        assert line["level"] == "INFO"
        assert line["guild_id"] == 1 and line["model"] == job.model_path
    assert lines[0]["cost"] == job.cost
    last = lines[-1]
    total, delivery = last["total_s"], last["delivery_s"]
    assert isinstance(total, float) and isinstance(delivery, float) and total >= delivery
    assert "generating_s" in last and "submit_s" in last
    everything = log_lines.getvalue()
    assert PROMPT_WORDS not in everything
    assert SANDBOX_TOKEN not in everything
    # The telemetry counted the same changes, and the credits moved with them.
    metrics = services.metrics
    for status in statuses:
        assert metrics.total("seedance_job_transitions_total", state=str(status)) == 1
    assert metrics.total("seedance_credits_total", kind="reserved") == job.cost
    assert metrics.total("seedance_credits_total", kind="committed") == job.cost
    assert metrics.total("seedance_credits_total", kind="refunded") == 0
    # And the RunComfy client timed its requests at its one chokepoint.
    submits = metrics.total("seedance_provider_request_seconds_count", route="submit", outcome="ok")
    assert submits == 1
    assert metrics.total("seedance_polls_total", outcome="ok") >= 1
    assert metrics.provider_hour.figures().count >= 2


async def test_a_cancelled_job_logs_its_refund_path(
    services: Services, log_lines: io.StringIO
) -> None:
    job = await accept(services)
    await services.jobs.unanswered(job)  # the member never got an answer: cancelled, refunded
    lines = changes(log_lines, job.id)
    assert [(line["from"], line["status"]) for line in lines] == [
        (None, "accepted"),
        ("accepted", "cancelled"),
    ]
    assert "total_s" in lines[-1]
    assert services.metrics.total("seedance_credits_total", kind="refunded") == job.cost
    stored = await services.jobs.get(job.id)
    assert stored is not None and stored.status is JobStatus.CANCELLED
