"""Voting, as members see it: own entry, double clicks, the budget, taking a vote back, age
minimums, a vote after close, and 50 presses at once by one member."""

from __future__ import annotations

import asyncio

from tests.e2e.conftest import Bot, World
from tests.e2e.contest_kit import (
    DAY,
    ask,
    card_fields,
    create,
    enter,
    make_video,
    scalar,
    take_back,
    vote,
    vote_id,
    wait_reveal,
)
from tests.e2e.test_moderation import answer
from tests.fakediscord import Member, Message

SEND_MESSAGES = 1 << 11


async def revealed(world: World, number: int, makers: dict[str, Member]) -> dict[str, Message]:
    """Each maker's video entered, submissions closed by a moderator: the reveal post of each
    maker's entry, by the maker's name (which the post itself never shows)."""
    prompts = {name: f"prompt number {i}" for i, name in enumerate(makers)}
    jobs = await asyncio.gather(*(make_video(world, m, prompts[n]) for n, m in makers.items()))
    for member, job_id in zip(makers.values(), jobs, strict=True):
        assert "is entered in" in await enter(world, member, number, job_id)
    assert "voting is open" in await ask(world, world.mod, "close", {"contest": number})
    posts = await wait_reveal(world, number, len(makers))
    return {name: next(p for p in posts if prompts[name] in p.content) for name in makers}


async def votes_of(bot: Bot, member: Member) -> int:
    return int(await scalar(bot, "SELECT COUNT(*) FROM contest_votes WHERE voter_id = ?",
                            (member.id,)))  # fmt: skip


async def test_votes_count_once_within_the_budget_and_the_rules(world: World, bot: Bot):
    guild, fake = world.guild, world.fake
    carol = guild.add_member("carol")
    dave = guild.add_member("dave", account_age=2 * DAY, member_age=2 * DAY)
    erin = guild.add_member("erin", account_age=2 * DAY, member_age=2 * DAY)
    newbie = guild.add_member("newbie", member_age=2 * DAY)  # an account made today
    fresh = guild.add_member("fresh", account_age=2 * DAY)  # joined a moment ago
    number = await create(world, votes_per_member=2, min_account_age="1d", min_member_age="1h")
    posts = await revealed(world, number, {"alice": world.alice, "bob": world.bob, "carol": carol})

    own = await vote(world, world.alice, posts["alice"])
    assert "your own" in own.content and "2 of 2 votes left" in own.content
    first = await vote(world, dave, posts["alice"])
    assert "is counted" in first.content and "1 of 2 votes left" in first.content
    assert any(c.startswith("contest:take-back:") for c in first.custom_ids())

    # A double click: two presses at once, one vote.
    both = await asyncio.gather(vote(world, dave, posts["bob"]), vote(world, dave, posts["bob"]))
    assert sorted("already counted" in m.content for m in both) == [False, True]
    assert await votes_of(bot, dave) == 2

    assert "used all 2 votes" in (await vote(world, dave, posts["carol"])).content
    counted = next(m for m in both if "is counted" in m.content)
    assert "taken back" in await take_back(world, dave, counted)
    assert "1 of 2 votes left" in await take_back(world, dave, counted)  # nothing to take back
    moved = await vote(world, dave, posts["carol"])
    assert "is counted" in moved.content and "0 of 2 votes left" in moved.content
    assert await votes_of(bot, dave) == 2

    assert "account must be at least 1 d old" in (await vote(world, newbie, posts["bob"])).content
    assert "for at least 1 h" in (await vote(world, fresh, posts["bob"])).content
    assert "is counted" in (await vote(world, erin, posts["carol"])).content
    # During voting only the number of votes cast is public.
    await fake.wait_for(lambda: card_fields(world, number).get("Votes cast") == "3", timeout=15)

    # Voting ends while the bot can't post (so the buttons are still there): too late anyway.
    world.channel.set_permissions(guild.bot_role, deny=SEND_MESSAGES)
    assert "results are being posted" in await ask(world, world.mod, "close", {"contest": number})
    assert "has closed" in (await vote(world, erin, posts["alice"])).content
    assert "has closed" in await take_back(world, dave, first)
    results = await ask(world, world.bob, "results", {"contest": number})
    lines = results.splitlines()
    assert any("1st" in line and f"<@{carol.id}>" in line and "2 votes" in line for line in lines)
    assert any("2nd" in line and f"<@{world.alice.id}>" in line and "1 vote" in line
               for line in lines)  # fmt: skip
    assert any("3rd" in line and f"<@{world.bob.id}>" in line and "0 votes" in line
               for line in lines)  # fmt: skip


async def test_fifty_presses_at_once_by_one_member_stay_within_the_budget(world: World, bot: Bot):
    guild = world.guild
    makers = {name: guild.add_member(name) for name in ("ann", "ben", "cid", "dot", "eve")}
    voter = guild.add_member("voter")
    number = await create(world, votes_per_member=3)
    posts = await revealed(world, number, makers)
    buttons = [(post, vote_id(post)) for post in posts.values()]
    handles = await asyncio.gather(
        *(world.fake.press(voter, post, custom_id) for post, custom_id in buttons * 10)
    )
    assert len({h.id for h in handles}) == 50
    replies = await asyncio.gather(*(answer(h) for h in handles))
    assert len(replies) == 50
    assert await votes_of(bot, voter) == 3
    counted = [r for r in replies if "is counted" in r.content]
    assert len(counted) == 3
    assert all("is counted" in r.content or "already counted" in r.content or "used all" in
               r.content for r in replies)  # fmt: skip
