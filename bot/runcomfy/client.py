"""The RunComfy model API client: submit, poll, cancel and download.

Every API call passes through `_request()`, the one place that adds the token, sets the timeout,
reads JSON, checks `error_code` (RunComfy sends some errors with HTTP 200), maps failures onto
`errors.py` and retries what is safe to repeat. A submit has no idempotency key, so it is sent
again only when it surely never arrived (could not connect) or RunComfy said 429/503; a submit
whose answer was lost or unreadable raises `SubmitUncertain` instead, since it may have created a
billed job. Downloads go only to allowed hosts (see `hosts.py`), redirects checked hop by hop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pathlib
import random
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from yarl import URL

from bot.config import DEFAULT_DOWNLOAD_HOSTS, Secret
from bot.core import provider_errors as e
from bot.core.provider import CancelOutcome, JobResult, StatusReport, Submission
from bot.core.telemetry import NullTelemetry, Telemetry, outcome_of
from bot.runcomfy.files import remove_file as _remove
from bot.runcomfy.files import stream_to as _stream_to
from bot.runcomfy.hosts import DOWNLOAD_SCHEMES, host_allowed, parse_patterns, shown_host, url_host
from bot.runcomfy.models import (
    error_code,
    parse_cancel,
    parse_result,
    parse_retry_after,
    parse_status,
    parse_submission,
    provider_message,
    request_url,
    validation_details,
)

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# An explicit "not now" that says the job was not taken; any other 5xx may hide a created job.
SUBMIT_RETRY_STATUSES = frozenset({429, 503})
INTERNAL_CODE = 500001
CODE_ERRORS: dict[int, type[e.RunComfyError]] = {
    400001: e.UnknownModel,
    400002: e.InsufficientCredits,
    400004: e.AuthError,
    401001: e.AuthError,
    403001: e.Forbidden,
    404001: e.NotFound,
    422001: e.InvalidInput,
    INTERNAL_CODE: e.Unavailable,
}
STATUS_ERRORS: dict[int, type[e.RunComfyError]] = {
    401: e.AuthError,
    403: e.Forbidden,
    404: e.NotFound,
    408: e.RateLimited,
    422: e.InvalidInput,
    429: e.RateLimited,
}
EXPIRED_VIDEO = "The finished video could not be fetched any more; its link may have expired."
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
REDIRECT_LOOP = "The finished video's address kept redirecting, so the bot gave up fetching it."
# A refused token after the submit: the job may exist, so "nothing was made" would not be true.
AUTH_AFTER_SUBMIT = (
    "The bot is misconfigured (its RunComfy token was refused), so it could not reach this job "
    "on RunComfy. Tell a server admin."
)

_RETRY_LOG = "runcomfy %s %s failed (%s); attempt %d/%d, retrying in %.2fs"
# Connection-level failures: the first group happens before a byte of the request is written.
_NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
_LOST = (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)


@dataclass
class _Failure:
    """One failed attempt: what to raise if we stop now, and whether repeating it is safe."""

    error: e.RunComfyError
    retry: bool
    retry_after: float | None = None


class RunComfyClient:
    """Talks to RunComfy's model API over a borrowed `aiohttp.ClientSession`.

    The session must not carry a default Authorization header: downloads go to file hosts. Those
    are `download_hosts` (patterns as in `hosts.py`) plus the host of `base_url`, always.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        token: Secret | None,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        download_hosts: Iterable[str] = DEFAULT_DOWNLOAD_HOSTS,
        telemetry: Telemetry | None = None,
    ) -> None:
        if max_attempts < 1 or not timeout > 0:
            raise ValueError("max_attempts must be >= 1 and timeout > 0")
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._download_hosts = parse_patterns(download_hosts)
        # The API's own host serves files too (the sandbox's videos, on 127.0.0.1 in tests).
        self._api_host = url_host(URL(self._base_url))
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # A video can take longer than `timeout` to arrive in full; bound the stalls instead.
        self._download_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=timeout, sock_read=timeout
        )
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._rng = random.Random()
        self.requests_sent: Counter[str] = Counter()
        self.telemetry: Telemetry = telemetry or NullTelemetry()  # every attempt, timed

    def __repr__(self) -> str:
        token = "set" if self._token is not None else "unset"
        return f"RunComfyClient(base_url={self._base_url!r}, token={token})"

    async def submit(self, model_path: str, payload: Mapping[str, object]) -> Submission:
        url = f"{self._base_url}/v1/models/{quote(model_path.strip('/'), safe='/')}"
        body = await self._request("submit", "POST", url, json_body=dict(payload))
        try:
            submission = parse_submission(body, self._base_url)
        except e.BadResponse as exc:
            # RunComfy said yes but we cannot track the job: it may exist and be billed.
            raise e.SubmitUncertain(f"submit {model_path}: {exc}") from None
        log.debug("submitted %s as request %s", model_path, submission.request_id)
        return submission

    async def status(self, request_id: str) -> StatusReport:
        url = request_url(self._base_url, request_id, "status")
        return parse_status(await self._request("status", "GET", url), request_id)

    async def result(self, request_id: str) -> JobResult:
        url = request_url(self._base_url, request_id, "result")
        parsed = parse_result(await self._request("result", "GET", url), request_id)
        if parsed.error is None:
            return parsed
        # The provider's failure text ends up on a public card.
        return replace(parsed, error=self._scrub(parsed.error))

    async def cancel(self, request_id: str) -> CancelOutcome:
        url = request_url(self._base_url, request_id, "cancel")
        outcome = parse_cancel(await self._request("cancel", "POST", url), request_id)
        log.info("cancel request %s: cancelled=%s", request_id, outcome.cancelled)
        return outcome

    async def download(self, url: str, dest: pathlib.Path, *, max_bytes: int) -> int:
        """Stream `url` into `dest` and return the bytes written; no token is sent.

        `UntrustedHost` if the URL, or a redirect on the way, leaves the allowed hosts or http(s).
        """
        start = self._trusted(url, "download")
        host = shown_host(start)  # signed query strings stay out of the logs
        try:
            for attempt in range(1, self._max_attempts + 1):
                started = time.monotonic()
                outcome = await self._download_once(start, dest, max_bytes)
                self._meter("download", outcome, started)
                if isinstance(outcome, int):
                    log.info("downloaded %d bytes from %s", outcome, host)
                    return outcome
                await self._before_retry("download", host, attempt, outcome)
        except BaseException:
            _remove(dest)
            raise
        raise AssertionError("unreachable: the last attempt raises")

    async def _request(
        self, op: str, method: str, url: str, *, json_body: object = None
    ) -> dict[str, Any]:
        route = urlsplit(url).path
        for attempt in range(1, self._max_attempts + 1):
            started = time.monotonic()
            outcome = await self._attempt(op, method, url, route, json_body)
            self._meter(op, outcome, started)
            if isinstance(outcome, dict):
                return outcome
            await self._before_retry(op, route, attempt, outcome)
        raise AssertionError("unreachable: the last attempt raises")

    def _meter(self, op: str, outcome: object, started: float) -> None:
        error = outcome.error if isinstance(outcome, _Failure) else None
        self.telemetry.provider_request(op, outcome_of(error), time.monotonic() - started)

    async def _before_retry(self, op: str, route: str, attempt: int, failure: _Failure) -> None:
        """Sleep before the next attempt, or raise the failure when no retry is due."""
        if not failure.retry or attempt >= self._max_attempts:
            raise failure.error
        cap = min(self._backoff_max, self._backoff_base * 2 ** (attempt - 1))
        delay = self._rng.uniform(0, cap)  # full jitter: callers polling together spread out
        if failure.retry_after is not None:
            if failure.retry_after > self._backoff_max:
                # Longer than we block a caller for: hand the wait back rather than hang.
                raise failure.error
            delay = max(delay, failure.retry_after)
        log.warning(_RETRY_LOG, op, route, failure.error, attempt, self._max_attempts, delay)
        await asyncio.sleep(delay)

    async def _attempt(
        self, op: str, method: str, url: str, route: str, json_body: object
    ) -> dict[str, Any] | _Failure:
        headers = {"Accept": "application/json"}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token.reveal()}"
        try:
            self.requests_sent[op] += 1
            # No redirects: the token must only ever reach the configured API host.
            async with self._session.request(
                method,
                url,
                json=json_body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as resp:
                raw = await resp.read()
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                status = resp.status
        except _NOT_SENT as exc:
            self.requests_sent[op] -= 1  # never reached the server
            return _Failure(e.Unavailable(f"{op} {route}: could not connect: {exc}"), retry=True)
        except _LOST as exc:
            reason = f"{op} {route}: no answer ({type(exc).__name__})"
            if op == "submit":
                return _Failure(e.SubmitUncertain(reason), retry=False)
            return _Failure(e.Unavailable(reason), retry=True)
        except aiohttp.ClientError as exc:
            return _Failure(e.Unavailable(f"{op} {route}: {type(exc).__name__}"), retry=False)
        log.debug("runcomfy %s %s %s -> HTTP %d", op, method, route, status)
        return self._read_answer(op, route, status, raw, retry_after)

    def _read_answer(
        self, op: str, route: str, status: int, raw: bytes, retry_after: float | None
    ) -> dict[str, Any] | _Failure:
        try:
            data = json.loads(raw) if raw.strip() else None
        except ValueError:  # also covers bytes that are not UTF-8
            data = None
        body: dict[str, Any] = data if isinstance(data, dict) else {}
        code = error_code(body)
        if 200 <= status < 300 and code is None:
            return body if isinstance(data, dict) else _unreadable(op, route, status)
        reason = self._scrub(provider_message(body) or "no reason given")
        message = f"{op} {route}: HTTP {status}" + (f" code {code}" if code else "") + f": {reason}"
        known = CODE_ERRORS.get(code) if code is not None else None
        transient = (known is None and status in RETRY_STATUSES) or code == INTERNAL_CODE
        server_fault = code == INTERNAL_CODE or (known is None and status >= 500)
        if op == "submit" and server_fault and status not in SUBMIT_RETRY_STATUSES:
            # It failed inside RunComfy, maybe after the job was created and billed.
            return _Failure(e.SubmitUncertain(message, code=code, http_status=status), False)
        cls = known or STATUS_ERRORS.get(status)
        if cls is None:
            cls = e.Unavailable if status >= 500 else e.BadResponse if status < 400 else None
        if cls is e.AuthError:
            return _Failure(self._auth_error(op, route, status, code, reason), retry=False)
        kwargs: dict[str, Any] = {"code": code, "http_status": status}
        if cls is e.InvalidInput:
            kwargs["details"] = [self._scrub(d) for d in validation_details(body)]
        elif cls is e.RateLimited:
            kwargs["retry_after"] = retry_after
        error = (cls or e.RunComfyError)(message, **kwargs)
        retry = transient and (op != "submit" or status in SUBMIT_RETRY_STATUSES)
        return _Failure(error, retry, retry_after)

    def _auth_error(
        self, op: str, route: str, status: int, code: int | None, reason: str
    ) -> e.AuthError:
        # The operator's log line says what was refused and how; the token itself never appears.
        how = f"HTTP {status}" + (f", code {code}" if code else "")
        if self._token is None:
            how += ", no token is set"
        message = f"{op} {route}: RunComfy token was refused ({how}); check RUNCOMFY_API_TOKEN"
        user_message = None if op == "submit" else AUTH_AFTER_SUBMIT
        return e.AuthError(
            f"{message}: {reason}", user_message=user_message, code=code, http_status=status
        )

    async def _download_once(self, url: URL, dest: pathlib.Path, max_bytes: int) -> int | _Failure:
        """One attempt, from the first URL: up to MAX_REDIRECTS redirects, each hop checked."""
        for _ in range(MAX_REDIRECTS + 1):
            outcome = await self._fetch(url, dest, max_bytes)
            if not isinstance(outcome, URL):
                return outcome
            url = outcome
        message = f"download from {shown_host(url)}: more than {MAX_REDIRECTS} redirects"
        return _Failure(e.BadResponse(message, user_message=REDIRECT_LOOP), retry=False)

    async def _fetch(self, url: URL, dest: pathlib.Path, max_bytes: int) -> int | URL | _Failure:
        """One request: the bytes written, the next hop of a redirect, or a failure."""
        host = shown_host(url)
        try:
            self.requests_sent["download"] += 1
            # Redirects are followed by hand, so that every hop's host is checked first.
            async with self._session.get(
                url, timeout=self._download_timeout, allow_redirects=False
            ) as resp:
                if resp.status in REDIRECT_STATUSES:
                    return self._next_hop(url, resp.status, resp.headers.get("Location"))
                if not 200 <= resp.status < 300:
                    return _download_failure(host, resp.status, resp.headers.get("Retry-After"))
                size = resp.content_length
                if size is not None and size > max_bytes:
                    raise e.TooLarge(max_bytes, size)
                return await _stream_to(resp, dest, max_bytes)
        except _NOT_SENT as exc:
            self.requests_sent["download"] -= 1
            return _Failure(e.Unavailable(f"download from {host}: could not connect: {exc}"), True)
        except _LOST as exc:
            reason = f"download from {host}: interrupted ({type(exc).__name__})"
            return _Failure(e.Unavailable(reason), retry=True)
        except aiohttp.ClientError as exc:
            return _Failure(e.Unavailable(f"download from {host}: {type(exc).__name__}"), False)

    def _next_hop(self, url: URL, status: int, location: str | None) -> URL | _Failure:
        if not location:
            message = f"download from {shown_host(url)}: HTTP {status} without a Location"
            return _Failure(e.BadResponse(message, http_status=status), retry=False)
        target = self._trusted(location, f"redirect from {shown_host(url)}", base=url)
        log.debug("download from %s redirected to %s", shown_host(url), shown_host(target))
        return target

    def _trusted(self, location: str, context: str, *, base: URL | None = None) -> URL:
        """`location` as an absolute URL (relative to `base`) on an allowed host: UntrustedHost."""
        try:
            url = URL(location)
            url = base.join(url) if base is not None else url
            host = url_host(url)
        except ValueError:  # includes bad IDNA names (UnicodeError)
            raise e.UntrustedHost(f"{context} refused: not a valid URL") from None
        if url.scheme not in DOWNLOAD_SCHEMES:
            raise e.UntrustedHost(f"{context} refused: scheme {url.scheme[:20]!r} is not http(s)")
        if not host or (host != self._api_host and not host_allowed(host, self._download_hosts)):
            shown = shown_host(url)
            raise e.UntrustedHost(f"{context} refused: {shown} is not in RUNCOMFY_DOWNLOAD_HOSTS")
        return url

    def _scrub(self, text: str) -> str:
        # Provider text is echoed into exceptions and logs; it must never carry the token.
        if self._token is not None and self._token.reveal():
            text = text.replace(self._token.reveal(), "[token]")
        return text


def _download_failure(host: str, status: int, retry_after_header: str | None) -> _Failure:
    message = f"download from {host}: HTTP {status}"
    if status in (403, 404, 410):  # an expired signed link answers any of these
        return _Failure(e.NotFound(message, http_status=status, user_message=EXPIRED_VIDEO), False)
    retry_after = parse_retry_after(retry_after_header)
    if status in (408, 429):
        error: e.RunComfyError = e.RateLimited(message, retry_after=retry_after, http_status=status)
    elif status >= 500:
        error = e.Unavailable(message, http_status=status)
    else:
        error = e.RunComfyError(message, http_status=status)
    return _Failure(error, status in RETRY_STATUSES, retry_after)


def _unreadable(op: str, route: str, status: int) -> _Failure:
    message = f"{op} {route}: HTTP {status}, not a JSON object"
    if op == "submit":
        # A yes we cannot read is most likely a created, billed job: never send it again.
        return _Failure(e.SubmitUncertain(message, http_status=status), retry=False)
    return _Failure(e.BadResponse(message, http_status=status), retry=False)
