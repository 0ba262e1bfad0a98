"""Discord-style rate limiting: fixed windows per bucket and major parameter, with real headers.

discord.py paces itself from `X-RateLimit-Remaining` and `-Reset-After`, so those must be exact:
`Reset-After` is rounded up to the millisecond so a client that sleeps it never arrives early.
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


class RateLimiter:
    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], _Window] = {}

    def hit(self, bucket: Bucket) -> Decision:
        now = time.monotonic()
        key = (bucket.name, bucket.major)
        window = self._windows.get(key)
        if window is None or now >= window.started + bucket.window:
            window = self._windows[key] = _Window(now, 0)
        reset_after = max(0.0, window.started + bucket.window - now)
        allowed = window.count < bucket.limit
        if allowed:
            window.count += 1
        reset_after_ms = math.ceil(reset_after * 1000) / 1000
        headers = {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(bucket.limit - window.count),
            "X-RateLimit-Reset": f"{time.time() + reset_after_ms:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after_ms:.3f}",
            "X-RateLimit-Bucket": bucket.hash,
        }
        if not allowed:
            headers["X-RateLimit-Scope"] = "user"
            headers["Retry-After"] = str(max(1, math.ceil(reset_after_ms)))
            # discord.py treats a 429 without Via as a Cloudflare ban and raises instead.
            headers["Via"] = "1.1 google"
        return Decision(allowed, headers, reset_after_ms)
