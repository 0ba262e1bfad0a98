"""`/_sandbox/...`: the state's steering methods over HTTP, for a sandbox in another process.

No bearer token is needed (the sandbox listens on loopback and holds nothing of value), and no
answer ever contains the configured token.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from aiohttp import web

from bot.sandbox import replies
from bot.sandbox.state import AUTH_FAILURES, SandboxConfig, SandboxState
from bot.sandbox.video import check_video_bytes


def add_routes(router: web.UrlDispatcher, key: web.AppKey[SandboxState]) -> None:
    def state_of(request: web.Request) -> SandboxState:
        return request.app[key]

    async def jobs(request: web.Request) -> web.Response:
        state = state_of(request)
        return web.json_response(
            {"jobs": [replies.job_summary(state, job) for job in state.jobs.values()]}
        )

    async def request_log(request: web.Request) -> web.Response:
        return web.json_response({"log": [dataclasses.asdict(e) for e in state_of(request).log]})

    async def faults(request: web.Request) -> web.Response:
        body = await _object(request)
        route = body.pop("route", None)
        if not isinstance(route, str):
            raise _bad("give the fault's route")
        try:
            state_of(request).add_fault(route, **body)
        except (TypeError, ValueError) as exc:
            raise _bad(str(exc)) from exc
        return web.json_response({"ok": True})

    async def outcomes(request: web.Request) -> web.Response:
        body = await _json(request)
        planned = body if isinstance(body, list) else [body]
        try:
            for outcome in planned:
                state_of(request).next_outcome(**outcome)
        except TypeError as exc:
            raise _bad(str(exc)) from exc
        return web.json_response({"ok": True, "planned": len(state_of(request).outcomes)})

    async def config(request: web.Request) -> web.Response:
        state = state_of(request)
        update_config(state.config, await _object(request))
        return web.json_response(config_summary(state.config))

    async def job_status(request: web.Request) -> web.Response:
        state = state_of(request)
        status = (await _object(request)).get("status")
        request_id = request.match_info["request_id"]
        try:
            state.set_status(request_id, str(status))
        except KeyError as exc:
            raise web.HTTPNotFound(reason="Unknown request") from exc
        except ValueError as exc:
            raise _bad(str(exc)) from exc
        return web.json_response(replies.job_summary(state, state.jobs[request_id]))

    async def reset(request: web.Request) -> web.Response:
        state_of(request).reset()
        return web.json_response({"ok": True})

    router.add_get("/_sandbox/jobs", jobs)
    router.add_get("/_sandbox/log", request_log)
    router.add_post("/_sandbox/faults", faults)
    router.add_post("/_sandbox/outcomes", outcomes)
    router.add_post("/_sandbox/config", config)
    router.add_post("/_sandbox/jobs/{request_id}/status", job_status)
    router.add_post("/_sandbox/reset", reset)


def config_summary(config: SandboxConfig) -> dict[str, Any]:
    summary = dataclasses.asdict(config)
    del summary["token"]
    summary["token_set"] = config.token is not None
    return summary


def update_config(config: SandboxConfig, changes: dict[str, Any]) -> None:
    """Apply `changes` all at once, or none of them if any is invalid (HTTP 400)."""
    known = {f.name for f in dataclasses.fields(SandboxConfig)}
    for name, value in changes.items():
        if name not in known:
            raise _bad(f"unknown setting {name!r}")
        problem = _config_problem(name, value)
        if problem:
            raise _bad(f"{name} {problem}")
    for name, value in changes.items():
        setattr(config, name, value)


def _config_problem(name: str, value: object) -> str | None:
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if name == "token":
        ok = value is None or (isinstance(value, str) and bool(value.strip()))
        return None if ok else "must be a non-empty string or null"
    if name == "paused":
        return None if isinstance(value, bool) else "must be true or false"
    if name == "auth_failure":
        return None if value in AUTH_FAILURES else f"must be one of {list(AUTH_FAILURES)}"
    if name == "video_base_url":
        ok = value is None or (isinstance(value, str) and value.startswith(("http://", "https://")))
        return None if ok else "must be an http(s) URL or null"
    if name in ("queue_seconds", "run_seconds"):
        ok = number is not None and number >= 0
        return None if ok else "must be a number of seconds, at least 0"
    if name == "concurrency":
        ok = isinstance(number, int) and number >= 0
        return None if ok else "must be a whole number, at least 0"
    if value is not None and not isinstance(number, int):
        return "must be a whole number of bytes or null"
    try:
        check_video_bytes(number if isinstance(number, int) else None)
    except ValueError as exc:
        return str(exc)
    return None


async def _json(request: web.Request) -> Any:
    try:
        return json.loads(await request.text() or "{}")
    except ValueError as exc:
        raise _bad("the body is not JSON") from exc


async def _object(request: web.Request) -> dict[str, Any]:
    body = await _json(request)
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    return body


def _bad(message: str) -> web.HTTPBadRequest:
    # The front door turns HTTP exceptions into {"detail": reason} JSON answers.
    return web.HTTPBadRequest(reason=message)
