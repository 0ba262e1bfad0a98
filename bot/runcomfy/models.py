"""Typed answers from RunComfy, and the defensive parsers that build them from bodies and headers.

Only `request_id` of a submit answer and the `status` of a poll are relied on; everything else
is optional (see /work/shared/runcomfy-api.md). A job counts as done only with a video URL, and
`/result` decides over `/status`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from bot.core.provider import CancelOutcome, JobResult, JobState, StatusReport, Submission
from bot.core.provider_errors import BadResponse

# Where a provider puts its human-readable reason, in the documented order of preference.
MESSAGE_KEYS = ("error_message", "message", "error", "detail")


# The provider's own clients accept "succeeded" as success; "canceled" is a cheap safety net.
_STATES: dict[str, JobState] = {s.value: s for s in JobState} | {
    "succeeded": JobState.COMPLETED,
    "canceled": JobState.CANCELLED,
}


def request_url(base_url: str, request_id: str, action: str) -> str:
    """The URL of `/v1/requests/{id}/{action}`; the id is quoted so it cannot change the path."""
    return f"{base_url.rstrip('/')}/v1/requests/{quote(request_id, safe='')}/{action}"


def parse_submission(body: Mapping[str, Any], base_url: str) -> Submission:
    request_id = body.get("request_id")
    if not isinstance(request_id, str) or not request_id.strip():
        raise BadResponse("submit answer has no request_id")

    def url(key: str, action: str) -> str:
        value = body.get(key)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
        return request_url(base_url, request_id, action)

    return Submission(
        request_id=request_id,
        status_url=url("status_url", "status"),
        result_url=url("result_url", "result"),
        cancel_url=url("cancel_url", "cancel"),
    )


def parse_status(body: Mapping[str, Any], request_id: str) -> StatusReport:
    state = _state(body, request_id)
    return StatusReport(_own_id(body, request_id), state, _queue_position(body, state))


def parse_result(body: Mapping[str, Any], request_id: str) -> JobResult:
    rid = _own_id(body, request_id)
    state = _state(body, request_id)
    if state is JobState.COMPLETED:
        video = _video_url(body.get("output"))
        if video is None:
            return JobResult(rid, JobState.FAILED, None, "finished without a video", None)
        return JobResult(rid, JobState.COMPLETED, video, None, None)
    if state is JobState.FAILED:
        error = body.get("error")
        reason = one_line(error) if error not in (None, "", {}, []) else "failed without a reason"
        return JobResult(rid, JobState.FAILED, None, reason, None)
    return JobResult(rid, state, None, None, _queue_position(body, state))


def parse_cancel(body: Mapping[str, Any], request_id: str) -> CancelOutcome:
    rid = _own_id(body, request_id)
    raw = body.get("status")
    state = _STATES.get(raw.strip().lower()) if isinstance(raw, str) else None
    outcome = body.get("outcome")
    if outcome == "cancelled":
        return CancelOutcome(rid, True, state)
    if outcome == "not_cancellable":
        return CancelOutcome(rid, False, state)
    if outcome is None and state is not None:
        return CancelOutcome(rid, state is JobState.CANCELLED, state)
    raise BadResponse(f"cancel answer for request {request_id} has outcome {_short(outcome)}")


def provider_message(body: Mapping[str, Any]) -> str | None:
    """The provider's reason, one line, from the first message field that has one."""
    for key in MESSAGE_KEYS:
        value = body.get(key)
        if value not in (None, "", [], {}):
            return one_line(value)
    return None


def one_line(value: object, limit: int = 300) -> str:
    """A readable single line from a string, an error object or a list of either."""
    if isinstance(value, Mapping):
        text = provider_message(value) or json.dumps(value, sort_keys=True, default=str)
    elif isinstance(value, list):
        text = "; ".join(one_line(item, limit) for item in value)
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validation_details(body: Mapping[str, Any]) -> list[str]:
    """Reasons from a 422 body: `detail` items, which may be pydantic-style `{loc, msg}` objects."""
    detail = body.get("detail")
    items = detail if isinstance(detail, list) else [detail] if detail else []
    details: list[str] = []
    for item in items:
        if isinstance(item, Mapping) and "msg" in item:
            loc = item.get("loc")
            parts = [str(p) for p in loc if p != "body"] if isinstance(loc, list) else []
            where = ".".join(parts)
            details.append(one_line(f"{where}: {item['msg']}" if where else item["msg"], 200))
        else:
            details.append(one_line(item, 200))
    if not details and (message := provider_message(body)):
        details.append(message)
    return details


def error_code(body: Mapping[str, Any]) -> int | None:
    """The provider's numeric `error_code`, or None when the body reports no error."""
    value = body.get("error_code")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value == 0:
        return None  # 0 or null reads as "no error" in APIs that always send the field
    return value


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date."""
    if not value or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _state(body: Mapping[str, Any], request_id: str) -> JobState:
    raw = body.get("status")
    state = _STATES.get(raw.strip().lower()) if isinstance(raw, str) else None
    if state is None:
        raise BadResponse(f"request {request_id} has unknown status {_short(raw)}")
    return state


def _own_id(body: Mapping[str, Any], request_id: str) -> str:
    # An answer about another job must never be taken for ours (it could hand over a stranger's
    # video); a missing id is fine, we know which one we asked about.
    rid = body.get("request_id")
    if rid in (None, ""):
        return request_id
    if rid != request_id:
        raise BadResponse(f"answer for request {request_id} names request {_short(rid)}")
    return request_id


def _queue_position(body: Mapping[str, Any], state: JobState) -> int | None:
    if state is not JobState.QUEUED:
        return None
    value = body.get("queue_position")
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _video_url(output: object) -> str | None:
    if not isinstance(output, Mapping):
        return None
    video = _url(output.get("video"))
    if video is None and isinstance(videos := output.get("videos"), list) and videos:
        video = _url(videos[0])
    return video


def _url(value: object) -> str | None:
    if isinstance(value, Mapping):  # some providers wrap a file as {"url": ...}
        value = value.get("url")
    if isinstance(value, str) and value.strip().startswith(("https://", "http://")):
        return value.strip()
    return None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"
