"""Hints between bot processes over PostgreSQL's LISTEN/NOTIFY (see bot/core/hints.py).

A hint is sent as a NOTIFY through the pool and heard on one connection of its own that
LISTENs. When that connection drops, hints are missed until it is back (it retries every few
seconds); nothing depends on them arriving, only how soon a change is seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from bot.core.hints import TOPICS, Handlers
from db.sql import SqlDatabase

log = logging.getLogger(__name__)

CHANNEL = "seedance_hints"


class PgHints(Handlers):
    def __init__(self, db: SqlDatabase, url: str, *, retry: float = 3.0) -> None:
        super().__init__()
        self._db = db
        self._url = url  # a secret (it may hold a password): never logged
        self._retry = retry
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set while hints from others are heard
        self.connections = 0  # listening connections made so far

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen_forever(), name="pg-hints")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def send(self, topic: str, key: int) -> None:
        try:
            await self._db.execute("SELECT pg_notify(?, ?)", (CHANNEL, f"{topic}:{key}"))
        except Exception:  # a hint is only a hint: the change is in the database already
            log.warning("could not send hint %s:%d", topic, key, exc_info=True)

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        topic, _, key = str(payload).partition(":")
        if topic in TOPICS and key.isdigit():
            self.deliver(topic, int(key))

    async def _listen_forever(self) -> None:
        while True:
            conn = None
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(self._url)
                conn.add_termination_listener(lambda _, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._heard)
                self.connections += 1
                self.listening.set()
                await lost.wait()
                log.warning("hint listener lost its connection; reconnecting")
            except Exception as exc:  # whatever it is (the type only: the URL is a secret)
                log.warning("hint listener cannot listen (%s); retrying", type(exc).__name__)
            finally:
                self.listening.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close())
            await asyncio.sleep(self._retry)
