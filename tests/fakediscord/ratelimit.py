"""Discord-style rate limiting: fixed windows per bucket and major parameter, with real headers,
plus the global limit on everything sent with the bot token.

discord.py paces itself from `X-RateLimit-Remaining` and `-Reset-After`, so those must be exact:
`Reset-After` is rounded up to the millisecond so a client that sleeps it never arrives early.
The global limit has no headers to pace by: discord.py learns of it only from a 429 with
`"global": true`, then holds every new request until `retry_after` has passed.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from .rules import Rules

MESSAGE_ROUTES = frozenset(
    {
        "POST /channels/{channel_id}/messages",
        "PATCH /channels/{channel_id}/messages/{message_id}",
    }
)


@dataclass(frozen=True)
class Bucket:
    name: str
    major: str
    limit: int
    window: float

    @property
    def hash(self) -> str:
        return hashlib.md5(self.name.encode()).hexdigest()


@dataclass
class _Window:
    started: float
    count: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    headers: dict[str, str]
    retry_after: float


def bucket_for(route: str, params: dict[str, str], rules: Rules) -> Bucket:
    """Which bucket a route falls in: Discord's per-resource grouping, simplified."""
    if route in MESSAGE_ROUTES:
        return Bucket(
            "channel-messages",
            params["channel_id"],
            rules.message_bucket_limit,
            rules.message_bucket_window,
        )
    if route.split(" ", 1)[1].startswith("/webhooks/{webhook_id}/{webhook_token}"):
        # Each interaction token is its own bucket (and exempt from the global limit).
        return Bucket(
            "interaction-webhook",
            params["webhook_token"],
            rules.webhook_bucket_limit,
            rules.webhook_bucket_window,
        )
    major = next(
        (params[k] for k in ("channel_id", "guild_id", "webhook_id") if k in params), "global"
    )
    return Bucket(route, major, rules.default_bucket_limit, rules.default_bucket_window)


GLOBAL_KEY = ("global", "bot")  # one window for the bot token, whatever the route


class RateLimiter:
    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], _Window] = {}

    def reset(self) -> None:
        """Forget every window: all buckets and the global limit start afresh."""
        self._windows.clear()

    def _take(self, key: tuple[str, str], limit: int, length: float) -> tuple[bool, int, float]:
        """Count one request in `key`'s current window: (allowed, remaining, reset after)."""
        now = time.monotonic()
        window = self._windows.get(key)
        if window is None or now >= window.started + length:
            window = self._windows[key] = _Window(now, 0)
        allowed = window.count < limit
        if allowed:
            window.count += 1
        reset_after = max(0.0, window.started + length - now)
        return allowed, limit - window.count, math.ceil(reset_after * 1000) / 1000

    def hit(self, bucket: Bucket) -> Decision:
        allowed, remaining, reset_after_ms = self._take(
            (bucket.name, bucket.major), bucket.limit, bucket.window
        )
        headers = {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after_ms:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after_ms:.3f}",
            "X-RateLimit-Bucket": bucket.hash,
        }
        if not allowed:
            headers |= _limited_headers("user", reset_after_ms)
        return Decision(allowed, headers, reset_after_ms)

    def hit_global(self, limit: int, window: float) -> Decision:
        """One bot-token request against the global limit (interaction tokens never come here).

        As on Discord, a global 429 carries no per-bucket headers, only the global ones.
        """
        allowed, _, reset_after_ms = self._take(GLOBAL_KEY, limit, window)
        if allowed:
            return Decision(True, {}, 0.0)
        headers = {"X-RateLimit-Global": "true"} | _limited_headers("global", reset_after_ms)
        return Decision(False, headers, reset_after_ms)


def _limited_headers(scope: str, retry_after: float) -> dict[str, str]:
    return {
        "X-RateLimit-Scope": scope,
        "Retry-After": str(max(1, math.ceil(retry_after))),
        # discord.py treats a 429 without Via as a Cloudflare ban and raises instead.
        "Via": "1.1 google",
    }
