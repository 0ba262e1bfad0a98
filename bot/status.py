"""What /botstatus reports, gathered in one place (Discord-free): RunComfy's speed and errors
over the last hour, the job load, today's credits in the server, Discord rate limits, uptime."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.jobs import JobService
from bot.core.jobs.service import JobLoad
from bot.core.quotas import QuotaService
from bot.metrics import HourFigures, Metrics


@dataclass(frozen=True)
class BotStatus:
    version: str
    uptime: float  # seconds
    provider: HourFigures  # RunComfy API requests of the last hour
    load: JobLoad
    credits_today: int  # spent in this server today (jobs in progress included)
    limits_hour: int  # Discord 429s in the last hour
    limits_total: int  # since start


class StatusService:
    def __init__(
        self,
        jobs: JobService,
        quotas: QuotaService,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._jobs = jobs
        self._quotas = quotas
        self._metrics = metrics
        self._clock = clock

    async def report(self, guild_id: int) -> BotStatus:
        m = self._metrics
        return BotStatus(
            version=m.version,
            uptime=self._clock() - m.started_at,
            provider=m.provider_hour.figures(),
            load=await self._jobs.load(guild_id),
            credits_today=await self._quotas.spent_today(guild_id),
            limits_hour=m.limits_hour.figures().count,
            limits_total=int(m.total("seedance_discord_429_total")),
        )
