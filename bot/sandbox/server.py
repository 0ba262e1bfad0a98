"""A RunComfy-compatible model API on 127.0.0.1, for tests, the demo and credit-free trials.

It speaks the submit/status/result/cancel contract of /work/shared/runcomfy-api.md, validates
each body strictly against the schema of the model in its path (any model of its catalog: the
shipped `bot/models` unless given another `Catalog`), moves jobs through a FIFO queue in
scaled-down time, serves a real MP4, and can be told to misbehave (faults, failing outcomes,
forced states).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType

from aiohttp import web

from bot.core.catalog import Catalog
from bot.sandbox import control, replies
from bot.sandbox.state import Fault, LoggedRequest, SandboxConfig, SandboxJob, SandboxState
from bot.sandbox.validation import check_body
from bot.sandbox.video import send_video

log = logging.getLogger(__name__)

STATE_KEY = web.AppKey("sandbox_state", SandboxState)
MODELS_KEY = web.AppKey("sandbox_models", Catalog)
TICK_SECONDS = 0.025
# Long fault delays must not hold a test's teardown for aiohttp's default minute.
SHUTDOWN_SECONDS = 0.5
_API_ROUTES = frozenset({"submit", "status", "result", "cancel", "video"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECT_TIMES = 50

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    config: SandboxConfig | None = None, *, catalog: Catalog | None = None
) -> web.Application:
    """The sandbox as an aiohttp application; its state is at `app[STATE_KEY]`.

    It accepts submits for the models of `catalog` (default: the shipped ones) and answers any
    other model path as RunComfy does an unknown model (400001).
    """
    app = web.Application(middlewares=[_front_door])
    app[STATE_KEY] = SandboxState(config or SandboxConfig())
    app[MODELS_KEY] = catalog if catalog is not None else Catalog.shipped()
    app.router.add_post("/v1/models/{model_path:.+}", _submit, name="submit")
    app.router.add_get("/v1/requests/{request_id}/status", _status, name="status")
    app.router.add_get("/v1/requests/{request_id}/result", _result, name="result")
    app.router.add_post("/v1/requests/{request_id}/cancel", _cancel, name="cancel")
    app.router.add_get("/_sandbox/videos/{request_id}.mp4", _video, name="video")
    app.router.add_get("/_sandbox/redirect", _redirect, name="redirect")
    control.add_routes(app.router, STATE_KEY)
    app.cleanup_ctx.append(_ticker)
    return app


async def _ticker(app: web.Application) -> AsyncIterator[None]:
    """Advance the queue in the background; handlers also advance it so answers are current."""
    state = app[STATE_KEY]

    async def tick() -> None:
        while True:
            try:
                state.advance()
            except Exception:  # one bad tick must not freeze every job for the rest of the run
                log.exception("sandbox tick failed")
            await asyncio.sleep(TICK_SECONDS)

    task = asyncio.create_task(tick(), name="sandbox-ticker")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _route_of(request: web.Request) -> str:
    name = request.match_info.route.name
    if name in _API_ROUTES or name == "redirect":
        return name
    if request.match_info.http_exception is None and request.path.startswith("/_sandbox/"):
        return "control"
    return "other"


@web.middleware
async def _front_door(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Log every request, apply any pending fault, and keep every answer JSON."""
    state = request.app[STATE_KEY]
    route = _route_of(request)
    entry = LoggedRequest(
        route, request.method, request.path, time.monotonic(), request.match_info.get("request_id")
    )
    state.record(entry)
    fault = state.take_fault(route) if route in _API_ROUTES else None
    if fault is not None and fault.delay > 0:
        await asyncio.sleep(fault.delay)
    if fault is not None and fault.drop:
        if route != "video":  # the request is processed (a submit creates its job) ...
            await _answer(request, handler)
        _drop(request)  # ... but the answer is lost.
        # Never sent (aiohttp ignores the failed write); 444 is nginx's "closed, no answer",
        # which is what the access log then shows.
        return web.Response(status=444)
    if fault is not None and fault.status is not None:
        if fault.text is not None and 200 <= fault.status < 300:
            # A mangled yes, as from a proxy: the request is processed (a submit creates its job).
            await _answer(request, handler)
        response: web.StreamResponse = _fault_answer(fault.status, fault)
    else:
        response = await _answer(request, handler)
    entry.status = response.status
    return response


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:  # routing errors, in FastAPI's shape
        return web.json_response({"detail": exc.reason}, status=exc.status)


def _fault_answer(status: int, fault: Fault) -> web.Response:
    if fault.text is not None:
        response = web.Response(status=status, text=fault.text, content_type="text/html")
    else:
        body = fault.body if fault.body is not None else replies.default_error_body(status)
        response = web.json_response(body, status=status)
    if fault.retry_after is not None:
        seconds = float(fault.retry_after)
        # Whole seconds as HTTP says; a fraction only if a fast test asked for one.
        response.headers["Retry-After"] = (
            str(int(seconds)) if seconds.is_integer() else str(seconds)
        )
    return response


def _drop(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


def _authorize(request: web.Request) -> str | web.Response:
    """The caller's bearer token, or the error RunComfy gives instead. Never echoes the token."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return replies.error(401, 401001, "Unauthorized")
    config = request.app[STATE_KEY].config
    if config.token is not None and token != config.token:
        if config.auth_failure == "401":
            return replies.error(401, 401001, "Invalid, expired or revoked token")
        return replies.error(400, 400004, "Invalid, expired or revoked token")
    return token


def _own_job(request: web.Request) -> SandboxJob | web.Response:
    token = _authorize(request)
    if isinstance(token, web.Response):
        return token
    state = request.app[STATE_KEY]
    state.advance()
    job = state.jobs.get(request.match_info["request_id"])
    if job is None:
        return replies.error(404, 404001, "Request not found or expired")
    if not state.owned_by(job, token):
        return replies.error(403, 403001, "Forbidden: this request belongs to another account")
    return job


async def _submit(request: web.Request) -> web.StreamResponse:
    token = _authorize(request)
    if isinstance(token, web.Response):
        return token
    # Media URLs in the body are checked as http(s) URLs only: the sandbox never fetches them.
    spec = request.app[MODELS_KEY].by_path(request.match_info["model_path"])
    if spec is None:
        shown = request.match_info["model_path"][:100]
        return replies.error(400, 400001, f"Unknown model: {shown}")
    try:
        raw = json.loads(await request.text())
    except ValueError:
        raw = None
        problems = [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}]
    else:
        problems = check_body(spec, raw)
    if problems:
        message = "Invalid input: " + "; ".join(str(p["msg"]) for p in problems)
        return replies.error(422, 422001, message, detail=problems)
    job = request.app[STATE_KEY].submit(raw, token)
    urls = replies.job_urls(replies.base_url(request), job.request_id)
    return web.json_response({"request_id": job.request_id, **urls})


async def _status(request: web.Request) -> web.StreamResponse:
    job = _own_job(request)
    if isinstance(job, web.Response):
        return job
    body = replies.status_body(request.app[STATE_KEY], job, replies.base_url(request))
    return web.json_response(body)


async def _result(request: web.Request) -> web.StreamResponse:
    job = _own_job(request)
    if isinstance(job, web.Response):
        return job
    body = replies.result_body(request.app[STATE_KEY], job, replies.base_url(request))
    return web.json_response(body)


async def _cancel(request: web.Request) -> web.StreamResponse:
    job = _own_job(request)
    if isinstance(job, web.Response):
        return job
    cancelled = request.app[STATE_KEY].cancel(job.request_id)
    outcome = "cancelled" if cancelled else "not_cancellable"
    return web.json_response(
        {"request_id": job.request_id, "status": job.status, "outcome": outcome}
    )


async def _video(request: web.Request) -> web.StreamResponse:
    # No auth, like the provider's CDN links.
    state = request.app[STATE_KEY]
    job = state.jobs.get(request.match_info["request_id"])
    if job is None or not job.has_video:
        return replies.error(404, 404001, "No video for this request")
    try:
        return await send_video(request, state.config.video_bytes)
    except ValueError as exc:
        return replies.error(500, 500001, str(exc))


async def _redirect(request: web.Request) -> web.StreamResponse:
    """`?to=<url>[&times=N][&status=302]`: redirect N times (relative hops), the last to `to`.

    Gives a client's download redirect handling something to follow, chain and refuse.
    """
    query = request.rel_url.query
    to = query.get("to")
    try:
        times = int(query.get("times", "1"))
        status = int(query.get("status", "302"))
    except ValueError:
        times = status = 0
    if not to or not 1 <= times <= MAX_REDIRECT_TIMES or status not in REDIRECT_STATUSES:
        message = f"give to=<url>, times 1 to {MAX_REDIRECT_TIMES}, status 301/302/303/307/308"
        raise web.HTTPBadRequest(reason=message)
    # The chain's own hops are relative, so a client must resolve them against the current URL.
    location = str(request.rel_url.update_query(times=times - 1)) if times > 1 else to
    return web.json_response({"location": location}, status=status, headers={"Location": location})


async def _start(app: web.Application, host: str, port: int, *, access_log: bool) -> web.AppRunner:
    runner = web.AppRunner(
        app, access_log=log if access_log else None, shutdown_timeout=SHUTDOWN_SECONDS
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


def _url(runner: web.AppRunner, host: str) -> str:
    port = runner.addresses[0][1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class Sandbox:
    """Runs the sandbox on `host`:`port` (0 = a free port) for the life of an `async with`."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        catalog: Catalog | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.app = create_app(config, catalog=catalog)
        self.state: SandboxState = self.app[STATE_KEY]
        self.url = ""
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None

    @property
    def config(self) -> SandboxConfig:
        return self.state.config

    @config.setter
    def config(self, value: SandboxConfig) -> None:
        self.state.config = value

    async def __aenter__(self) -> Sandbox:
        self._runner = await _start(self.app, self._host, self._port, access_log=False)
        self.url = _url(self._runner, self._host)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def serve(
    config: SandboxConfig, host: str, port: int, *, catalog: Catalog | None = None
) -> None:
    """Run the sandbox until cancelled, announcing the URL to point RUNCOMFY_BASE_URL at."""
    runner = await _start(create_app(config, catalog=catalog), host, port, access_log=True)
    try:
        url = _url(runner, host)
        auth = "its configured token" if config.token else "any bearer token"
        log.info("RunComfy sandbox listening on %s", url)
        print(f"RunComfy sandbox listening on {url} (accepts {auth})", flush=True)
        print(f"Point the bot at it with RUNCOMFY_BASE_URL={url}", flush=True)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
