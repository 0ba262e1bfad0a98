"""The RunComfy client against the project's sandbox server over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.config import Secret
from bot.core.schema import MODEL
from bot.runcomfy import (
    AuthError,
    BadResponse,
    Forbidden,
    InsufficientCredits,
    InvalidInput,
    JobState,
    NotFound,
    RateLimited,
    RunComfyClient,
    Submission,
    SubmitUncertain,
    TooLarge,
    Unavailable,
    UnknownModel,
)
from bot.sandbox import Sandbox, SandboxConfig
from bot.sandbox.video import sample_mp4

TOKEN = "sk-test-0f7c2e-t0k"
PAYLOAD = {"text": "a cat", "resolution": "480p", "ratio": "16:9", "duration": 5}
AUTH_SUBMIT_MESSAGE = (
    "The bot is misconfigured (its RunComfy token was refused), so nothing was made and nothing "
    "was charged. Tell a server admin."
)
MakeClient = Callable[..., RunComfyClient]


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    # Paused: tests move jobs with set_status, so nothing depends on timing.
    config = SandboxConfig(token=TOKEN, queue_seconds=0.2, run_seconds=0.3, paused=True)
    async with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def make_client(sb: Sandbox, session: aiohttp.ClientSession) -> MakeClient:
    def make(**kwargs: object) -> RunComfyClient:
        options: dict[str, object] = {
            "base_url": sb.url,
            "token": Secret(TOKEN),
            "timeout": 2.0,
            "max_attempts": 4,
            "backoff_base": 0.01,
            "backoff_max": 2.0,
        }
        return RunComfyClient(session, **(options | kwargs))  # type: ignore[arg-type]

    return make


@pytest.fixture
def client(make_client: MakeClient) -> RunComfyClient:
    return make_client()


async def submit(client: RunComfyClient) -> Submission:
    return await client.submit(MODEL.path, PAYLOAD)


def entries(sb: Sandbox, route: str) -> list[float]:
    return [e.at for e in sb.state.log if e.route == route]


# -- the happy path and every state --------------------------------------------------------------


async def test_full_run_then_download(sb: Sandbox, client: RunComfyClient, tmp_path: Path) -> None:
    sb.config.paused = False
    sub = await submit(client)
    assert sub.status_url == f"{sb.url}/v1/requests/{sub.request_id}/status"
    assert sb.state.jobs[sub.request_id].payload == PAYLOAD
    for _ in range(100):
        result = await client.result(sub.request_id)
        if result.state is JobState.COMPLETED:
            break
        await asyncio.sleep(0.05)
    assert result.state is JobState.COMPLETED and result.video_url and result.error is None
    dest = tmp_path / "out.mp4"
    size = await client.download(result.video_url, dest, max_bytes=10_000_000)
    assert size == dest.stat().st_size == len(sample_mp4())
    assert dest.read_bytes() == sample_mp4()
    assert client.requests_sent["submit"] == 1 and client.requests_sent["download"] == 1


async def test_queued_reports_position(sb: Sandbox, client: RunComfyClient) -> None:
    first, second = await submit(client), await submit(client)
    report = await client.status(second.request_id)
    assert (report.state, report.queue_position) == (JobState.QUEUED, 1)
    assert (await client.status(first.request_id)).queue_position == 0
    result = await client.result(second.request_id)
    assert (result.state, result.queue_position, result.video_url) == (JobState.QUEUED, 1, None)


async def test_running(sb: Sandbox, client: RunComfyClient) -> None:
    sub = await submit(client)
    sb.state.set_status(sub.request_id, "in_progress")
    report = await client.status(sub.request_id)
    assert (report.state, report.queue_position) == (JobState.RUNNING, None)
    assert (await client.result(sub.request_id)).state is JobState.RUNNING


async def test_succeeded_with_videos_list_is_success(sb: Sandbox, client: RunComfyClient) -> None:
    sub = await submit(client)
    body = {
        "request_id": sub.request_id,
        "status": "succeeded",
        "output": {"videos": ["https://cdn.example/v.mp4"]},
    }
    sb.state.add_fault("result", status=200, body=body)
    result = await client.result(sub.request_id)
    assert (result.state, result.video_url) == (JobState.COMPLETED, "https://cdn.example/v.mp4")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("NSFW content   detected\nsorry", "NSFW content detected sorry"),
        ({"message": "NSFW", "code": 7}, "NSFW"),
    ],
)
async def test_failed_with_string_or_object_error(
    sb: Sandbox, client: RunComfyClient, error: object, expected: str
) -> None:
    sb.state.next_outcome(failed=True, error=error)  # type: ignore[arg-type]
    sub = await submit(client)
    sb.state.set_status(sub.request_id, "failed")
    assert (await client.status(sub.request_id)).state is JobState.FAILED
    result = await client.result(sub.request_id)
    assert (result.state, result.error, result.video_url) == (JobState.FAILED, expected, None)


async def test_status_completed_but_result_failed(sb: Sandbox, client: RunComfyClient) -> None:
    sb.state.next_outcome(status_says_completed=True, error="boom")
    sub = await submit(client)
    sb.state.set_status(sub.request_id, "failed")
    assert (await client.status(sub.request_id)).state is JobState.COMPLETED
    result = await client.result(sub.request_id)
    assert (result.state, result.error) == (JobState.FAILED, "boom")


async def test_completed_without_video_is_failed(sb: Sandbox, client: RunComfyClient) -> None:
    sb.state.next_outcome(no_video=True)
    sub = await submit(client)
    sb.state.set_status(sub.request_id, "completed")
    result = await client.result(sub.request_id)
    assert (result.state, result.error) == (JobState.FAILED, "finished without a video")


async def test_cancel_queued_and_running(sb: Sandbox, client: RunComfyClient) -> None:
    queued, running = await submit(client), await submit(client)
    sb.state.set_status(running.request_id, "in_progress")
    outcome = await client.cancel(queued.request_id)
    assert (outcome.cancelled, outcome.state) == (True, JobState.CANCELLED)
    assert (await client.status(queued.request_id)).state is JobState.CANCELLED
    assert (await client.result(queued.request_id)).state is JobState.CANCELLED
    refused = await client.cancel(running.request_id)
    assert (refused.cancelled, refused.state) == (False, JobState.RUNNING)


async def test_submit_answer_without_urls_is_rebuilt(sb: Sandbox, client: RunComfyClient) -> None:
    sb.state.add_fault("submit", status=200, body={"request_id": "abc/1"})
    sub = await submit(client)
    root = f"{sb.url}/v1/requests/abc%2F1"
    assert sub == Submission("abc/1", f"{root}/status", f"{root}/result", f"{root}/cancel")


async def test_unknown_status_is_bad_response(sb: Sandbox, client: RunComfyClient) -> None:
    sub = await submit(client)
    sb.state.add_fault("status", status=200, body={"request_id": sub.request_id, "status": "odd"})
    with pytest.raises(BadResponse):
        await client.status(sub.request_id)
    assert sb.state.count("status") == 1


@pytest.mark.parametrize("body", [{"status": "in_queue"}, {"request_id": " "}, {"request_id": 7}])
async def test_submit_answer_without_request_id_is_uncertain(
    sb: Sandbox, client: RunComfyClient, body: dict[str, object]
) -> None:
    sb.state.add_fault("submit", status=200, body=body)
    with pytest.raises(SubmitUncertain) as info:
        await submit(client)
    assert "not sent again" in info.value.user_message
    assert "try again" not in info.value.user_message
    assert sb.state.count("submit") == 1


@pytest.mark.parametrize("text", ["<html><body>OK</body></html>", "", "[1, 2]", '"ok"', "null"])
async def test_submit_2xx_that_is_not_a_json_object_is_uncertain(
    sb: Sandbox, client: RunComfyClient, text: str
) -> None:
    # A proxy's page or a truncated answer after RunComfy took the job: probably billed.
    sb.state.add_fault("submit", status=200, text=text)
    with pytest.raises(SubmitUncertain) as info:
        await submit(client)
    assert info.value.http_status == 200
    assert "try again" not in info.value.user_message.lower()
    assert sb.state.count("submit") == client.requests_sent["submit"] == 1
    assert len(sb.state.jobs) == 1  # the job exists: sending it again would pay twice


async def test_poll_2xx_that_is_not_json_stays_bad_response(
    sb: Sandbox, client: RunComfyClient
) -> None:
    sub = await submit(client)
    sb.state.add_fault("status", status=200, text="<html>maintenance</html>")
    with pytest.raises(BadResponse) as info:
        await client.status(sub.request_id)
    assert not isinstance(info.value, SubmitUncertain)
    assert sb.state.count("status") == 1


# -- documented errors ---------------------------------------------------------------------------


async def test_missing_and_wrong_token_are_auth_errors(make_client: MakeClient) -> None:
    with pytest.raises(AuthError) as missing:
        await submit(make_client(token=None))
    assert (missing.value.code, missing.value.http_status) == (401001, 401)
    assert "no token is set" in str(missing.value)
    with pytest.raises(AuthError) as wrong:
        await submit(make_client(token=Secret("not-the-token")))
    assert (wrong.value.code, wrong.value.http_status) == (400004, 400)
    assert wrong.value.user_message == AUTH_SUBMIT_MESSAGE


@pytest.mark.parametrize(
    ("auth_failure", "code", "status"), [("400004", 400004, 400), ("401", 401001, 401)]
)
async def test_refused_token_is_auth_error_either_way(
    sb: Sandbox, make_client: MakeClient, auth_failure: str, code: int, status: int
) -> None:
    sb.config.auth_failure = auth_failure  # type: ignore[assignment]
    sent = "sk-wrong-5e1f-do-not-show"
    wrong = make_client(token=Secret(sent))
    with pytest.raises(AuthError) as info:
        await submit(wrong)
    error = info.value
    assert (error.code, error.http_status) == (code, status)
    assert f"RunComfy token was refused (HTTP {status}, code {code})" in str(error)
    assert error.user_message == AUTH_SUBMIT_MESSAGE
    assert "misconfigured" in error.user_message and "nothing was charged" in error.user_message
    assert sb.state.count("submit") == 1 and not sb.state.jobs  # refused, never retried
    sub = await submit(make_client())
    with pytest.raises(AuthError) as polled:
        await wrong.status(sub.request_id)
    # After a submit the job may exist: the member is not told that nothing was made.
    assert "misconfigured" in polled.value.user_message
    assert "nothing was made" not in polled.value.user_message
    for shown in (str(error), repr(error), error.user_message, str(polled.value)):
        assert sent not in shown and TOKEN not in shown


async def test_http_401_without_a_code_is_auth_error(sb: Sandbox, client: RunComfyClient) -> None:
    sb.state.add_fault("submit", status=401, body={"detail": "Not authenticated"})
    with pytest.raises(AuthError) as info:
        await submit(client)
    assert (info.value.code, info.value.http_status) == (None, 401)
    assert "RunComfy token was refused (HTTP 401)" in str(info.value)
    assert TOKEN not in str(info.value)


async def test_someone_elses_request_is_forbidden(sb: Sandbox, make_client: MakeClient) -> None:
    sb.config.token = None  # any token is accepted, and jobs belong to the token that made them
    sub = await submit(make_client(token=Secret("alice")))
    with pytest.raises(Forbidden) as info:
        await make_client(token=Secret("bob")).status(sub.request_id)
    assert (info.value.code, info.value.http_status) == (403001, 403)


async def test_unknown_request_is_not_found(sb: Sandbox, client: RunComfyClient) -> None:
    with pytest.raises(NotFound) as info:
        await client.result("no-such-id")
    assert info.value.code == 404001
    assert sb.state.count("result") == 1  # a 4xx is never retried


async def test_invalid_input_lists_details(client: RunComfyClient) -> None:
    with pytest.raises(InvalidInput) as info:
        await client.submit(MODEL.path, {**PAYLOAD, "resolution": "4k", "color": "red"})
    error = info.value
    assert (error.code, error.http_status) == (422001, 422)
    assert any(d.startswith("resolution:") for d in error.details)
    assert any(d.startswith("color:") for d in error.details)
    assert "resolution" in error.user_message


async def test_unknown_model(client: RunComfyClient) -> None:
    with pytest.raises(UnknownModel) as info:
        await client.submit("bytedance/no-such-model", PAYLOAD)
    assert info.value.code == 400001


async def test_no_balance_is_insufficient_credits(sb: Sandbox, client: RunComfyClient) -> None:
    body = {"error_code": 400002, "error_message": "Insufficient balance"}
    sb.state.add_fault("submit", status=400, body=body)
    with pytest.raises(InsufficientCredits) as info:
        await submit(client)
    assert (info.value.code, info.value.http_status) == (400002, 400)
    assert "out of credits" in info.value.user_message
    assert sb.state.count("submit") == 1


async def test_error_code_inside_http_200(sb: Sandbox, client: RunComfyClient) -> None:
    sub = await submit(client)
    sb.state.add_fault("status", status=200, body={"error_code": 404001, "message": "expired"})
    with pytest.raises(NotFound):
        await client.status(sub.request_id)
    sb.state.add_fault("status", status=200, body={"error_code": 500001, "detail": "oops"})
    assert (await client.status(sub.request_id)).state is JobState.QUEUED  # retried
    assert sb.state.count("status") == 3


# -- retries -------------------------------------------------------------------------------------


async def test_retry_after_is_honoured(sb: Sandbox, client: RunComfyClient) -> None:
    sub = await submit(client)
    sb.state.add_fault("status", status=429, retry_after=0.5)
    assert (await client.status(sub.request_id)).state is JobState.QUEUED
    first, second = entries(sb, "status")
    assert second - first >= 0.5


async def test_polls_retry_server_errors_then_give_up(sb: Sandbox, client: RunComfyClient) -> None:
    sub = await submit(client)
    sb.state.add_fault("result", status=500, times=2)
    assert (await client.result(sub.request_id)).state is JobState.QUEUED
    assert sb.state.count("result") == 3
    sb.state.add_fault("status", status=502, times=10)
    with pytest.raises(Unavailable) as info:
        await client.status(sub.request_id)
    assert info.value.http_status == 502
    assert sb.state.count("status") == client.requests_sent["status"] == 4


async def test_rate_limit_exhausted_or_too_long(sb: Sandbox, client: RunComfyClient) -> None:
    sub = await submit(client)
    sb.state.add_fault("cancel", status=429, retry_after=0.05, times=10)
    with pytest.raises(RateLimited) as info:
        await client.cancel(sub.request_id)
    assert info.value.retry_after == pytest.approx(0.05)
    assert sb.state.count("cancel") == 4
    sb.state.faults.clear()
    # A wait longer than backoff_max is handed back to the caller instead of blocking.
    sb.state.add_fault("status", status=503, retry_after=60)
    with pytest.raises(Unavailable):
        await client.status(sub.request_id)
    assert sb.state.count("status") == 1


async def test_lost_submit_answer_is_not_retried(sb: Sandbox, client: RunComfyClient) -> None:
    sb.state.add_fault("submit", drop=True)
    with pytest.raises(SubmitUncertain):
        await submit(client)
    assert sb.state.count("submit") == 1
    assert len(sb.state.jobs) == 1  # the job exists and may be billed: sending again pays twice


@pytest.mark.parametrize("status", [200, 500, 501, 502, 504])
async def test_submit_5xx_is_uncertain(sb: Sandbox, client: RunComfyClient, status: int) -> None:
    sb.state.add_fault("submit", status=status)  # a 200 fault carries error_code 500001
    with pytest.raises(SubmitUncertain) as info:
        await submit(client)
    assert info.value.http_status == status
    assert sb.state.count("submit") == 1


async def test_submit_retried_on_429_and_503(sb: Sandbox, client: RunComfyClient) -> None:
    sb.state.add_fault("submit", status=429, retry_after=0.2)
    sb.state.add_fault("submit", status=503)
    sub = await submit(client)
    assert sb.state.count("submit") == 3 and list(sb.state.jobs) == [sub.request_id]
    first, second, _ = entries(sb, "submit")
    assert second - first >= 0.2


async def test_submit_408_is_not_retried(sb: Sandbox, client: RunComfyClient) -> None:
    sb.state.add_fault("submit", status=408)
    with pytest.raises(RateLimited):
        await submit(client)
    assert sb.state.count("submit") == 1 and not sb.state.jobs


async def test_submit_timeout_is_uncertain(sb: Sandbox, make_client: MakeClient) -> None:
    sb.state.add_fault("submit", delay=1.0)
    with pytest.raises(SubmitUncertain):
        await submit(make_client(timeout=0.3))
    assert sb.state.count("submit") == 1


async def test_poll_timeout_is_retried(sb: Sandbox, make_client: MakeClient) -> None:
    client = make_client(timeout=0.3)
    sub = await submit(client)
    sb.state.add_fault("status", delay=1.0)
    assert (await client.status(sub.request_id)).state is JobState.QUEUED
    assert sb.state.count("status") == 2
    sb.state.add_fault("result", delay=1.0, times=10)
    with pytest.raises(Unavailable):
        await client.result(sub.request_id)


async def test_poll_dropped_connection_is_retried(sb: Sandbox, client: RunComfyClient) -> None:
    sub = await submit(client)
    sb.state.add_fault("result", drop=True)
    assert (await client.result(sub.request_id)).state is JobState.QUEUED
    assert sb.state.count("result") == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Refused(logging.Handler):
    """Sets `event` once the client logs a refused connection."""

    def __init__(self) -> None:
        super().__init__()
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "could not connect" in record.getMessage():
            self.event.set()


async def test_submit_retried_when_connection_refused(session: aiohttp.ClientSession) -> None:
    refused = _Refused()
    logging.getLogger("bot.runcomfy").addHandler(refused)
    port = _free_port()
    client = RunComfyClient(
        session,
        base_url=f"http://127.0.0.1:{port}",
        token=Secret(TOKEN),
        max_attempts=20,
        backoff_base=0.05,
        backoff_max=0.1,
    )
    task = asyncio.create_task(submit(client))
    try:
        await asyncio.wait_for(refused.event.wait(), 5)
    finally:
        logging.getLogger("bot.runcomfy").removeHandler(refused)
    # Only now that a submit was refused does the server come up on that port.
    async with Sandbox(SandboxConfig(token=TOKEN, paused=True), port=port) as sandbox:
        sub = await asyncio.wait_for(task, 5)
        assert list(sandbox.state.jobs) == [sub.request_id]
        assert sandbox.state.count("submit") == client.requests_sent["submit"] == 1


async def test_closed_port_gives_unavailable(session: aiohttp.ClientSession) -> None:
    client = RunComfyClient(
        session,
        base_url=f"http://127.0.0.1:{_free_port()}",
        token=None,
        max_attempts=2,
        backoff_base=0.01,
    )
    with pytest.raises(Unavailable):
        await client.status("x")
    with pytest.raises(Unavailable):
        await submit(client)


# -- downloads -----------------------------------------------------------------------------------


async def _finished(sb: Sandbox, client: RunComfyClient) -> str:
    sub = await submit(client)
    sb.state.set_status(sub.request_id, "completed")
    url = (await client.result(sub.request_id)).video_url
    assert url is not None
    return url


async def test_download_padded_video(sb: Sandbox, client: RunComfyClient, tmp_path: Path) -> None:
    sb.config.video_bytes = 3_000_000
    url = await _finished(sb, client)
    sb.state.add_fault("video", status=503)  # retried like a poll
    dest = tmp_path / "v.mp4"
    assert await client.download(url, dest, max_bytes=3_000_000) == 3_000_000
    assert dest.stat().st_size == 3_000_000
    assert dest.read_bytes().startswith(sample_mp4())
    assert sb.state.count("video") == client.requests_sent["download"] == 2


async def test_download_too_large_by_content_length(
    sb: Sandbox, client: RunComfyClient, tmp_path: Path
) -> None:
    sb.config.video_bytes = 200_000
    url = await _finished(sb, client)
    dest = tmp_path / "v.mp4"
    with pytest.raises(TooLarge) as info:
        await client.download(url, dest, max_bytes=100_000)
    assert (info.value.limit, info.value.size) == (100_000, 200_000)
    assert not dest.exists()


async def test_download_expired_link(sb: Sandbox, client: RunComfyClient, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        await client.download(f"{sb.url}/_sandbox/videos/gone.mp4", tmp_path / "v", max_bytes=10)
    assert sb.state.count("video") == 1


@pytest.fixture
async def cdn() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A third-party file host answering without Content-Length, recording request headers.

    The sandbox always sends a Content-Length; only this shows the running-total check.
    """
    seen: list[dict[str, str]] = []

    async def video(request: web.Request) -> web.StreamResponse:
        seen.append(dict(request.headers))
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(int(request.query.get("chunks", "4"))):
            await response.write(b"x" * 50_000)
        await response.write_eof()
        return response

    async def html(request: web.Request) -> web.Response:
        # What a proxy in front of an API answers: HTML, whatever the status.
        status = int(request.match_info["status"])
        return web.Response(status=status, text="<html>busy</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/v.mp4", video)
    app.router.add_get("/v1/requests/{status}/status", html)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/v.mp4", seen
    await runner.cleanup()


async def test_download_streams_without_token_and_stops_at_limit(
    client: RunComfyClient, cdn: tuple[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    url, seen = cdn
    dest = tmp_path / "v.mp4"
    assert await client.download(url, dest, max_bytes=200_000) == 200_000
    assert dest.stat().st_size == 200_000
    with pytest.raises(TooLarge) as info:
        await client.download(url + "?chunks=40", dest, max_bytes=200_000)
    assert (info.value.limit, info.value.size) == (200_000, None)
    assert not dest.exists()  # the partial file is gone
    assert seen and all("Authorization" not in headers for headers in seen)


async def test_non_json_answers(
    session: aiohttp.ClientSession, cdn: tuple[str, list[dict[str, str]]]
) -> None:
    base = cdn[0].removesuffix("/v.mp4")
    client = RunComfyClient(session, base_url=base, token=None, max_attempts=3, backoff_base=0.01)
    with pytest.raises(BadResponse):
        await client.status("200")
    with pytest.raises(Unavailable) as info:
        await client.status("502")
    assert info.value.http_status == 502
    assert client.requests_sent["status"] == 4  # the 200 once, the 502 three times


# -- the token stays secret ----------------------------------------------------------------------


async def test_token_never_shown(
    sb: Sandbox, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client()
    assert TOKEN not in repr(client) and TOKEN not in str(client)
    sub = await submit(client)
    sb.state.add_fault("status", status=429, retry_after=0.01)
    await client.status(sub.request_id)
    # A provider that echoes the token back must not get it into our messages or logs.
    echo = {"error_code": 400004, "error_message": f"token {TOKEN} is revoked", "detail": TOKEN}
    sb.state.add_fault("result", status=400, body=echo)
    sb.state.add_fault("submit", status=422, body={"error_code": 422001, "detail": [TOKEN]})
    sb.state.add_fault("status", status=500, body={"error_code": 500001, "message": TOKEN}, times=9)
    errors: list[Exception] = []
    for call in (
        client.result(sub.request_id),
        submit(client),
        client.status(sub.request_id),
        submit(make_client(token=Secret("wrong"))),
        client.cancel("unknown"),
    ):
        with pytest.raises(Exception) as info:
            await call
        errors.append(info.value)
    assert [type(e) for e in errors] == [AuthError, InvalidInput, Unavailable, AuthError, NotFound]
    for error in errors:
        shown = [str(error), repr(error), error.user_message, *getattr(error, "details", [])]  # type: ignore[attr-defined]
        assert all(TOKEN not in text for text in shown)
    assert "[token]" in str(errors[0])
    assert TOKEN not in caplog.text
