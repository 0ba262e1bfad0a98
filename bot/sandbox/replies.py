"""JSON answers in RunComfy's shapes: errors with a numeric `error_code`, and job bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aiohttp import web

from bot.sandbox.state import SandboxJob, SandboxState

# What a fault answers when the test gives a status but no body. RunComfy's codes are the HTTP
# status times 1000 plus one; 400 defaults to "no balance left", the 400 a client most must handle.
_DEFAULT_ERRORS: dict[int, tuple[int, str]] = {
    200: (500001, "Internal server error"),
    400: (400002, "Insufficient balance: top up your account to continue"),
    401: (401001, "Unauthorized"),
    403: (403001, "Forbidden: this request belongs to another account"),
    404: (404001, "Request not found or expired"),
    408: (408001, "Request timed out, retry later"),
    422: (422001, "Invalid input"),
    429: (429001, "Too many requests: rate limit exceeded, retry later"),
    500: (500001, "Internal server error"),
    503: (503001, "Service unavailable, retry later"),
}


def error(status: int, code: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error_code": code, "error_message": message, **extra}, status=status)


def default_error_body(status: int) -> dict[str, Any]:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code, message = _DEFAULT_ERRORS.get(status, (status * 1000 + 1, phrase))
    return {"error_code": code, "error_message": message}


def iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def job_urls(base: str, request_id: str) -> dict[str, str]:
    root = f"{base}/v1/requests/{request_id}"
    return {
        "status_url": f"{root}/status",
        "result_url": f"{root}/result",
        "cancel_url": f"{root}/cancel",
    }


def video_url(base: str, request_id: str) -> str:
    return f"{base}/_sandbox/videos/{request_id}.mp4"


def status_body(state: SandboxState, job: SandboxJob, base: str) -> dict[str, Any]:
    urls = job_urls(base, job.request_id)
    body: dict[str, Any] = {
        "request_id": job.request_id,
        "status": job.shown_status,
        "status_url": urls["status_url"],
        "result_url": urls["result_url"],
    }
    position = state.queue_position(job.request_id)
    if job.status == "in_queue" and position is not None:
        body["queue_position"] = position
    return body


def result_body(state: SandboxState, job: SandboxJob, base: str) -> dict[str, Any]:
    if job.status in ("in_queue", "in_progress"):
        return status_body(state, job, base)
    output: dict[str, Any] | None = None
    if job.status == "completed":
        files = (state.config.video_base_url or base).rstrip("/")
        output = {"video": video_url(files, job.request_id)} if job.has_video else {}
    return {
        "request_id": job.request_id,
        "status": job.status,
        "output": output,
        "created_at": iso(job.created_at),
        "finished_at": iso(job.finished_at),
        "error": job.error,
    }


def job_summary(state: SandboxState, job: SandboxJob) -> dict[str, Any]:
    """A job for the control endpoint: everything but the owner's token fingerprint."""
    outcome = job.outcome
    return {
        "request_id": job.request_id,
        "status": job.status,
        "payload": job.payload,
        "queue_position": state.queue_position(job.request_id),
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "error": job.error,
        "outcome": {
            "failed": outcome.failed,
            "error": outcome.error,
            "status_says_completed": outcome.status_says_completed,
            "no_video": outcome.no_video,
        },
    }
