"""Two bot processes on one PostgreSQL (issue 13): shards 0 and 1 of 2 against one fake
Discord, with a guild on each shard. A process SIGKILLed mid-queue and mid-generation has its
jobs taken over by the other once their leases run out, and every job is delivered exactly
once from one submit; a cancel pressed on a card whose job the other process runs works."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from bot.sandbox import Sandbox
from tests.backends import PgServer
from tests.e2e.conftest import SANDBOX_TOKEN, Bot
from tests.e2e.harness import bot_env
from tests.e2e.test_video import card_status, job_id_of
from tests.fakediscord import FakeDiscord, Message
from tests.fakediscord.model import Channel, Guild, Member

LEASE_SECONDS = 3  # short, so a takeover comes soon after a kill
PROMPT = {"prompt": "a lighthouse in fog"}


@dataclass
class Shard:
    guild: Guild
    channel: Channel
    members: list[Member]
    bot: Bot


@pytest.fixture
async def pg_url(pg_server: PgServer) -> AsyncIterator[str]:
    url = await pg_server.new_database(migrated=False)  # the bots migrate it, racing
    yield url
    await pg_server.drop(url)


@pytest.fixture
async def shards(
    fake: FakeDiscord, generator: Sandbox, tmp_path: Path, pg_url: str
) -> AsyncIterator[list[Shard]]:
    made: list[Shard] = []
    for i in range(2):
        guild = fake.add_guild(f"Shard {i} Club", shard=(i, 2))
        channel = guild.add_text_channel("videos")
        members = [guild.add_member(f"member-{i}-{n}") for n in range(3)]
        workdir = tmp_path / f"process-{i}"
        workdir.mkdir()
        env = bot_env(
            api_base=fake.api_base,
            gateway_url=fake.gateway_url,
            runcomfy_url=generator.url,
            runcomfy_token=SANDBOX_TOKEN,
            database=workdir / "data" / "bot.db",  # unused: DATABASE_URL wins
            guild_ids=[guild.id],
            DATABASE_URL=pg_url,
            SHARD_COUNT="2",
            SHARD_IDS=str(i),
            JOB_LEASE_SECONDS=str(LEASE_SECONDS),
        )
        made.append(Shard(guild, channel, members, Bot(fake, env, workdir)))
    await asyncio.gather(*(shard.bot.start() for shard in made))
    for shard in made:
        await fake.wait_for(
            lambda s=shard: any(c["name"] == "video" for c in fake.commands(s.guild)) or None,
            timeout=30,
        )
    yield made
    for shard in made:
        await shard.bot.stop()
        print(shard.bot.logs())  # shown by pytest only when the test failed


async def start_job(fake: FakeDiscord, shard: Shard, member: Member) -> tuple[int, Message]:
    handle = await fake.invoke(member, shard.channel, "video", PROMPT)
    card = await handle.wait_original()
    return job_id_of(card), card


async def row(url: str, job_id: int) -> asyncpg.Record:
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchrow("SELECT * FROM jobs WHERE id = $1", job_id)
    finally:
        await conn.close()
    assert found is not None
    return found


async def wait_owner_change(fake: FakeDiscord, url: str, job_id: int, old: str) -> str:
    async def taken() -> str | None:
        owner = (await row(url, job_id))["lease_owner"]
        return owner if owner not in (None, old) else None

    for _ in range(LEASE_SECONDS * 20):
        if (owner := await taken()) is not None:
            return owner
        await asyncio.sleep(0.25)
    raise AssertionError(f"job {job_id} was not taken over")


def results(shard: Shard, fake: FakeDiscord, job_id: int) -> list[Message]:
    return [
        m for m in fake.messages(shard.channel) if f"your video #{job_id} is ready" in m.content
    ]


async def in_queue(generator: Sandbox, count: int) -> None:
    for _ in range(500):
        if sum(j.status == "in_queue" for j in generator.state.jobs.values()) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{count} jobs did not reach the provider's queue")


async def test_a_killed_process_jobs_are_taken_over_and_delivered_once(
    fake: FakeDiscord, generator: Sandbox, shards: list[Shard], pg_url: str
):
    zero, one = shards
    generator.config.paused = True
    kept, _ = await start_job(fake, zero, zero.members[0])
    queued, queued_card = await start_job(fake, one, one.members[0])
    running, running_card = await start_job(fake, one, one.members[1])
    await in_queue(generator, 3)
    running_request = (await row(pg_url, running))["request_id"]
    generator.state.set_status(running_request, "in_progress")
    await fake.wait_for(lambda: "Generating" in card_status(running_card) or None, timeout=15)
    zero_owner = (await row(pg_url, kept))["lease_owner"]
    one_owner = (await row(pg_url, queued))["lease_owner"]
    assert zero_owner != one_owner  # each process runs what its shard accepted

    await one.bot.kill()
    for job_id in (queued, running):  # taken over while still queued / generating
        assert await wait_owner_change(fake, pg_url, job_id, one_owner) == zero_owner
    generator.config.paused = False
    generator.state.set_status(running_request, "completed")

    jobs = {kept: zero, queued: one, running: one}
    for job_id, shard in jobs.items():
        await fake.wait_for(lambda j=job_id, s=shard: results(s, fake, j) or None, timeout=60)
    await asyncio.sleep(1.5)  # room for a second delivery, were one to come
    assert {job_id: len(results(shard, fake, job_id)) for job_id, shard in jobs.items()} == {
        kept: 1,
        queued: 1,
        running: 1,
    }
    assert generator.state.count("submit") == 3
    for job_id in jobs:
        final = await row(pg_url, job_id)
        assert final["status"] == "delivered" and final["lease_owner"] == zero_owner
    # The taken-over cards carry on, edited by the process that took them.
    for card in (queued_card, running_card):
        await fake.wait_for(lambda c=card: card_status(c).startswith("✅") or None, timeout=15)


async def test_a_cancel_on_a_card_the_other_process_runs(
    fake: FakeDiscord, generator: Sandbox, shards: list[Shard], pg_url: str
):
    _, one = shards
    generator.config.paused = True
    job_id, card = await start_job(fake, one, one.members[0])
    await in_queue(generator, 1)
    one_owner = (await row(pg_url, job_id))["lease_owner"]
    await one.bot.kill()
    taker = await wait_owner_change(fake, pg_url, job_id, one_owner)
    await one.bot.start()  # shard 1 is back; the job stays with process zero
    await fake.wait_for(lambda: fake.gateway.ready_for(one.guild.id) or None, timeout=30)

    handle = await fake.press(one.members[0], card, f"job:cancel:{job_id}")
    reply = await handle.wait_original(lambda m: "Cancelled" in m.content, timeout=15)
    assert "refunded" in reply.content
    await fake.wait_for(lambda: "Cancelled" in card_status(card) or None, timeout=15)
    assert [j.status for j in generator.state.jobs.values()] == ["cancelled"]
    final = await row(pg_url, job_id)
    assert final["status"] == "cancelled" and final["lease_owner"] == taker
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SELECT COALESCE(SUM(used), 0) FROM quota_usage") == 0
    finally:
        await conn.close()
    generator.config.paused = False
    await asyncio.sleep(1.0)
    assert results(one, fake, job_id) == []
