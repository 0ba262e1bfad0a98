"""Hints between processes over PostgreSQL's LISTEN/NOTIFY (issue 13): a ban made in one
process is seen by the next /video in another, without waiting for its rules cache to expire;
hints that are not ours are ignored; a listener that loses its connection comes back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.core.quotas import QuotaPolicy, QuotaService
from bot.services import quota_stores
from db.notify import CHANNEL, PgHints
from db.postgres import PgDatabase
from tests.backends import PgServer

GUILD = 4242


class Process:
    """What one bot process has: its pool, its hints, its quota service (rules cached)."""

    def __init__(self, db: PgDatabase, hints: PgHints) -> None:
        self.db, self.hints = db, hints
        self.heard: asyncio.Queue[int] = asyncio.Queue()
        hints.on("rules", self.heard.put_nowait)
        # No expiry: only the hint can make this process see another's change.
        self.quotas = QuotaService(
            QuotaPolicy(60, 2, {"480p": 1}), quota_stores(db), hints=hints, rules_ttl=None
        )


@pytest.fixture
async def url(pg_server: PgServer) -> AsyncIterator[str]:
    found = await pg_server.new_database()
    yield found
    await pg_server.drop(found)


@pytest.fixture
async def pair(url: str) -> AsyncIterator[tuple[Process, Process]]:
    made = []
    for _ in range(2):
        db = await PgDatabase.open(url)
        hints = PgHints(db, url, retry=0.1)
        await hints.start()
        await asyncio.wait_for(hints.listening.wait(), 10)
        made.append(Process(db, hints))
    yield made[0], made[1]
    for process in made:
        await process.hints.close()
        await process.db.close()


async def test_a_ban_in_one_process_reaches_the_others_cached_rules(
    pair: tuple[Process, Process],
):
    one, other = pair
    assert 7 not in (await other.quotas.rules(GUILD)).banned  # now cached over there
    await one.quotas.ban(GUILD, 7, actor_id=1, reason="spam")
    assert await asyncio.wait_for(other.heard.get(), 10) == GUILD
    assert 7 in (await other.quotas.rules(GUILD)).banned


async def test_foreign_payloads_are_ignored(pair: tuple[Process, Process], url: str):
    one, _ = pair
    conn = await asyncpg.connect(url)
    try:
        for payload in ("rules:", "nonsense", "jobs:3", "rules:x1"):
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, "rules:9")
    finally:
        await conn.close()
    assert await asyncio.wait_for(one.heard.get(), 10) == 9  # the first one that was ours


async def test_the_listener_reconnects_after_its_connection_is_killed(
    pair: tuple[Process, Process], url: str
):
    one, other = pair
    conn = await asyncpg.connect(url)
    try:
        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE query LIKE 'LISTEN%' AND pid != pg_backend_pid()"
        )
    finally:
        await conn.close()
    assert killed == 2
    for process in pair:
        await asyncio.wait_for(_relistened(process.hints), 10)
        assert process.hints.listening.is_set()
    await one.hints.send("rules", 11)
    assert await asyncio.wait_for(other.heard.get(), 10) == 11


async def _relistened(hints: PgHints) -> None:
    while hints.connections < 2:  # noqa: ASYNC110 (a count, not an event, to wait on)
        await asyncio.sleep(0.02)
