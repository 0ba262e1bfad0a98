"""Contests across restarts: Vote buttons after a SIGKILL, and phase changes that fell while
the bot was down, caught up when it starts."""

from __future__ import annotations

import asyncio
import time

from tests.e2e.conftest import Bot, World
from tests.e2e.contest_kit import (
    ask,
    create,
    enter,
    entry_posts,
    make_video,
    results_post,
    scalar,
    take_back,
    vote,
    voting_post,
    wait_reveal,
)


async def test_vote_buttons_work_after_a_sigkill_mid_voting(world: World, bot: Bot):
    carol = world.guild.add_member("carol")
    number = await create(world)
    for member, prompt in ((world.alice, "a fox in snow"), (world.bob, "a kite over dunes")):
        assert "is entered in" in await enter(
            world, member, number, await make_video(world, member, prompt)
        )
    assert "voting is open" in await ask(world, world.mod, "close", {"contest": number})
    posts = await wait_reveal(world, number, 2)
    fox = next(p for p in posts if "a fox in snow" in p.content)
    kite = next(p for p in posts if "a kite over dunes" in p.content)
    first = await vote(world, carol, fox)
    assert "2 of 3 votes left" in first.content

    await bot.kill()
    await bot.start()
    # The same messages, pressed again after the crash: the buttons still work, and the vote
    # cast before it is still counted, once.
    again = await vote(world, carol, fox)
    assert "already counted" in again.content and "2 of 3 votes left" in again.content
    second = await vote(world, carol, kite)
    assert "is counted" in second.content and "1 of 3 votes left" in second.content
    assert "taken back" in await take_back(world, carol, first)
    assert await scalar(bot, "SELECT COUNT(*) FROM contest_votes") == 1
    assert len(entry_posts(world, number)) == 2  # the restart posted nothing twice


async def wait_past(bot: Bot, column: str, number: int) -> None:
    """Sleep (the bot is down) until the contest's `column` deadline has passed."""
    at = float(await scalar(bot, f"SELECT {column} FROM contests WHERE number = ?", (number,)))
    await asyncio.sleep(max(at - time.time(), 0) + 0.3)


async def test_phase_changes_that_fell_while_the_bot_was_down_are_caught_up(world: World, bot: Bot):
    fake = world.fake
    carol = world.guild.add_member("carol")
    number = await create(world, submissions="10s", voting="10s")
    job = await make_video(world, world.alice, "a lighthouse keeper's cat")
    assert "is entered in" in await enter(world, world.alice, number, job)
    assert "is entered in" in await enter(
        world, world.bob, number, await make_video(world, world.bob, "a tram at night")
    )

    await bot.stop()
    await wait_past(bot, "submissions_close_at", number)
    assert voting_post(world, number) is None
    await bot.start()
    posts = await wait_reveal(world, number, 2, timeout=15)  # no member had to do anything
    assert voting_post(world, number) is not None
    assert "is counted" in (await vote(world, carol, posts[0])).content

    await bot.stop()
    await wait_past(bot, "voting_close_at", number)
    assert results_post(world, number) is None
    await bot.start()
    result = await fake.wait_for(lambda: results_post(world, number), timeout=15)
    assert "1 vote" in result.content and "0 votes" in result.content
    assert len(entry_posts(world, number)) == 2
