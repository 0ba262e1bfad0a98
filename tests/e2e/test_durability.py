"""/video when things go wrong: restarts, crashes, token expiry, deleted cards, big files."""

from __future__ import annotations

import asyncio

from bot.sandbox import Sandbox
from db.database import Database
from tests.e2e.conftest import Bot, World
from tests.e2e.test_video import card_status, job_id_of, used_credits
from tests.fakediscord import EPHEMERAL, Message

PROMPT = {"prompt": "a lighthouse in fog"}


async def start_job(world: World, member=None) -> tuple[int, Message]:  # type: ignore[no-untyped-def]
    handle = await world.fake.invoke(member or world.alice, world.channel, "video", PROMPT)
    card = await handle.wait_original()
    return job_id_of(card), card


def results(world: World, job_id: int) -> list[Message]:
    return [
        m
        for m in world.fake.messages(world.channel)
        if f"your video #{job_id} is ready" in m.content
    ]


async def wait_provider_status(generator: Sandbox, status: str) -> str:
    for _ in range(500):
        for request_id, job in generator.state.jobs.items():
            if job.status == status:
                return request_id
        await asyncio.sleep(0.02)
    raise AssertionError(f"no provider job reached {status}")


async def test_sigkill_while_queued_then_restart_delivers_once(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.paused = True
    job_id, _ = await start_job(world)
    await wait_provider_status(generator, "in_queue")
    await bot.kill()
    generator.config.paused = False
    await bot.start()
    await world.fake.wait_for(lambda: results(world, job_id) or None, timeout=30)
    await asyncio.sleep(1.0)  # room for a duplicate to show up, if the bot were to make one
    assert len(results(world, job_id)) == 1
    assert generator.state.count("submit") == 1


async def test_sigkill_while_generating_then_restart_delivers_once(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.paused = True
    job_id, card = await start_job(world)
    request_id = await wait_provider_status(generator, "in_queue")
    generator.state.set_status(request_id, "in_progress")
    await world.fake.wait_for(lambda: "Generating" in card_status(card) or None, timeout=15)
    await bot.kill()
    await bot.start()
    generator.config.paused = False
    generator.state.set_status(request_id, "completed")
    await world.fake.wait_for(lambda: results(world, job_id) or None, timeout=30)
    await asyncio.sleep(1.0)
    assert len(results(world, job_id)) == 1
    assert generator.state.count("submit") == 1
    # The card carries on after the restart, through bot-token edits of the same message.
    await world.fake.wait_for(lambda: card_status(card).startswith("✅") or None, timeout=15)


async def test_graceful_restart_mid_job_resumes_it(world: World, bot: Bot, generator: Sandbox):
    generator.config.paused = True
    job_id, _ = await start_job(world)
    await wait_provider_status(generator, "in_queue")
    assert await bot.stop() == 0
    generator.config.paused = False
    await bot.start()
    await world.fake.wait_for(lambda: results(world, job_id) or None, timeout=30)
    assert generator.state.count("submit") == 1


async def test_the_cancel_button_works_after_a_restart(world: World, bot: Bot, generator: Sandbox):
    generator.config.paused = True
    job_id, card = await start_job(world)
    await wait_provider_status(generator, "in_queue")
    await bot.stop()
    await bot.start()
    handle = await world.fake.press(world.alice, card, f"job:cancel:{job_id}")
    reply = await handle.wait_original(lambda m: "Cancelled" in m.content, timeout=15)
    assert "refunded" in reply.content
    await world.fake.wait_for(lambda: "Cancelled" in card_status(card) or None, timeout=15)
    assert [j.status for j in generator.state.jobs.values()] == ["cancelled"]
    assert await used_credits(bot) == 0


async def test_provider_failure_is_explained_on_the_card_and_refunded(
    world: World, bot: Bot, generator: Sandbox
):
    generator.state.next_outcome(failed=True, error="The prompt was flagged by the safety filter")
    job_id, card = await start_job(world)
    await world.fake.wait_for(lambda: card_status(card).startswith("❌") or None, timeout=30)
    fields = {f["name"]: f["value"] for f in card.embeds[0]["fields"]}
    assert "safety filter" in fields["What happened"] and "refunded" in fields["What happened"]
    assert "refunded" in fields["Cost"]
    assert results(world, job_id) == []
    assert await used_credits(bot) == 0


async def test_an_oversized_video_is_linked_instead(world: World, bot: Bot, generator: Sandbox):
    generator.config.video_bytes = world.guild.upload_limit + 1024
    job_id, _ = await start_job(world)
    [result] = await world.fake.wait_for(lambda: results(world, job_id) or None, timeout=30)
    assert result.attachments == []
    assert "too large to upload" in result.content and "/_sandbox/videos/" in result.content
    assert not [c for c in world.fake.calls if c.status == 413]  # checked before uploading


async def test_a_deleted_card_still_gets_its_video(world: World, bot: Bot, generator: Sandbox):
    generator.config.paused = True
    job_id, card = await start_job(world)
    await wait_provider_status(generator, "in_queue")
    await world.fake.delete_message(card.id)
    generator.config.paused = False
    [result] = await world.fake.wait_for(lambda: results(world, job_id) or None, timeout=30)
    assert result.attachments and result.attachments[0].content[4:8] == b"ftyp"


async def test_a_deleted_channel_sends_the_video_by_dm(world: World, bot: Bot, generator: Sandbox):
    generator.config.paused = True
    job_id, _ = await start_job(world)
    await wait_provider_status(generator, "in_queue")
    await world.fake.delete_channel(world.channel.id)
    generator.config.paused = False

    def dm_result() -> Message | None:
        found = [m for m in world.fake.dm_messages(world.alice) if f"#{job_id}" in m.content]
        return found[0] if found else None

    message = await world.fake.wait_for(dm_result, timeout=30)
    assert message.attachments


async def test_the_card_keeps_moving_after_the_token_expires_without_a_401(
    world: World, bot: Bot, generator: Sandbox
):
    # 121 s of token life: the bot stops using the token 120 s ahead of expiry, so its
    # first edits go through the token and the rest through the channel, never after expiry.
    world.fake.rules.token_lifetime = 121.0
    generator.config.paused = True
    job_id, card = await start_job(world)
    request_id = await wait_provider_status(generator, "in_queue")
    await asyncio.sleep(1.5)
    generator.state.set_status(request_id, "in_progress")
    await world.fake.wait_for(lambda: "Generating" in card_status(card) or None, timeout=15)
    generator.config.paused = False
    await world.fake.wait_for(lambda: card_status(card).startswith("✅") or None, timeout=30)
    assert results(world, job_id)
    assert not [c for c in world.fake.calls if c.status == 401]
    channel_edits = world.fake.calls_to("PATCH /channels/{channel_id}/messages/{message_id}")
    assert channel_edits and all(c.status == 200 for c in channel_edits)


async def test_an_hour_old_card_is_replaced_by_a_fresh_one(
    world: World, bot: Bot, generator: Sandbox
):
    world.fake.rules.token_lifetime = 60.0  # already past the bot's margin: channel edits only
    generator.config.paused = True
    job_id, card = await start_job(world)
    request_id = await wait_provider_status(generator, "in_queue")
    world.fake.age_message(card.id, 3700)
    generator.state.set_status(request_id, "in_progress")

    def fresh_card() -> Message | None:
        for m in world.fake.messages(world.channel):
            if m.id != card.id and m.embeds and m.embeds[0].get("title") == f"Video #{job_id}":
                return m
        return None

    fresh = await world.fake.wait_for(fresh_card, timeout=15)
    assert "Generating" in card_status(fresh)
    generator.config.paused = False
    await world.fake.wait_for(lambda: results(world, job_id) or None, timeout=30)


async def test_an_undeliverable_video_is_refunded_and_explained(
    world: World, bot: Bot, generator: Sandbox
):
    # No channel to post in and DMs closed: the job must end, refunded, not hang in delivery.
    world.alice.user.accepts_dms = False
    generator.config.paused = True
    job_id, _ = await start_job(world)
    await wait_provider_status(generator, "in_queue")
    await world.fake.delete_channel(world.channel.id)
    generator.config.paused = False

    async def status() -> tuple[str, str | None]:
        db = await Database.open(bot.database)
        try:
            row = await db.fetchone("SELECT status, error FROM jobs WHERE id = ?", (job_id,))
            assert row is not None
            return str(row[0]), row[1]
        finally:
            await db.close()

    for _ in range(300):
        current, error = await status()
        if current == "failed":
            break
        await asyncio.sleep(0.1)
    assert current == "failed" and error is not None and "could not post it" in error
    assert await used_credits(bot) == 0


async def test_video_is_refused_where_the_bot_cannot_post(
    world: World, bot: Bot, generator: Sandbox
):
    bot_role = world.guild.bot_role
    bot_role.permissions &= ~(1 << 15)  # no Attach Files for the bot here
    handle = await world.fake.invoke(world.alice, world.channel, "video", PROMPT)
    reply = await handle.wait_original()
    assert reply.flags & EPHEMERAL
    assert "Attach Files" in reply.content and "Nothing was charged" in reply.content
    assert generator.state.count("submit") == 0
    assert await used_credits(bot) == 0
