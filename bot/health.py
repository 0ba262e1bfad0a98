"""Is the bot alive, and the optional metrics endpoint (METRICS_PORT) that says so.

Alive means both: the Discord gateway is connected, and the job runner works (no job waiting at
RunComfy has gone unlooked-at for minutes: `JobService.runner_alive`, fed by the heartbeat every
look beats). With METRICS_PORT the bot serves `/metrics` (Prometheus text) and `/healthz` (200,
or 503 when not alive, with the same JSON either way); `probe_endpoint()` asks it for
`python -m bot check --health`, which without a port reads the database heartbeat instead
(bot/ops/health.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import discord
from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from bot.config import Settings
from bot.core.domain import JobStatus
from bot.metrics import Metrics
from bot.services import Services

log = logging.getLogger(__name__)


def gateway_connected(bot: discord.Client) -> bool:
    if not bot.is_ready() or bot.is_closed():
        return False
    if isinstance(bot, discord.AutoShardedClient):  # every shard of this process
        return bool(bot.shards) and all(not shard.is_closed() for shard in bot.shards.values())
    ws = bot.ws
    return ws is not None and ws.open


def cached_views(bot: discord.Client) -> int:
    """Views discord.py keeps for dispatch (its view store): should not grow with jobs."""
    store = getattr(getattr(bot, "_connection", None), "_view_store", None)
    if store is None:
        return 0
    return len(getattr(store, "_views", ())) + len(getattr(store, "_synced_message_views", ()))


class Health:
    def __init__(self, bot: discord.Client, services: Services, metrics: Metrics) -> None:
        self._bot = bot
        self._services = services
        self._metrics = metrics

    def status(self) -> dict[str, Any]:
        gateway = gateway_connected(self._bot)
        runner = self._services.jobs.runner_alive()
        return {"ok": gateway and runner, "gateway": gateway, "runner": runner, "at": time.time()}

    async def refresh(self) -> None:
        """Set the gauges that describe now, just before a scrape."""
        m, status = self._metrics, self.status()
        m.gateway.set(status["gateway"])
        m.runner.set(status["runner"])
        counts = await self._services.jobs.count_by_status()
        for state in JobStatus:
            m.jobs.labels(state.value).set(counts.get(state, 0))
        m.tasks.set(len(asyncio.all_tasks()))
        m.tracked.labels("discord_views").set(cached_views(self._bot))
        m.tracked.labels("discord_messages").set(len(self._bot.cached_messages))
        for kind, size in self._services.jobs.tracked().items():
            m.tracked.labels(kind).set(size)
        cards = getattr(self._bot, "cards", None)
        if cards is not None:
            for kind, size in cards.tracked().items():
                m.tracked.labels(kind).set(size)

    def app(self) -> web.Application:
        scrape = make_aiohttp_handler(self._metrics.registry)

        async def metrics(request: web.Request) -> web.StreamResponse:
            await self.refresh()
            return await scrape(request)

        async def healthz(_: web.Request) -> web.Response:
            status = self.status()
            return web.json_response(status, status=200 if status["ok"] else 503)

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        app.router.add_get("/healthz", healthz)
        return app


@contextlib.asynccontextmanager
async def serving(
    bot: discord.Client, services: Services, metrics: Metrics
) -> AsyncIterator[Health]:
    """The metrics server, when METRICS_PORT is set, while the bot runs."""
    settings = services.settings
    health = Health(bot, services, metrics)
    runner: web.AppRunner | None = None
    if settings.metrics_port is not None:
        runner = web.AppRunner(health.app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, settings.metrics_host, settings.metrics_port).start()
        log.info("metrics on http://%s:%d/metrics", settings.metrics_host, settings.metrics_port)
    try:
        yield health
    finally:
        if runner is not None:
            await runner.cleanup()


def probe_endpoint(settings: Settings) -> list[str]:
    """For `check --health` with METRICS_PORT set: one line per problem the running bot's
    /healthz reports (or that it does not answer), none when it is alive."""
    assert settings.metrics_port is not None
    host = "127.0.0.1" if settings.metrics_host in ("0.0.0.0", "") else settings.metrics_host
    url = f"http://{host}:{settings.metrics_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            status = json.loads(resp.read())
    except urllib.error.HTTPError as exc:  # 503: not alive, and why
        try:
            status = json.loads(exc.read() or b"{}")
        except ValueError:
            status = {}
    except (OSError, ValueError) as exc:
        return [f"health endpoint {url} did not answer ({type(exc).__name__})"]
    problems = []
    if not status.get("gateway"):
        problems.append("the Discord gateway is not connected")
    if not status.get("runner"):
        problems.append("the job runner is stuck: waiting jobs are not being looked at")
    return problems
