"""Wake-up hints between the bot processes on one database (issue 13): "the rules of server N
changed", "job N was cancelled". A hint only says where to look again; the database stays the
truth, and everything a hint speeds up is also found without it (the rules cache expires, the
poller looks at every job at least every 30 s), so a lost hint costs time, never correctness.

`LocalHints` is the one-process case (sqlite): a hint reaches this process's own handlers.
PostgreSQL's `LISTEN/NOTIFY` carries them between processes (db/notify.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

Handler = Callable[[int], None]
TOPICS = ("rules", "job")


class Hints(Protocol):
    async def send(self, topic: str, key: int) -> None: ...
    def on(self, topic: str, handler: Handler) -> None: ...


class Handlers:
    """Who wants which topic; shared by the implementations."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}

    def on(self, topic: str, handler: Handler) -> None:
        if topic not in TOPICS:
            raise ValueError(f"unknown hint topic {topic!r}")
        self._handlers.setdefault(topic, []).append(handler)

    def deliver(self, topic: str, key: int) -> None:
        for handler in self._handlers.get(topic, ()):
            try:
                handler(key)
            except Exception:  # one handler's bug must not stop the others
                log.exception("hint %s:%d: handler failed", topic, key)


class LocalHints(Handlers):
    async def send(self, topic: str, key: int) -> None:
        self.deliver(topic, key)
