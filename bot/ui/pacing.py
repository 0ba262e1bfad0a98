"""Token buckets that keep the bot's own Discord writes inside Discord's limits.

discord.py already waits when a response header says a bucket is empty; these buckets act
before that, so that many jobs in one channel share its bucket fairly (first come, first
served) and the bot never bursts past the global limit across channels.
"""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """`rate` tokens a second, holding at most `burst`; `take()` waits for one."""

    def __init__(self, rate: float, burst: float) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()  # FIFO: waiters are served in order

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    async def take(self) -> None:
        async with self._lock:
            self._refill()
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self._rate)
                self._refill()
            self._tokens = max(self._tokens - 1, 0.0)


GLOBAL_RATE = 40.0  # bot-token requests per second, under Discord's 50 with room for the rest


class Pacer:
    """One bucket per channel (Discord: 5 message writes per 5 s, sustained about 1/s; we
    keep one spare) and one across all channels (Discord: 50 requests per second)."""

    def __init__(
        self,
        channel_rate: float = 1 / 1.1,
        channel_burst: float = 4,
        global_rate: float = GLOBAL_RATE,
        global_burst: float = 8,
    ) -> None:
        self._channel_rate = channel_rate
        self._channel_burst = channel_burst
        self._channels: dict[int, TokenBucket] = {}
        # A small burst: a sliding second then never sees more than rate + burst requests.
        self._global = TokenBucket(global_rate, global_burst)

    async def wait(self, channel_id: int) -> None:
        bucket = self._channels.get(channel_id)
        if bucket is None:
            bucket = TokenBucket(self._channel_rate, self._channel_burst)
            self._channels[channel_id] = bucket
        await bucket.take()
        await self._global.take()
