"""Prompt contests end to end, as members see them: a whole contest that runs by itself, and
entering it both ways with every refusal. Votes are in test_contest_votes.py, restarts in
test_contest_restarts.py."""

from __future__ import annotations

import asyncio
import re

from tests.e2e.conftest import Bot, World
from tests.e2e.contest_kit import (
    card_fields,
    create,
    enter,
    entry_number,
    entry_posts,
    make_video,
    results_post,
    vote,
    voting_post,
    wait_reveal,
)


async def test_a_whole_contest_runs_by_itself_blind_and_ends_with_a_tie(world: World, bot: Bot):
    fake, guild = world.fake, world.guild
    carol, dave, erin = (guild.add_member(n) for n in ("carol", "dave", "erin"))
    number = await create(world, submissions="10s", voting="10s", votes_per_member=2)
    fields = card_fields(world, number)
    assert "<t:" in fields["Submissions close"] and "<t:" in fields["Voting closes"]
    assert "share a place" in fields["Rules"]  # the tie rule, stated from the start
    assert f"/contest enter contest:{number}" in fields["How to enter"]

    makers = {"alice": world.alice, "bob": world.bob, "carol": carol}
    prompts = {"alice": "neon alley at dawn", "bob": "rain on a tram", "carol": "canal lanterns"}
    jobs = await asyncio.gather(*(make_video(world, m, prompts[n]) for n, m in makers.items()))
    for member, job_id in zip(makers.values(), jobs, strict=True):
        assert "is entered in" in await enter(world, member, number, job_id)
    assert entry_posts(world, number) == []  # nothing shown before submissions close

    # Submissions close by themselves; every entry comes out at once, without its author.
    posts = await wait_reveal(world, number, 3, timeout=30)
    opened = voting_post(world, number)
    assert opened is not None and all(p.id > opened.id for p in posts)
    assert sorted(entry_number(p) for p in posts) == [1, 2, 3]
    for post in posts:
        assert not re.search(r"alice|bob|carol|<@|Job #", post.content)
    by_author = {name: next(p for p in posts if prompts[name] in p.content) for name in makers}

    # alice and bob tie with 2 votes each; carol gets none.
    for voter, author in ((dave, "alice"), (dave, "bob"), (erin, "alice"), (carol, "bob")):
        assert "is counted" in (await vote(world, voter, by_author[author])).content
    await fake.wait_for(lambda: card_fields(world, number).get("Votes cast") == "4", timeout=15)

    # Voting closes by itself; the results name everyone and ping only the winners.
    result = await fake.wait_for(lambda: results_post(world, number), timeout=30)
    lines = result.content.splitlines()
    alice_n, bob_n, carol_n = (entry_number(by_author[n]) for n in ("alice", "bob", "carol"))
    tied = [line for line in lines if "1st (tie)" in line]
    assert len(tied) == 2 and all("2 votes" in line for line in tied)
    assert any(f"Entry {carol_n}" in line and "3rd" in line and "0 votes" in line for line in lines)
    assert f"<@{carol.id}>" in result.content
    assert "tie for 1st place with 2 votes each" in result.content
    shared = set(re.findall(r"Entry \d+", tied[0] + tied[1]))
    assert {f"Entry {alice_n}", f"Entry {bob_n}"} == shared
    # Everyone named, only the winners pinged.
    assert set(result.mentioned_user_ids) == {world.alice.id, world.bob.id}
    assert "/_sandbox/videos/" in result.content  # the winning videos
    # The Vote buttons are gone.
    await fake.wait_for(lambda: all(not p.custom_ids() for p in posts) or None, timeout=15)
    assert card_fields(world, number).get("Votes cast") == "4"


async def test_a_contest_with_no_entries_ends_with_a_plain_message(world: World, bot: Bot):
    number = await create(world, submissions="10s")
    ended = await world.fake.wait_for(
        lambda: next(
            (m for m in world.fake.messages(world.channel) if "nothing was entered" in m.content),
            None,
        ),
        timeout=30,
    )
    assert ended.content.startswith(f"Contest #{number} has ended")
    assert voting_post(world, number) is None
    await world.fake.wait_for(lambda: "over" in card_fields(world, number)["Now"], timeout=10)
