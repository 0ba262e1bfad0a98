"""The REST entry point: route matching, body parsing, auth, rate limits, the call log.

One aiohttp handler serves all of /api/v10 and matches discord.py's own route templates, so
each logged call carries the same route key discord.py uses (e.g. `PATCH /channels/{channel_id}
/messages/{message_id}`). Unknown routes answer a JSON 404 and are logged, so gaps show up.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from .compose import UploadedFile
from .ratelimit import Decision, bucket_for
from .rules import DiscordError, not_found_route, unauthorized

if TYPE_CHECKING:
    from .server import FakeDiscord

log = logging.getLogger(__name__)
API_PREFIX = "/api/v10"

Via = Literal["bot", "interaction", "none"]
FAKE_KEY = web.AppKey["FakeDiscord"]("fake")


@dataclass(frozen=True)
class Call:
    """One REST request the client made, and what the fake answered."""

    method: str
    path: str  # without /api/v10
    route: str  # discord.py's route key, e.g. "POST /channels/{channel_id}/messages"
    status: int
    at: float  # time.monotonic() when received
    json: Any  # the JSON body (payload_json for multipart)
    via: Via  # through an interaction token, the bot token, or no valid auth
    params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    files: tuple[tuple[str, int], ...] = ()
    reply: Any = None  # the JSON answered

    @property
    def error_code(self) -> int | None:
        return self.reply.get("code") if isinstance(self.reply, dict) else None


@dataclass
class Req:
    method: str
    route: str
    path: str
    params: dict[str, str]
    query: Mapping[str, str]
    json: Any
    files: list[UploadedFile]
    via: Via

    @property
    def body(self) -> dict[str, Any]:
        return self.json if isinstance(self.json, dict) else {}

    def id(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise DiscordError(400, 50035, "Invalid Form Body") from None


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # None: no body (204)


Handler = Callable[["FakeDiscord", Req], Awaitable[Reply]]


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


ROUTES: list[_Route] = []


def route(method: str, template: str) -> Callable[[Handler], Handler]:
    parts = re.split(r"(\{\w+\})", template)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)

    def register(handler: Handler) -> Handler:
        ROUTES.append(_Route(method, template, re.compile(f"^{regex}$"), handler))
        return handler

    return register


def _match(method: str, path: str) -> tuple[_Route | None, dict[str, str], bool]:
    """The best route (literal segments beat parameters) and whether the path exists at all."""
    found = [(r, m) for r in ROUTES if (m := r.pattern.match(path))]
    for r, m in sorted(found, key=lambda rm: rm[0].template.count("{")):
        if r.method == method:
            return r, {k: unquote(v) for k, v in m.groupdict().items()}, True
    return None, {}, bool(found)


async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    if request.content_type.startswith("multipart/"):
        payload: Any = None
        files: list[UploadedFile] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue  # discord.py never nests multiparts
            data = bytes(await part.read(decode=False))
            name = part.name or ""
            if name == "payload_json":
                payload = json.loads(data)
            elif name.startswith("files["):
                index = int(name[6:-1])
                ctype = part.headers.get("Content-Type")
                files.append(UploadedFile(index, part.filename or name, data, ctype))
        return payload, files
    raw = await request.read()
    return (json.loads(raw) if raw else None), []


def _response(reply: Reply, headers: dict[str, str]) -> web.Response:
    if reply.body is None:
        return web.Response(status=reply.status, headers=headers)
    # Exactly "application/json": discord.py reads anything else (even with a charset) as text.
    body = json.dumps(reply.body, separators=(",", ":")).encode()
    return web.Response(
        status=reply.status, body=body, headers=headers | {"Content-Type": "application/json"}
    )


async def api_handler(request: web.Request) -> web.StreamResponse:
    fake = request.app[FAKE_KEY]
    received = time.monotonic()
    path = request.rel_url.raw_path.removeprefix(API_PREFIX) or "/"
    matched, params, path_exists = _match(request.method, path)
    template = matched.key if matched else f"{request.method} {path}"
    via: Via = "none"
    if matched and "{webhook_token}" in matched.template:
        via = "interaction"
    elif request.headers.get("Authorization") == f"Bot {fake.token}":
        via = "bot"
    payload: Any = None
    files: list[UploadedFile] = []
    headers: dict[str, str] = {}
    try:
        try:
            payload, files = await _read_body(request)
        except (ValueError, UnicodeDecodeError):
            raise DiscordError(400, 50109, "The request body contains invalid JSON.") from None
        if matched is None:
            log.warning("fake discord has no route for %s %s", request.method, path)
            if path_exists:
                raise DiscordError(405, 0, "405: Method Not Allowed")
            raise not_found_route()
        if via == "none":
            raise unauthorized()
        reply = await _limited(fake, matched, params, request, payload, files, via, headers)
    except DiscordError as exc:
        reply = Reply(exc.status, exc.body())
    except Exception:
        log.exception("fake discord failed on %s %s", request.method, path)
        reply = Reply(500, {"code": 0, "message": "500: Internal Server Error"})
    call = Call(
        request.method,
        path,
        template,
        reply.status,
        received,
        payload,
        via,
        params,
        dict(request.query),
        tuple((f.filename, len(f.content)) for f in files),
        reply.body,
    )
    fake.record_call(call, unhandled=matched is None)
    return _response(reply, headers)


async def _limited(
    fake: FakeDiscord,
    matched: _Route,
    params: dict[str, str],
    request: web.Request,
    payload: Any,
    files: list[UploadedFile],
    via: Via,
    headers: dict[str, str],
) -> Reply:
    rules = fake.rules
    if rules.enforce_global_limit and via == "bot":
        decision = fake.limiter.hit_global(rules.global_limit, rules.global_window)
        if not decision.allowed:
            headers.update(decision.headers)
            return _rate_limited(decision, is_global=True)
    if rules.enforce_rate_limits:
        decision = fake.limiter.hit(bucket_for(matched.key, params, rules))
        headers.update(decision.headers)
        if not decision.allowed:
            return _rate_limited(decision, is_global=False)
    req = Req(request.method, matched.key, request.path, params, request.query, payload, files, via)
    return await matched.handler(fake, req)


def _rate_limited(decision: Decision, *, is_global: bool) -> Reply:
    body = {
        "message": "You are being rate limited.",
        "retry_after": decision.retry_after,
        "global": is_global,
    }
    return Reply(429, body)
