"""Moderators stop a contest or take an entry out of it, as members and moderators see it:
what the channel shows, votes after that, the moderation log and the log channel, and a
member who is not a moderator being refused."""

from __future__ import annotations

import copy

from tests.e2e.conftest import Bot, World
from tests.e2e.contest_kit import (
    ask,
    card,
    card_fields,
    create,
    entry_number,
    results_post,
    scalar,
    take_back,
    vote,
)
from tests.e2e.test_contest_votes import revealed
from tests.e2e.test_quotas import command, rows
from tests.fakediscord import Channel, Message


async def log_channel(world: World) -> Channel:
    channel = world.guild.add_text_channel("mod-log")
    await command(world, world.admin, "quota-admin", "log-channel", {"channel": channel})
    return channel


def seen_before(post: Message) -> Message:
    """The post as a member's client still showed it a moment ago (its Vote button there):
    a press from it reaches the bot after the edit that removed the button."""
    return copy.copy(post)


async def test_a_cancelled_contest_tells_the_channel_and_takes_no_more_votes(
    world: World, bot: Bot
):
    fake, guild = world.fake, world.guild
    logs = await log_channel(world)
    carol = guild.add_member("carol")
    number = await create(world)
    posts = await revealed(world, number, {"alice": world.alice, "bob": world.bob})
    counted = await vote(world, carol, posts["alice"])
    assert "is counted" in counted.content
    stale = seen_before(posts["bob"])

    # A member who is not a moderator is refused privately; nothing changes.
    refused = await ask(world, world.alice, "cancel", {"contest": number, "reason": "I lost"})
    assert refused.startswith("Only moderators of")
    assert await scalar(bot, "SELECT phase FROM contests") == "voting"

    done = await ask(
        world, world.mod, "cancel", {"contest": number, "reason": "off-theme @everyone"}
    )
    assert done == f"Contest #{number} is cancelled."

    # The channel: a plain message under the card (no ping), the card says so, buttons gone.
    said = await fake.wait_for(
        lambda: next(
            (m for m in fake.messages(world.channel) if "was cancelled" in m.content), None
        )
    )
    assert said.content.startswith(f"Contest #{number} was cancelled by a moderator")
    assert "it has no results" in said.content and "off-theme" in said.content
    assert said.reference_id == card(world, number).id
    assert not said.mention_everyone and said.mentioned_user_ids == ()
    await fake.wait_for(lambda: "cancelled" in card_fields(world, number)["Now"] or None)
    assert "Voting closes" not in card_fields(world, number)
    await fake.wait_for(lambda: all(not p.custom_ids() for p in posts.values()) or None)

    # A press from a client that still showed the button, and a take-back: both refused.
    assert "was cancelled" in (await vote(world, carol, stale)).content
    assert "was cancelled" in await take_back(world, carol, counted)
    assert await scalar(bot, "SELECT COUNT(*) FROM contest_votes") == 1
    assert "no results" in await ask(world, world.bob, "results", {"contest": number})
    again = await ask(world, world.mod, "cancel", {"contest": number})
    assert "can't be cancelled" in again

    # The moderation log and the log channel have it once, with who and why, pinging nobody.
    logged = await rows(bot, "SELECT actor_id, action, reason FROM moderation_log"
                             " WHERE action = 'contest-cancel'")  # fmt: skip
    assert logged == [(world.mod.id, "contest-cancel", "off-theme @everyone")]
    [post] = [m for m in fake.messages(logs) if "cancelled" in m.content]
    assert post.content == (
        f"<@{world.mod.id}> cancelled Contest #{number}. Reason: off-theme @everyone"
    )
    assert post.mentioned_user_ids == () and not post.mention_everyone


async def test_a_disqualified_entry_loses_its_votes_and_its_place(world: World, bot: Bot):
    fake, guild = world.fake, world.guild
    logs = await log_channel(world)
    carol, dave, erin = (guild.add_member(n) for n in ("carol", "dave", "erin"))
    number = await create(world, votes_per_member=2)
    makers = {"alice": world.alice, "bob": world.bob, "carol": carol}
    posts = await revealed(world, number, makers)
    assert "is counted" in (await vote(world, dave, posts["alice"])).content
    assert "is counted" in (await vote(world, dave, posts["bob"])).content
    assert "is counted" in (await vote(world, erin, posts["alice"])).content
    await fake.wait_for(lambda: card_fields(world, number).get("Votes cast") == "3" or None, 15)
    alice_n = entry_number(posts["alice"])
    stale = seen_before(posts["alice"])

    # The entry option offers the live entries by number, never their authors.
    offered = await fake.autocomplete(
        world.mod, world.channel, "contest", {"contest": number, "entry": ""}, "entry", "disqualify"
    )
    assert sorted(c["value"] for c in offered) == [1, 2, 3]
    assert all(c["name"].startswith(f"Entry {c['value']} · prompt number") for c in offered)

    options = {"contest": number, "entry": alice_n, "reason": "not made for the theme @here"}
    refused = await ask(world, world.bob, "disqualify", options)
    assert refused.startswith("Only moderators of")
    done = await ask(world, world.mod, "disqualify", options)
    assert done == f"Entry {alice_n} of Contest #{number} is disqualified; its votes are returned."
    assert "already disqualified" in await ask(world, world.mod, "disqualify", options)

    # Its post says so, without the video or the button; the public count drops.
    post = posts["alice"]
    await fake.wait_for(lambda: "disqualified" in post.content or None)
    assert post.content.startswith(f"~~**Entry {alice_n}** · Contest #{number}~~ (disqualified:")
    assert post.custom_ids() == [] and "/_sandbox/videos/" not in post.content
    assert "@here" not in post.content  # neutralised
    await fake.wait_for(lambda: card_fields(world, number).get("Votes cast") == "1" or None, 15)

    # Its voters have their votes back; a press on it is refused.
    gone = (await vote(world, erin, stale)).content
    assert "was disqualified" in gone and "2 of 2 votes left" in gone  # erin's vote came back
    moved = await vote(world, dave, posts["carol"])
    assert "is counted" in moved.content and "0 of 2 votes left" in moved.content

    # The moderation log and the log channel name the entry, its job and its author, no pings.
    logged = await rows(bot, "SELECT actor_id, reason FROM moderation_log"
                             " WHERE action = 'contest-disqualify'")  # fmt: skip
    assert logged == [(world.mod.id, "not made for the theme @here")]
    [note] = [m for m in fake.messages(logs) if "disqualified" in m.content]
    job = await scalar(bot, "SELECT job_id FROM contest_entries WHERE number = ?", (alice_n,))
    assert note.content == (
        f"<@{world.mod.id}> disqualified Entry {alice_n} of Contest #{number} (Job #{job}, by "
        f"<@{world.alice.id}>). Reason: not made for the theme @here"
    )
    assert note.mentioned_user_ids == () and not note.mention_everyone

    # The results leave it out of the ranking and say why; its author is not a winner.
    assert "results are being posted" in await ask(world, world.mod, "close", {"contest": number})
    result = await fake.wait_for(lambda: results_post(world, number), timeout=30)
    ranked = [line for line in result.content.splitlines() if " vote" in line and "**" in line]
    assert len(ranked) == 2 and all(f"Entry {alice_n} " not in line for line in ranked)
    assert all("1 vote" in line and "1st (tie)" in line for line in ranked)
    assert f"Disqualified: Entry {alice_n} (not made for the theme" in result.content
    assert world.alice.id not in result.mentioned_user_ids
    assert set(result.mentioned_user_ids) == {world.bob.id, carol.id}
