"""The sandbox generator over real HTTP on 127.0.0.1: the contract, the queue, faults, controls."""

from __future__ import annotations

import asyncio
import re
import struct
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.core.schema import MODEL
from bot.sandbox import Sandbox, SandboxConfig, serve
from bot.sandbox.video import sample_mp4

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SUBMIT_PATH = f"/v1/models/{MODEL.path}"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    config = SandboxConfig(queue_seconds=0.1, run_seconds=0.2, concurrency=2)
    async with Sandbox(config) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    json: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    async with http.request(
        method, url, json=json, headers=AUTH if headers is None else headers
    ) as r:
        assert r.content_type == "application/json"
        return r.status, await r.json()


async def submit(http: aiohttp.ClientSession, sandbox: Sandbox, **headers: str) -> str:
    status, body = await call(
        http, "POST", sandbox.url + SUBMIT_PATH, json={"text": "a red fox"}, headers=headers or None
    )
    assert status == 200, body
    return str(body["request_id"])


async def job_call(http: aiohttp.ClientSession, sandbox: Sandbox, rid: str, what: str) -> Any:
    method = "POST" if what == "cancel" else "GET"
    status, body = await call(http, method, f"{sandbox.url}/v1/requests/{rid}/{what}")
    assert status == 200, body
    return body


async def wait_until(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def boxes(data: bytes) -> list[tuple[bytes, int]]:
    """Top-level MP4 boxes as (type, size); the sizes must tile the file exactly."""
    found, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        found.append((kind, size))
        offset += size
    assert offset == len(data)
    return found


# -- lifecycle -------------------------------------------------------------------------------


async def test_lifecycle_queue_positions_progress_completion_and_video(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    sandbox.config.concurrency = 1
    sandbox.config.run_seconds = 0.4
    sandbox.config.paused = True  # hold the queue still while we look at positions
    status, body = await call(http, "POST", sandbox.url + SUBMIT_PATH, json={"text": "fox"})
    assert status == 200
    first = body["request_id"]
    base = f"{sandbox.url}/v1/requests/{first}"
    assert body == {
        "request_id": first,
        "status_url": f"{base}/status",
        "result_url": f"{base}/result",
        "cancel_url": f"{base}/cancel",
    }
    second, third = await submit(http, sandbox), await submit(http, sandbox)

    positions = []
    for rid in (first, second, third):
        polled = await job_call(http, sandbox, rid, "status")
        assert polled["status"] == "in_queue"
        assert polled["status_url"].startswith(sandbox.url)
        positions.append(polled["queue_position"])
    assert positions == [0, 1, 2]
    assert (await job_call(http, sandbox, third, "result"))["queue_position"] == 2
    sandbox.config.paused = False

    seen: list[str] = []
    while not seen or seen[-1] != "completed":
        polled = await job_call(http, sandbox, first, "status")
        if not seen or seen[-1] != polled["status"]:
            seen.append(polled["status"])
        if polled["status"] == "in_progress":
            assert "queue_position" not in polled
            sandbox.config.paused = True
            assert (await job_call(http, sandbox, second, "status"))["queue_position"] == 0
            sandbox.config.paused = False
        await asyncio.sleep(0.02)
    assert seen == ["in_queue", "in_progress", "completed"]

    result = await job_call(http, sandbox, first, "result")
    assert result["status"] == "completed" and result["error"] is None
    assert re.match(r"\d{4}-\d\d-\d\dT", result["created_at"])
    assert result["finished_at"] >= result["created_at"]
    video_url = result["output"]["video"]
    assert video_url == f"{sandbox.url}/_sandbox/videos/{first}.mp4"
    async with http.get(video_url) as response:  # no bearer: a CDN-like link
        assert response.status == 200
        assert response.content_type == "video/mp4"
        data = await response.read()
        assert response.content_length == len(data) == len(sample_mp4())
    assert data[4:8] == b"ftyp"
    assert [kind for kind, _ in boxes(data)][:1] == [b"ftyp"]


async def test_concurrency_limit_and_fifo_start_order(sandbox: Sandbox) -> None:
    sandbox.config.queue_seconds = 0.0
    sandbox.config.run_seconds = 0.15
    async with aiohttp.ClientSession() as http:
        ids = [await submit(http, sandbox) for _ in range(5)]
    jobs = [sandbox.state.jobs[rid] for rid in ids]
    most_running = 0
    while not all(job.status == "completed" for job in jobs):
        running = sum(job.status == "in_progress" for job in jobs)
        most_running = max(most_running, running)
        assert running <= 2
        await asyncio.sleep(0.005)
    assert most_running == 2
    starts = [job.started_at or 0.0 for job in jobs]
    assert all(starts) and starts == sorted(starts)


async def test_many_queued_jobs_get_distinct_positions(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    sandbox.config.paused = True
    ids = await asyncio.gather(*(submit(http, sandbox) for _ in range(200)))
    polled = await asyncio.gather(*(job_call(http, sandbox, rid, "status") for rid in ids))
    positions = {body["request_id"]: body["queue_position"] for body in polled}
    assert sorted(positions.values()) == list(range(200))
    assert sorted(ids, key=positions.__getitem__) == sorted(ids)  # FIFO by submission


@pytest.mark.parametrize("extra", [1000, 3 * 2**20 + 5])
async def test_video_padded_to_exact_size_stays_mp4(
    sandbox: Sandbox, http: aiohttp.ClientSession, extra: int
) -> None:
    sandbox.config.paused = True
    rid = await submit(http, sandbox)
    sandbox.state.set_status(rid, "completed")
    total = len(sample_mp4()) + extra
    sandbox.config.video_bytes = total
    async with http.get(f"{sandbox.url}/_sandbox/videos/{rid}.mp4") as response:
        assert response.content_length == total
        data = await response.read()
    assert len(data) == total
    assert data.startswith(sample_mp4())
    assert boxes(data)[-1] == (b"free", extra)


async def test_video_size_that_cannot_be_padded_is_a_clear_error(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    sandbox.config.paused = True
    rid = await submit(http, sandbox)
    sandbox.state.set_status(rid, "completed")
    sandbox.config.video_bytes = len(sample_mp4()) + 3  # a free box needs 8 bytes
    status, body = await call(http, "GET", f"{sandbox.url}/_sandbox/videos/{rid}.mp4")
    assert status == 500 and "video_bytes" in body["error_message"]


async def test_no_video_before_completion(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    rid = await submit(http, sandbox)
    status, body = await call(http, "GET", f"{sandbox.url}/_sandbox/videos/{rid}.mp4")
    assert status == 404 and body["error_code"] == 404001


# -- auth and errors -------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", TOKEN])
async def test_missing_or_non_bearer_authorization_is_401(
    sandbox: Sandbox, http: aiohttp.ClientSession, header: str | None
) -> None:
    rid = await submit(http, sandbox)
    headers = {} if header is None else {"Authorization": header}
    for method, path in [
        ("POST", SUBMIT_PATH),
        ("GET", f"/v1/requests/{rid}/status"),
        ("GET", f"/v1/requests/{rid}/result"),
        ("POST", f"/v1/requests/{rid}/cancel"),
    ]:
        status, body = await call(
            http, method, sandbox.url + path, json={"text": "x"}, headers=headers
        )
        assert (status, body) == (401, {"error_code": 401001, "error_message": "Unauthorized"})
    assert len(sandbox.state.jobs) == 1


async def test_wrong_token_is_400004_and_never_echoed(http: aiohttp.ClientSession) -> None:
    async with Sandbox(SandboxConfig(token="the-real-secret")) as sandbox:
        bad = {"Authorization": "Bearer a-wrong-secret"}
        status, body = await call(
            http, "POST", sandbox.url + SUBMIT_PATH, json={"text": "x"}, headers=bad
        )
        assert status == 400 and body["error_code"] == 400004
        assert "a-wrong-secret" not in str(body)
        good = {"Authorization": "Bearer the-real-secret"}
        rid = await submit(http, sandbox, **good)
        status, body = await call(
            http, "GET", f"{sandbox.url}/v1/requests/{rid}/status", headers=bad
        )
        assert status == 400 and body["error_code"] == 400004
        async with http.get(sandbox.url + "/_sandbox/jobs") as r:
            jobs_text = await r.text()
        async with http.post(sandbox.url + "/_sandbox/config", json={}) as r:
            config = await r.json()
        assert config["token_set"] is True
        for shown in (jobs_text, str(config), repr(sandbox.state.log), repr(sandbox.config)):
            assert "secret" not in shown


async def test_wrong_token_can_be_refused_with_401(http: aiohttp.ClientSession) -> None:
    async with Sandbox(SandboxConfig(token="the-real-secret", auth_failure="401")) as sandbox:
        bad = {"Authorization": "Bearer a-wrong-secret"}
        status, body = await call(
            http, "POST", sandbox.url + SUBMIT_PATH, json={"text": "x"}, headers=bad
        )
        assert status == 401 and body["error_code"] == 401001
        assert "a-wrong-secret" not in str(body) and not sandbox.state.jobs
        ctl = sandbox.url + "/_sandbox/config"
        status, config = await call(http, "POST", ctl, json={"auth_failure": "400004"}, headers={})
        assert status == 200 and config["auth_failure"] == "400004"
        status, body = await call(
            http, "POST", sandbox.url + SUBMIT_PATH, json={"text": "x"}, headers=bad
        )
        assert status == 400 and body["error_code"] == 400004
        status, _ = await call(http, "POST", ctl, json={"auth_failure": "403"}, headers={})
        assert status == 400 and sandbox.config.auth_failure == "400004"


async def test_request_of_another_token_is_403(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    rid = await submit(http, sandbox)
    other = {"Authorization": "Bearer someone-else"}
    for method, what in [("GET", "status"), ("GET", "result"), ("POST", "cancel")]:
        url = f"{sandbox.url}/v1/requests/{rid}/{what}"
        status, body = await call(http, method, url, headers=other)
        assert status == 403 and body["error_code"] == 403001
    assert sandbox.state.jobs[rid].status == "in_queue"


async def test_unknown_request_is_404001(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    for method, what in [("GET", "status"), ("GET", "result"), ("POST", "cancel")]:
        status, body = await call(http, method, f"{sandbox.url}/v1/requests/nope/{what}")
        assert status == 404 and body["error_code"] == 404001


async def test_unknown_model_is_400001(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    url = sandbox.url + "/v1/models/bytedance/no-such-model"
    status, body = await call(http, "POST", url, json={"text": "x"})
    assert status == 400 and body["error_code"] == 400001
    assert not sandbox.state.jobs


async def test_unknown_route_answers_json_404(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    status, _ = await call(http, "GET", sandbox.url + "/v2/whatever")
    assert status == 404
    assert sandbox.state.count("other") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "x", "colour": "red"}, "colour"),
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": " padded "}, "text"),
        ({"text": "x" * 501}, "text"),
        ({"text": 5}, "text"),
        ({"text": "x", "resolution": "4k"}, "resolution"),
        ({"text": "x", "ratio": None}, "ratio"),
        ({"text": "x", "duration": "5"}, "duration"),
        ({"text": "x", "duration": 5.0}, "duration"),
        ({"text": "x", "duration": 13}, "duration"),
        ({"text": "x", "duration": True}, "duration"),
        ({"text": "x", "seed": -1}, "seed"),
        ({"text": "x", "seed": 2**32}, "seed"),
        ({"text": "x", "seed": "7"}, "seed"),
    ],
)
async def test_invalid_body_is_422_with_detail(
    sandbox: Sandbox, http: aiohttp.ClientSession, body: dict[str, Any], field: str
) -> None:
    status, answer = await call(http, "POST", sandbox.url + SUBMIT_PATH, json=body)
    assert status == 422, answer
    assert answer["error_code"] == 422001 and answer["error_message"]
    assert ["body", field] in [d["loc"] for d in answer["detail"]]
    assert not sandbox.state.jobs


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]"])
async def test_body_that_is_not_an_object_is_422(
    sandbox: Sandbox, http: aiohttp.ClientSession, raw: bytes
) -> None:
    async with http.post(sandbox.url + SUBMIT_PATH, data=raw, headers=AUTH) as response:
        assert response.status == 422
        assert (await response.json())["detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize(
    "body",
    [
        {"text": "a fox\nin the snow"},
        {"text": "x" * 500, "resolution": "1080p", "ratio": "21:9", "duration": 12, "seed": 0},
        {"text": "x", "resolution": "720p", "ratio": "1:1", "duration": 2, "seed": 2**32 - 1},
    ],
)
async def test_valid_bodies_are_accepted_as_sent(
    sandbox: Sandbox, http: aiohttp.ClientSession, body: dict[str, Any]
) -> None:
    status, answer = await call(http, "POST", sandbox.url + SUBMIT_PATH, json=body)
    assert status == 200, answer
    assert sandbox.state.jobs[answer["request_id"]].payload == body


# -- cancel ----------------------------------------------------------------------------------


async def test_cancel_while_queued(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    sandbox.config.paused = True
    first, second = await submit(http, sandbox), await submit(http, sandbox)
    answer = await job_call(http, sandbox, first, "cancel")
    assert answer == {"request_id": first, "status": "cancelled", "outcome": "cancelled"}
    assert (await job_call(http, sandbox, first, "status"))["status"] == "cancelled"
    result = await job_call(http, sandbox, first, "result")
    assert result["status"] == "cancelled" and result["output"] is None
    assert (await job_call(http, sandbox, second, "status"))["queue_position"] == 0


async def test_cancel_when_running_is_not_cancellable(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    sandbox.config.paused = True
    rid = await submit(http, sandbox)
    sandbox.state.set_status(rid, "in_progress")
    answer = await job_call(http, sandbox, rid, "cancel")
    assert answer == {"request_id": rid, "status": "in_progress", "outcome": "not_cancellable"}
    sandbox.config.paused = False
    await wait_until(lambda: sandbox.state.jobs[rid].status == "completed")
    answer = await job_call(http, sandbox, rid, "cancel")
    assert answer["status"] == "completed" and answer["outcome"] == "not_cancellable"


# -- faults ----------------------------------------------------------------------------------


async def test_fault_429_with_retry_after(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    sandbox.state.add_fault("submit", status=429, retry_after=2)
    async with http.post(sandbox.url + SUBMIT_PATH, json={"text": "x"}, headers=AUTH) as r:
        assert r.status == 429 and r.headers["Retry-After"] == "2"
        assert (await r.json())["error_code"] == 429001
    assert not sandbox.state.jobs
    await submit(http, sandbox)  # used up: the next one goes through
    assert sandbox.state.log[0].status == 429 and sandbox.state.count("submit") == 2


async def test_fault_500_default_body_and_times(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    rid = await submit(http, sandbox)
    sandbox.state.add_fault("status", status=500, times=2)
    url = f"{sandbox.url}/v1/requests/{rid}/status"
    for _ in range(2):
        status, body = await call(http, "GET", url)
        assert status == 500 and body["error_code"] == 500001 and body["error_message"]
    assert (await call(http, "GET", url))[0] == 200


async def test_fault_200_with_error_code(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    rid = await submit(http, sandbox)
    odd = {"error_code": 400002, "error_message": "Insufficient balance"}
    sandbox.state.add_fault("result", status=200, body=odd)
    assert await job_call(http, sandbox, rid, "result") == odd


async def test_fault_delay(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    rid = await submit(http, sandbox)
    sandbox.state.add_fault("any", delay=0.3)
    started = time.monotonic()
    task = asyncio.create_task(job_call(http, sandbox, rid, "status"))
    await wait_until(lambda: sandbox.state.count("status") == 1)
    assert sandbox.state.log[-1].status is None  # received, not answered yet
    assert (await task)["request_id"] == rid
    assert time.monotonic() - started >= 0.3
    assert sandbox.state.log[-1].status == 200


async def test_fault_drop_on_submit_still_creates_the_job(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    sandbox.state.add_fault("submit", drop=True)
    with pytest.raises(aiohttp.ClientError):
        await call(http, "POST", sandbox.url + SUBMIT_PATH, json={"text": "x"})
    [job] = sandbox.state.jobs.values()  # billed although the answer was lost
    assert job.payload == {"text": "x"}
    assert sandbox.state.log[-1].route == "submit" and sandbox.state.log[-1].status is None
    await wait_until(lambda: job.status == "completed")


async def test_fault_drop_on_poll(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    rid = await submit(http, sandbox)
    # aiohttp silently sends an idempotent request (a GET) once more after a disconnect, so one
    # dropped poll is invisible to it: it takes two drops to make a poll fail.
    sandbox.state.add_fault("status", drop=True, times=2)
    with pytest.raises(aiohttp.ClientError):
        await job_call(http, sandbox, rid, "status")
    assert (await job_call(http, sandbox, rid, "status"))["request_id"] == rid
    assert [e.status for e in sandbox.state.log if e.route == "status"] == [None, None, 200]


async def test_fault_text_answer(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    sandbox.state.add_fault("submit", status=200, text="<html>OK</html>")
    async with http.post(sandbox.url + SUBMIT_PATH, json={"text": "x"}, headers=AUTH) as r:
        assert (r.status, r.content_type, await r.text()) == (200, "text/html", "<html>OK</html>")
    [job] = sandbox.state.jobs.values()  # a mangled yes: the job was made all the same
    rid = job.request_id
    fault = {"route": "status", "status": 502, "text": "<html>Bad gateway</html>"}
    ctl = sandbox.url + "/_sandbox/faults"
    assert (await call(http, "POST", ctl, json=fault, headers={}))[0] == 200
    async with http.get(f"{sandbox.url}/v1/requests/{rid}/status", headers=AUTH) as r:
        assert (r.status, await r.text()) == (502, "<html>Bad gateway</html>")
    assert (await call(http, "POST", ctl, json={**fault, "text": 5}, headers={}))[0] == 400


def test_bad_faults_are_refused() -> None:
    state = Sandbox().state
    with pytest.raises(ValueError):
        state.add_fault("submti", status=500)
    with pytest.raises(ValueError):
        state.add_fault("submit", status=500, drop=True)
    with pytest.raises(ValueError):
        state.add_fault("submit", text="no status")
    with pytest.raises(ValueError):
        state.add_fault("submit", status=200, text="both", body={"a": 1})


# -- file hosts and redirects ----------------------------------------------------------------


async def test_video_base_url_moves_result_links(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    sandbox.config.paused = True
    rid = await submit(http, sandbox)
    sandbox.state.set_status(rid, "completed")
    elsewhere = sandbox.url.replace("127.0.0.1", "localhost")
    ctl = sandbox.url + "/_sandbox/config"
    status, _ = await call(http, "POST", ctl, json={"video_base_url": elsewhere + "/"}, headers={})
    assert status == 200
    video = (await job_call(http, sandbox, rid, "result"))["output"]["video"]
    assert video == f"{elsewhere}/_sandbox/videos/{rid}.mp4"
    assert (await job_call(http, sandbox, rid, "status"))["status_url"].startswith(sandbox.url)
    async with http.get(video) as r:  # the same server under another name
        assert r.status == 200 and await r.read() == sample_mp4()
    bad = {"video_base_url": "ftp://x"}
    assert (await call(http, "POST", ctl, json=bad, headers={}))[0] == 400


async def test_redirect_route(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    to = "http://localhost:1/v.mp4?sig=abc"
    url = f"{sandbox.url}/_sandbox/redirect"
    params = {"to": to, "times": "3", "status": "307"}
    async with http.get(url, params=params, allow_redirects=False) as r:
        assert r.status == 307
        hop = r.headers["Location"]
    assert hop.startswith("/_sandbox/redirect?") and "times=2" in hop  # relative hops
    async with http.get(url, params={"to": to}, allow_redirects=False) as r:
        assert (r.status, r.headers["Location"]) == (302, to)
        assert (await r.json())["location"] == to
    assert sandbox.state.count("redirect") == 2
    for bad in (
        {},
        {"to": to, "times": "0"},
        {"to": to, "status": "200"},
        {"to": to, "times": "x"},
    ):
        status, body = await call(http, "GET", url + "?" + urlencode(bad), headers={})
        assert status == 400 and body["detail"]


# -- outcomes and forced states --------------------------------------------------------------


async def finished_result(http: aiohttp.ClientSession, sandbox: Sandbox, rid: str) -> Any:
    await wait_until(lambda: sandbox.state.jobs[rid].finished_at is not None)
    return await job_call(http, sandbox, rid, "result")


@pytest.mark.parametrize("error", ["GPU on fire", {"code": "E42", "message": "nsfw"}])
async def test_next_outcome_failed(
    sandbox: Sandbox, http: aiohttp.ClientSession, error: str | dict[str, str]
) -> None:
    sandbox.state.next_outcome(failed=True, error=error)
    failing, fine = await submit(http, sandbox), await submit(http, sandbox)
    result = await finished_result(http, sandbox, failing)
    assert result["status"] == "failed" and result["error"] == error
    assert not result["output"]
    assert (await job_call(http, sandbox, failing, "status"))["status"] == "failed"
    assert (await finished_result(http, sandbox, fine))["status"] == "completed"


async def test_next_outcome_status_says_completed_but_result_failed(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    sandbox.state.next_outcome(status_says_completed=True)
    rid = await submit(http, sandbox)
    result = await finished_result(http, sandbox, rid)
    assert result["status"] == "failed" and result["error"]
    assert (await job_call(http, sandbox, rid, "status"))["status"] == "completed"


async def test_next_outcome_no_video(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    sandbox.state.next_outcome(no_video=True)
    rid = await submit(http, sandbox)
    result = await finished_result(http, sandbox, rid)
    assert result["status"] == "completed" and result["output"] == {}
    status, _ = await call(http, "GET", f"{sandbox.url}/_sandbox/videos/{rid}.mp4")
    assert status == 404


async def test_paused_jobs_stay_put_until_set_status(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    sandbox.config.paused = True
    sandbox.config.queue_seconds = 0.0
    rid = await submit(http, sandbox)
    await asyncio.sleep(0.1)
    assert (await job_call(http, sandbox, rid, "status"))["status"] == "in_queue"
    sandbox.state.set_status(rid, "in_progress")
    await asyncio.sleep(0.3)  # longer than run_seconds: paused, it must not finish
    assert (await job_call(http, sandbox, rid, "result"))["status"] == "in_progress"
    sandbox.state.set_status(rid, "completed")
    assert (await job_call(http, sandbox, rid, "result"))["output"]["video"]
    with pytest.raises(KeyError):
        sandbox.state.set_status("nope", "completed")
    with pytest.raises(ValueError):
        sandbox.state.set_status(rid, "succeeded")


# -- control endpoints and serve() -----------------------------------------------------------


async def test_control_endpoints(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    ctl = sandbox.url + "/_sandbox"
    status, config = await call(http, "POST", ctl + "/config", json={"paused": True}, headers={})
    assert status == 200 and config["paused"] is True and sandbox.config.paused
    status, _ = await call(http, "POST", ctl + "/config", json={"concurrency": "2"}, headers={})
    assert status == 400
    fault = {"route": "status", "status": 503, "retry_after": 1.5}
    assert (await call(http, "POST", ctl + "/faults", json=fault, headers={}))[0] == 200
    assert (await call(http, "POST", ctl + "/faults", json={"route": "x"}, headers={}))[0] == 400
    outcome = {"failed": True, "error": "boom"}
    assert (await call(http, "POST", ctl + "/outcomes", json=outcome, headers={}))[0] == 200

    rid = await submit(http, sandbox)
    async with http.get(f"{sandbox.url}/v1/requests/{rid}/status", headers=AUTH) as r:
        assert r.status == 503 and r.headers["Retry-After"] == "1.5"
    status, jobs = await call(http, "GET", ctl + "/jobs", headers={})
    [job] = jobs["jobs"]
    assert job["request_id"] == rid and job["status"] == "in_queue"
    assert job["outcome"]["failed"] is True and job["queue_position"] == 0

    url = f"{ctl}/jobs/{rid}/status"
    assert (await call(http, "POST", url, json={"status": "failed"}, headers={}))[0] == 200
    assert (await job_call(http, sandbox, rid, "result"))["error"] == "boom"
    assert (await call(http, "POST", url, json={"status": "bad"}, headers={}))[0] == 400
    nope = f"{ctl}/jobs/nope/status"
    assert (await call(http, "POST", nope, json={"status": "failed"}, headers={}))[0] == 404

    status, logged = await call(http, "GET", ctl + "/log", headers={})
    routes = [entry["route"] for entry in logged["log"]]
    assert {"control", "submit", "status", "result"} <= set(routes)
    assert (await call(http, "POST", ctl + "/reset", headers={}))[0] == 200
    assert not sandbox.state.jobs and not sandbox.state.faults
    assert sandbox.state.count("submit") == 0


async def test_serve_prints_its_url_and_stops_when_cancelled(
    capsys: pytest.CaptureFixture[str], http: aiohttp.ClientSession
) -> None:
    task = asyncio.create_task(serve(SandboxConfig(), "127.0.0.1", 0))
    printed = ""
    while "http://" not in printed:
        assert not task.done()
        await asyncio.sleep(0.01)
        printed += capsys.readouterr().out
    url = re.findall(r"http://127\.0\.0\.1:\d+", printed)[0]
    assert (await call(http, "GET", url + "/v1/requests/nope/status"))[0] == 404
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
