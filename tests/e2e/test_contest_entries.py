"""Entering a contest both ways (/contest enter, /video contest:<n>), every refusal, and a
withdrawal, as the member sees each."""

from __future__ import annotations

import asyncio

from bot.sandbox import Sandbox
from tests.e2e.conftest import Bot, World
from tests.e2e.contest_kit import (
    ask,
    create,
    enter,
    entry_posts,
    make_video,
    scalar,
    start_video,
    wait_reveal,
)
from tests.e2e.test_durability import wait_provider_status
from tests.e2e.test_moderation import answer
from tests.e2e.test_quotas import rows
from tests.e2e.test_video import job_id_of, result_message
from tests.fakediscord import EPHEMERAL


async def jobs_made(bot: Bot) -> int:
    return int(await scalar(bot, "SELECT COUNT(*) FROM jobs"))


async def used(bot: Bot) -> int:
    return int(await scalar(bot, "SELECT COALESCE(SUM(used), 0) FROM quota_usage"))


async def test_entering_with_contest_enter_and_each_refusal(
    world: World, bot: Bot, generator: Sandbox
):
    fake = world.fake
    before = await make_video(world, world.alice, "made before the contest")
    number = await create(world)
    assert "made before" in await enter(world, world.alice, number, before)

    mine = await make_video(world, world.alice, "a moth at a street lamp")
    extra = await make_video(world, world.alice, "a second moth")
    assert "isn't yours" in await enter(world, world.bob, number, mine)

    generator.config.paused = True
    _, pending = await start_video(world, world.bob, "still being made")
    await wait_provider_status(generator, "in_queue")
    assert "isn't a delivered video" in await enter(world, world.bob, number, pending)
    generator.config.paused = False

    # Autocomplete offers only this contest and only alice's eligible videos.
    offered = await fake.autocomplete(
        world.alice, world.channel, "contest", {"contest": number, "job": ""}, "job", "enter"
    )
    assert {c["value"] for c in offered} == {mine, extra}
    contests = await fake.autocomplete(
        world.alice, world.channel, "contest", {"contest": ""}, "contest", "enter"
    )
    assert [c["value"] for c in contests] == [number]

    assert "is entered in" in await enter(world, world.alice, number, mine)
    assert "already have 1 entry" in await enter(world, world.alice, number, extra)
    # The limit is the database's: still one live entry.
    assert await scalar(bot, "SELECT COUNT(*) FROM contest_entries WHERE withdrawn_at IS NULL") == 1

    assert "was withdrawn" in await ask(world, world.alice, "withdraw", {"contest": number})
    assert "is entered in" in await enter(world, world.alice, number, extra)

    # Once submissions close (a moderator ends them early), nothing more is taken.
    assert "voting is open" in await ask(world, world.mod, "close", {"contest": number})
    [post] = await wait_reveal(world, number, 1)
    assert "a second moth" in post.content
    late = await make_video(world, world.bob, "too late")
    assert "have closed" in await enter(world, world.bob, number, late)
    assert "have closed" in await ask(world, world.alice, "withdraw", {"contest": number})
    # Moderators' actions are in the moderation log (with who did them).
    actions = await scalar(
        bot, "SELECT group_concat(action || ':' || actor_id) FROM moderation_log"
    )
    assert f"contest-create:{world.admin.id}" in actions
    assert f"contest-close:{world.mod.id}" in actions


async def test_entering_with_video_contest_option(world: World, bot: Bot, generator: Sandbox):
    fake = world.fake
    number = await create(world)
    offered = await fake.autocomplete(
        world.alice, world.channel, "video", {"prompt": "x", "contest": ""}, "contest"
    )
    assert [c["value"] for c in offered] == [number]

    # Entered when delivered; the member is told privately.
    handle, job_id = await start_video(world, world.alice, "a heron in the rain", contest=number)
    note = await fake.wait_for(
        lambda: next((m for m in handle.followups if "is entered in" in m.content), None), 30
    )
    assert note.flags & EPHEMERAL and f"Job #{job_id}" in note.content
    assert result_message(world, job_id) is not None

    # Over the limit: refused at once, ephemerally, with no job made and nothing charged.
    jobs, credits = await jobs_made(bot), await used(bot)
    refused = await fake.invoke(
        world.alice, world.channel, "video", {"prompt": "one more", "contest": number}
    )
    reply = await answer(refused)
    assert "already have 1 entry" in reply.content
    assert (await jobs_made(bot), await used(bot)) == (jobs, credits)

    # The window closes while bob's video is being made: delivered, but not entered.
    generator.config.paused = True
    handle, late_job = await start_video(world, world.bob, "an owl at dusk", contest=number)
    await wait_provider_status(generator, "in_queue")
    assert "voting is open" in await ask(world, world.mod, "close", {"contest": number})
    generator.config.paused = False
    note = await fake.wait_for(
        lambda: next((m for m in handle.followups if "not entered" in m.content), None), 30
    )
    assert "closed while this video was being made" in note.content
    assert result_message(world, late_job) is not None
    [post] = await wait_reveal(world, number, 1)
    assert "a heron in the rain" in post.content and len(entry_posts(world, number)) == 1

    # After the window: /video contest:<n> is refused before anything is made.
    jobs = await jobs_made(bot)
    refused = await fake.invoke(
        world.bob, world.channel, "video", {"prompt": "again", "contest": number}
    )
    assert "have closed" in (await answer(refused)).content
    assert await jobs_made(bot) == jobs


async def test_two_video_contest_at_once_with_room_for_one_make_one_job(
    world: World, bot: Bot, generator: Sandbox
):
    """The entry limit counts videos still being made: of two /video contest:<n> started
    together with room for one, one becomes a job and the other is refused privately, free."""
    fake = world.fake
    number = await create(world)
    generator.config.paused = True  # the winner stays "being made" throughout the refusals
    jobs, credits = await jobs_made(bot), await used(bot)
    handles = await asyncio.gather(
        *(
            fake.invoke(world.alice, world.channel, "video", {"prompt": p, "contest": number})
            for p in ("a kite over dunes", "a kite over the sea")
        )
    )
    replies = await asyncio.gather(
        *(h.wait_original(lambda m: not m.loading and bool(m.content or m.embeds)) for h in handles)
    )
    [refused] = [r for r in replies if r.flags & EPHEMERAL]
    [card] = [r for r in replies if not r.flags & EPHEMERAL]
    assert "1 video being made for Contest" in refused.content
    assert "Nothing was charged" in refused.content
    assert await jobs_made(bot) == jobs + 1
    [(job_id, cost)] = await rows(bot, "SELECT id, cost FROM jobs ORDER BY id DESC LIMIT 1")
    assert await used(bot) == credits + cost
    assert job_id_of(card) == job_id

    # Later, while it is still being made: still no room, still free.
    late = await fake.invoke(
        world.alice, world.channel, "video", {"prompt": "a third kite", "contest": number}
    )
    assert "being made for Contest" in (await answer(late)).content
    assert await jobs_made(bot) == jobs + 1

    # Another member has room of their own.
    bob_handle, bobs = await start_video(world, world.bob, "bob's kite", contest=number)
    generator.config.paused = False
    winner = next(h for h, r in zip(handles, replies, strict=True) if r is card)
    for handle, made in ((winner, job_id), (bob_handle, bobs)):
        note = await fake.wait_for(
            lambda h=handle: next((m for m in h.followups if "is entered in" in m.content), None),
            30,
        )
        assert f"Job #{made}" in note.content
    entered = await rows(bot, "SELECT job_id FROM contest_entries ORDER BY job_id")
    assert entered == [(job_id,), (bobs,)]
