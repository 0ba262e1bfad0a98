"""Parsing corners of RunComfy answers that the sandbox never sends, checked without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.runcomfy import BadResponse, JobState
from bot.runcomfy.models import (
    one_line,
    parse_cancel,
    parse_result,
    parse_retry_after,
    parse_status,
    parse_submission,
    validation_details,
)


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 28 <= (parse_retry_after(later) or 0) <= 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_result_video_shapes() -> None:
    url = "https://cdn.example/v.mp4"
    for output in ({"video": url}, {"videos": [url, "x"]}, {"video": {"url": url}}):
        result = parse_result({"status": "completed", "output": output}, "r")
        assert (result.state, result.video_url) == (JobState.COMPLETED, url)
    empty: list[object] = [None, {}, {"video": ""}, {"videos": []}, {"video": "file:///x"}]
    for nothing in empty:
        result = parse_result({"status": "succeeded", "output": nothing}, "r")
        assert (result.state, result.error) == (JobState.FAILED, "finished without a video")


def test_failed_errors_become_one_readable_line() -> None:
    assert parse_result({"status": "failed"}, "r").error == "failed without a reason"
    assert parse_result({"status": "failed", "error": {"code": 7}}, "r").error == '{"code": 7}'
    nested = {"status": "failed", "error": {"error": {"detail": ["a", "b"]}}}
    assert parse_result(nested, "r").error == "a; b"
    assert len(one_line("x" * 1000)) == 300


def test_answer_about_another_request_is_refused() -> None:
    with pytest.raises(BadResponse):
        parse_status({"request_id": "other", "status": "in_queue"}, "mine")
    assert parse_status({"status": "IN_QUEUE", "queue_position": "3"}, "mine").queue_position == 3
    assert parse_status({"status": "in_queue", "queue_position": True}, "m").queue_position is None
    with pytest.raises(BadResponse):
        parse_status({"status": None}, "m")


def test_submission_needs_an_id_and_keeps_given_urls() -> None:
    with pytest.raises(BadResponse):
        parse_submission({"request_id": ""}, "http://api")
    sub = parse_submission({"request_id": "a", "status_url": "https://x/s"}, "http://api/")
    assert (sub.status_url, sub.cancel_url) == ("https://x/s", "http://api/v1/requests/a/cancel")


def test_cancel_without_outcome_reads_the_status() -> None:
    assert parse_cancel({"status": "cancelled"}, "r").cancelled is True
    assert parse_cancel({"status": "in_progress"}, "r").cancelled is False
    with pytest.raises(BadResponse):
        parse_cancel({"outcome": "maybe"}, "r")


def test_validation_details_shapes() -> None:
    pydantic = {"detail": [{"loc": ["body", "ratio"], "msg": "bad ratio"}]}
    assert validation_details(pydantic) == ["ratio: bad ratio"]
    assert validation_details({"detail": "text too long"}) == ["text too long"]
    assert validation_details({"error_message": "Invalid input"}) == ["Invalid input"]
