"""With several processes, each moves and posts only its own shards' contests: two processes
never post one reveal twice, and none is left without a process to tick it."""

from __future__ import annotations

import random

from bot.core.contests import ContestService
from db.contests import ContestRepo
from db.database import Database
from tests.integration.test_contests_service import Clock, create, enter

SHARD0, SHARD1 = 4 << 22, 5 << 22  # guild ids on shards 0 and 1 of 2


def on_shard(shard: int):  # type: ignore[no-untyped-def]
    return lambda guild_id: (guild_id >> 22) % 2 == shard


async def test_each_process_advances_only_its_shards_contests(db: Database):
    clock = Clock()
    service = ContestService(ContestRepo(db), clock=clock, rng=random.Random(3))
    zero = await create(service, guild=SHARD0)
    one = await create(service, guild=SHARD1)
    for contest in (zero, one):
        await enter(service, db, contest, 10)
    clock.advance(3600 + 1)
    [mine] = await service.tick(on_shard(1))
    assert mine.contest.id == one.id
    assert await service.tick(on_shard(1)) == []
    [theirs] = await service.tick(on_shard(0))
    assert theirs.contest.id == zero.id
