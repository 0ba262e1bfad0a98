"""The real bot process on PostgreSQL (DATABASE_URL): a /video goes from keystroke to delivered
video with its credits booked in PostgreSQL, and the sqlite file is never created."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from db.postgres import PgDatabase
from tests.backends import PgServer
from tests.e2e.conftest import Bot, World
from tests.e2e.test_video import card_status, job_id_of, result_message


@pytest.fixture
async def database_url(pg_server: PgServer) -> AsyncIterator[str]:
    url = await pg_server.new_database(migrated=False)  # the bot migrates it at start
    yield url
    await pg_server.drop(url)


@pytest.fixture
def bot_settings(database_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url}


async def test_a_video_is_made_and_booked_on_postgresql(world: World, bot: Bot, database_url: str):
    fake = world.fake
    handle = await fake.invoke(world.alice, world.channel, "video", {"prompt": "a paper boat"})
    card = await handle.wait_original()
    job_id = job_id_of(card)
    await fake.wait_for(lambda: result_message(world, job_id), timeout=30)
    await handle.wait_original(lambda m: card_status(m).startswith("✅"), timeout=15)

    db = await PgDatabase.open(database_url, migrate=False)
    try:
        job = await db.fetchone("SELECT status, cost, user_id FROM jobs WHERE id = ?", (job_id,))
        assert job is not None and tuple(job) == ("delivered", job["cost"], world.alice.user.id)
        kinds = await db.fetchall("SELECT kind FROM ledger WHERE job_id = ? ORDER BY id", (job_id,))
        assert [k[0] for k in kinds] == ["reserve", "commit"]
        used = await db.fetchone(
            "SELECT used FROM quota_usage WHERE user_id = ?", (job["user_id"],)
        )
        assert used is not None and used[0] == job["cost"] > 0
        assert await db.fetchone("SELECT value FROM meta WHERE key = 'heartbeat'") is not None
    finally:
        await db.close()
    assert not bot.database.exists()  # DATABASE_PATH's file: not used, not created
