"""/botstatus as a member with Manage Server reads it: a few plain lines."""

from __future__ import annotations

import math

from bot.status import BotStatus
from bot.ui.budget import MESSAGE_CHARS, clip


def duration(seconds: float) -> str:
    """`3 d 4 h`, `2 h 5 min`, `7 min`, `12 s`: the two largest units."""
    seconds = max(int(seconds), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{secs} s"


def _ms(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds * 1000:.0f} ms"


def render_status(s: BotStatus, gateway_latency: float) -> str:
    p = s.provider
    if p.count:
        rate = 100 * (p.error_rate or 0.0)
        provider = (
            f"{p.count} requests, {_ms(p.p50)} median, {_ms(p.p95)} p95, "
            f"{p.errors} failed ({rate:.1f} %)"
        )
    else:
        provider = "no requests"
    load = s.load
    oldest = "none open" if load.oldest_age is None else f"{duration(load.oldest_age)} old"
    latency = "?" if math.isnan(gateway_latency) else _ms(gateway_latency)
    lines = [
        f"**Seedance Bot {s.version}**, up {duration(s.uptime)}; gateway latency {latency}.",
        f"RunComfy, last hour: {provider}.",
        f"Jobs here: {load.queued_here} queued, {load.running_here} running. "
        f"All servers: {load.queued} queued, {load.running} running. Oldest open job: {oldest}.",
        f"Credits spent today in this server: {s.credits_today}.",
        f"Discord rate limits hit: {s.limits_hour} in the last hour, {s.limits_total} since start.",
    ]
    return clip("\n".join(lines), MESSAGE_CHARS)
