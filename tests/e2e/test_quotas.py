"""Credits, refunds and a server's policy end to end, as members and admins meet them.

The bot runs with a small allowance (10 credits a day) so a few cheap videos reach the limits.
A video costs its duration times its resolution's weight (480p 1, 720p 2, 1080p 5).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from bot.sandbox import Sandbox
from db.database import Database
from tests.e2e.conftest import Bot, World
from tests.e2e.test_video import card_status, job_id_of
from tests.fakediscord import EPHEMERAL, InteractionHandle, Member, Message

ALLOWANCE = 10
PROMPT = "a lighthouse in fog"
FINAL = ("✅", "❌", "🚫")
RESET = re.compile(r"<t:(\d+):R>")


@pytest.fixture
def bot_settings() -> dict[str, str]:
    return {"QUOTA_CREDITS_PER_DAY": str(ALLOWANCE)}


# --- a member's hands -------------------------------------------------------------------------


async def ask_video(
    world: World, member: Member, prompt: str = PROMPT, **options: Any
) -> InteractionHandle:
    return await world.fake.invoke(member, world.channel, "video", {"prompt": prompt, **options})


async def start_video(
    world: World, member: Member, prompt: str = PROMPT, **options: Any
) -> tuple[int, Message]:
    """A /video the bot accepts: the job id and its public card."""
    card = await (await ask_video(world, member, prompt, **options)).wait_original()
    assert card.embeds, f"the video was not accepted: {card.content!r}"
    assert not card.flags & EPHEMERAL
    return job_id_of(card), card


async def refusal(handle: InteractionHandle) -> str:
    """The ephemeral refusal a member gets instead of a card."""
    reply = await handle.wait_original(lambda m: not m.loading)
    assert reply.flags & EPHEMERAL, f"not ephemeral: {reply.content!r}"
    assert not reply.embeds and not reply.components, "a refusal came with a card"
    assert "Traceback" not in reply.content and "went wrong" not in reply.content
    return reply.content


async def command(
    world: World,
    member: Member,
    name: str,
    subcommand: str | None = None,
    options: dict[str, Any] | None = None,
) -> Message:
    """Run a slash command; the bot's (ephemeral) answer, once it has one."""
    handle = await world.fake.invoke(member, world.channel, name, options or {}, subcommand)
    reply = await handle.wait_original(lambda m: not m.loading and bool(m.content or m.embeds))
    assert reply.flags & EPHEMERAL, f"/{name} {subcommand} answered publicly: {reply.content!r}"
    return reply


async def quota_text(world: World, member: Member) -> str:
    return (await command(world, member, "quota", "show")).content


async def wait_queued(world: World, card: Message) -> None:
    """Until the bot has the provider's request id (the card says Queued)."""
    await world.fake.wait_for(lambda: card_status(card).startswith("⏳ Queued") or None, 15)


async def wait_final(world: World, card: Message) -> str:
    return await world.fake.wait_for(
        lambda: card_status(card) if card_status(card).startswith(FINAL) else None, 30
    )


# --- what the bot stored ----------------------------------------------------------------------


async def rows(bot: Bot, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    db = await Database.open(bot.database)
    try:
        return [tuple(r) for r in await db.fetchall(sql, params)]
    finally:
        await db.close()


async def used_by(bot: Bot, member: Member) -> int:
    found = await rows(
        bot, "SELECT COALESCE(SUM(used), 0) FROM quota_usage WHERE user_id = ?", (member.id,)
    )
    return int(found[0][0])


def submitted_prompts(generator: Sandbox) -> list[str]:
    return [str(job.payload.get("text")) for job in generator.state.jobs.values()]


async def sandbox_until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    """Until the sandbox's own state satisfies `check` (the fake's wait_for sees no sandbox)."""
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the sandbox never got there")


def assert_next_utc_midnight(text: str) -> None:
    """The reset shows as a relative Discord timestamp of the next 00:00 UTC."""
    match = RESET.search(text)
    assert match, f"no reset time in {text!r}"
    reset = int(match.group(1))
    assert reset % 86400 == 0 and 0 < reset - time.time() <= 86400


# --- refusals ---------------------------------------------------------------------------------


async def test_a_video_over_the_allowance_is_refused_and_never_submitted(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.paused = True
    await start_video(world, world.alice, "a small boat", resolution="480p", duration=5)
    await sandbox_until(lambda: generator.state.count("submit") == 1)

    handle = await ask_video(world, world.alice, "a big ship", resolution="720p", duration=5)
    text = await refusal(handle)
    assert "costs 10 credits" in text and "5 of 10 left" in text
    assert "Nothing was charged" in text
    assert_next_utc_midnight(text)

    # A cheaper one still fits: it is the only other submit the sandbox ever sees.
    await start_video(world, world.alice, "a canoe", resolution="480p", duration=5)
    await sandbox_until(lambda: generator.state.count("submit") == 2)
    assert sorted(submitted_prompts(generator)) == ["a canoe", "a small boat"]
    assert await used_by(bot, world.alice) == 10
    assert [r[0] for r in await rows(bot, "SELECT cost FROM jobs ORDER BY id")] == [5, 5]


async def test_a_third_video_in_progress_is_refused_until_an_admin_raises_the_cap(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.paused = True
    await start_video(world, world.alice, "one", duration=2)
    await start_video(world, world.alice, "two", duration=2)

    text = await refusal(await ask_video(world, world.alice, "three", duration=2))
    assert "You already have 2 video(s) in progress (the limit is 2)" in text
    assert "Wait for one to finish" in text and "Nothing was charged" in text
    await sandbox_until(lambda: generator.state.count("submit") == 2)
    assert await used_by(bot, world.alice) == 4
    # Someone else is not held back by alice's jobs.
    await start_video(world, world.bob, "bob's", duration=2)

    reply = await command(world, world.admin, "quota-admin", "active", {"jobs": 3})
    assert "3 video(s) in progress at once" in reply.content
    await start_video(world, world.alice, "three", duration=2)
    await sandbox_until(lambda: generator.state.count("submit") == 4)
    assert sorted(submitted_prompts(generator)) == ["bob's", "one", "three", "two"]


# --- refunds and /quota show ------------------------------------------------------------------


async def test_failed_and_cancelled_videos_give_the_credits_back_in_quota_show(
    world: World, bot: Bot, generator: Sandbox
):
    generator.state.next_outcome(failed=True, error="The prompt was flagged by the safety filter")
    _, failed = await start_video(world, world.alice, "flagged", duration=2)
    assert (await wait_final(world, failed)).startswith("❌")

    generator.config.paused = True
    cancelled_id, cancelled = await start_video(world, world.alice, "cancel me", duration=3)
    await wait_queued(world, cancelled)
    text = await quota_text(world, world.alice)
    assert "7 of 10 credits left" in text  # the failed job's 2 came back; 3 are reserved
    assert "Videos in progress: 1 of 2." in text

    handle = await world.fake.press(world.alice, cancelled, f"job:cancel:{cancelled_id}")
    reply = await handle.wait_original(lambda m: "Cancelled" in m.content)
    assert reply.flags & EPHEMERAL and "refunded" in reply.content
    assert (await wait_final(world, cancelled)).startswith("🚫")

    generator.config.paused = False
    _, delivered = await start_video(world, world.alice, "delivered", duration=4)
    assert await wait_final(world, delivered) == "✅ Done"

    text = await quota_text(world, world.alice)
    assert f"**alice**: {ALLOWANCE - 4} of {ALLOWANCE} credits left today;" in text
    assert "Videos in progress: 0 of 2." in text
    assert_next_utc_midnight(text)
    assert "seconds ×1 at 480p, ×2 at 720p, ×5 at 1080p" in text
    assert "granted" not in text and "budget" not in text
    assert await used_by(bot, world.alice) == 4
    statuses = sorted(j.status for j in generator.state.jobs.values())
    assert statuses == ["cancelled", "completed", "failed"]

    # A moderator may look at alice's credits; another member may not.
    shown = await command(world, world.mod, "quota", "show", {"member": world.alice})
    assert f"**alice**: {ALLOWANCE - 4} of {ALLOWANCE} credits left today;" in shown.content
    refused = await command(world, world.bob, "quota", "show", {"member": world.alice})
    assert refused.content == "Only moderators can look at another member's credits."


async def test_the_ledger_explains_every_balance_after_a_mix_of_outcomes(
    world: World, bot: Bot, generator: Sandbox
):
    await command(world, world.admin, "quota-admin", "grant", {"member": world.bob, "credits": 4})
    generator.state.next_outcome(failed=True)
    _, a_failed = await start_video(world, world.alice, "alice fails", duration=3)
    await sandbox_until(lambda: generator.state.count("submit") == 1)  # the failing one is hers
    _, b_done = await start_video(world, world.bob, "bob delivered", resolution="720p", duration=6)
    await wait_final(world, a_failed)
    await wait_final(world, b_done)

    generator.config.paused = True
    a_cancel_id, a_cancel = await start_video(world, world.alice, "alice cancels", duration=4)
    await wait_queued(world, a_cancel)
    await world.fake.press(world.alice, a_cancel, f"job:cancel:{a_cancel_id}")
    await wait_final(world, a_cancel)
    await refusal(await ask_video(world, world.bob, "too dear", resolution="1080p", duration=2))
    generator.config.paused = False
    _, a_done = await start_video(world, world.alice, "alice delivered", duration=7)
    _, b_done2 = await start_video(world, world.bob, "bob again", duration=2)
    finals = [await wait_final(world, card) for card in (a_done, b_done2)]
    assert finals == ["✅ Done", "✅ Done"]

    usage = await rows(bot, "SELECT guild_id, user_id, period, used, granted FROM quota_usage")
    assert {(r[1], r[3], r[4]) for r in usage} == {(world.alice.id, 7, 0), (world.bob.id, 14, 4)}
    for guild_id, user_id, period, used, granted in usage:
        [(spent, given)] = await rows(
            bot,
            "SELECT COALESCE(SUM(CASE WHEN kind != 'grant' THEN amount END), 0),"
            " COALESCE(SUM(CASE WHEN kind = 'grant' THEN amount END), 0)"
            " FROM ledger WHERE guild_id = ? AND user_id = ? AND period = ?",
            (guild_id, user_id, period),
        )
        assert (spent, given) == (used, granted)

    # Each job: one reserve of its cost; a commit if delivered, a refund if not; never both.
    jobs = await rows(
        bot,
        "SELECT j.status, j.cost,"
        " SUM(l.kind = 'reserve'), SUM(CASE WHEN l.kind = 'reserve' THEN l.amount END),"
        " SUM(l.kind = 'commit'), SUM(l.kind = 'refund'),"
        " COALESCE(SUM(CASE WHEN l.kind = 'refund' THEN l.amount END), 0)"
        " FROM jobs j JOIN ledger l ON l.job_id = j.id GROUP BY j.id ORDER BY j.id",
    )
    assert len(jobs) == 5  # the refused one never got a row
    for status, cost, reserves, reserved, commits, refunds, refunded in jobs:
        assert (reserves, reserved) == (1, cost)
        if status == "delivered":
            assert (commits, refunds) == (1, 0)
        else:
            assert status in ("failed", "cancelled") and (commits, refunds, refunded) == (
                0,
                1,
                -cost,
            )
    assert "too dear" not in submitted_prompts(generator)


# --- /quota-admin -----------------------------------------------------------------------------


async def test_quota_admin_is_out_of_reach_without_manage_server(world: World, bot: Bot):
    for member in (world.alice, world.bob, world.mod):
        with pytest.raises(PermissionError):
            await world.fake.invoke(
                member, world.channel, "quota-admin", {"credits": 1000}, "default"
            )
    [stored] = [c for c in world.fake.commands(world.guild) if c["name"] == "quota-admin"]
    assert int(stored["default_member_permissions"]) == 1 << 5  # Manage Server
    assert await rows(bot, "SELECT * FROM guild_policy") == []
    assert f"{ALLOWANCE} of {ALLOWANCE} credits left" in await quota_text(world, world.bob)


async def test_the_bot_itself_checks_manage_server_when_discord_lets_a_member_through(
    world: World, bot: Bot, monkeypatch: pytest.MonkeyPatch
):
    # Discord's command permissions (Server Settings > Integrations) can open the command to
    # a member without Manage Server; the fake then delivers the interaction like Discord does.
    monkeypatch.setattr("tests.fakediscord.server.ensure_usable", lambda *args: None)
    handle = await world.fake.invoke(
        world.bob, world.channel, "quota-admin", {"credits": 1000}, "default"
    )
    text = await refusal(handle)
    assert text == "You need the Manage Server permission for that."
    assert await rows(bot, "SELECT * FROM guild_policy") == []


async def test_admin_sets_the_default_and_role_allowances(world: World, bot: Bot):
    patron = world.guild.add_role("Patron", 0)
    lurker = world.guild.add_role("Lurker", 0)
    carol = world.guild.add_member("carol", roles=[patron, lurker])
    dave = world.guild.add_member("dave", roles=[lurker])

    reply = await command(world, world.admin, "quota-admin", "default", {"credits": 3})
    assert reply.content == "Every member now gets 3 credits a day."
    assert "3 of 3 credits left" in await quota_text(world, world.alice)
    text = await refusal(await ask_video(world, world.alice, duration=5))
    assert "costs 5 credits and you have 3 of 3 left" in text and "Nothing was charged" in text

    await command(world, world.admin, "quota-admin", "role", {"role": patron, "credits": 20})
    reply = await command(world, world.admin, "quota-admin", "role", {"role": lurker, "credits": 1})
    assert "best of their roles" in reply.content and reply.allowed_mentions == {"parse": []}
    assert "20 of 20 credits left" in await quota_text(world, carol)  # the best of her roles
    assert "3 of 3 credits left" in await quota_text(world, dave)  # the default beats Lurker's 1
    await start_video(world, carol, resolution="720p", duration=8)  # 16 credits
    assert await used_by(bot, carol) == 16

    reply = await command(world, world.admin, "quota-admin", "role", {"role": patron})
    assert "no longer has its own allowance" in reply.content
    assert "0 of 3 credits left" in await quota_text(world, carol)
    await refusal(await ask_video(world, carol, duration=2))
    assert await used_by(bot, carol) == 16


async def test_admin_grants_bans_and_unbans(world: World, bot: Bot, generator: Sandbox):
    generator.config.paused = True
    reply = await command(
        world,
        world.admin,
        "quota-admin",
        "grant",
        {"member": world.alice, "credits": 5, "note": "contest winner"},
    )
    assert f"<@{world.alice.id}> got 5 extra credits for today." == reply.content
    assert not reply.mentioned_user_ids  # said, not pinged
    text = await quota_text(world, world.alice)
    assert "15 of 15 credits left today (10 a day + 5 granted)" in text
    await start_video(world, world.alice, "granted", resolution="1080p", duration=3)  # 15
    [grant] = await rows(
        bot, "SELECT user_id, amount, actor_id, note FROM ledger WHERE kind = 'grant'"
    )
    assert grant == (world.alice.id, 5, world.admin.id, "contest winner")

    reply = await command(
        world, world.admin, "quota-admin", "ban", {"member": world.bob, "reason": "spam"}
    )
    assert "can no longer use /video here" in reply.content
    text = await refusal(await ask_video(world, world.bob, "while banned"))
    assert "turned off video making for you" in text and "Nothing was charged" in text
    assert "while banned" not in submitted_prompts(generator)
    assert await used_by(bot, world.bob) == 0
    logged = await rows(bot, "SELECT job_id, actor_id, action, reason FROM moderation_log")
    assert logged == [(None, world.admin.id, "ban", "spam")]

    reply = await command(world, world.admin, "quota-admin", "unban", {"member": world.bob})
    assert "can use /video again" in reply.content
    await start_video(world, world.bob, "after the ban")
    reply = await command(world, world.admin, "quota-admin", "unban", {"member": world.bob})
    assert "was not banned" in reply.content
    await sandbox_until(lambda: generator.state.count("submit") == 2)
    assert sorted(submitted_prompts(generator)) == ["after the ban", "granted"]


async def test_a_server_budget_is_shared_by_everyone(world: World, bot: Bot, generator: Sandbox):
    generator.config.paused = True
    reply = await command(world, world.admin, "quota-admin", "budget", {"credits": 12})
    assert "a daily budget of 12 credits" in reply.content
    assert "daily budget of 12 credits in all" in await quota_text(world, world.bob)

    await start_video(world, world.alice, "alice's", duration=8)
    # 5 credits fit bob's own allowance, but not what is left of the server's budget.
    text = await refusal(await ask_video(world, world.bob, "bob's", duration=5))
    assert "This server has 4 of its 12 daily credits left, not enough for this 5-credit" in text
    assert "Nothing was charged" in text
    assert_next_utc_midnight(text)
    await start_video(world, world.bob, "bob's short one", duration=4)  # exactly the budget

    reply = await command(world, world.admin, "quota-admin", "budget", {"credits": 0})
    assert "no server-wide budget" in reply.content
    await start_video(world, world.bob, "bob's", duration=5)
    await sandbox_until(lambda: generator.state.count("submit") == 3)
    assert sorted(submitted_prompts(generator)) == ["alice's", "bob's", "bob's short one"]


# --- /blocklist -------------------------------------------------------------------------------


async def test_a_blocked_term_is_refused_in_any_case_before_anything_is_charged(
    world: World, bot: Bot, generator: Sandbox
):
    with pytest.raises(PermissionError):
        await world.fake.invoke(world.bob, world.channel, "blocklist", {"term": "cat"}, "add")
    assert (await command(world, world.mod, "blocklist", "add", {"term": "Dragon"})).content == (
        "Added."
    )
    again = await command(world, world.mod, "blocklist", "add", {"term": "DRAGON"})
    assert again.content == "It was already on the list."
    await command(world, world.mod, "blocklist", "add", {"term": "Red   Panda"})
    assert (await command(world, world.mod, "blocklist", "show")).content == (
        "`dragon`, `red panda`"
    )

    for prompt in ("A fierce DRAGON over the city", "a red\npanda eating", "dragon!"):
        text = await refusal(await ask_video(world, world.alice, prompt))
        assert "does not allow" in text and "Nothing was charged" in text
        assert "dragon" not in text.casefold() and "panda" not in text.casefold()
    assert generator.state.count("submit") == 0
    assert await used_by(bot, world.alice) == 0
    assert await rows(bot, "SELECT * FROM jobs") == []

    removed = await command(world, world.mod, "blocklist", "remove", {"term": "dragon"})
    assert removed.content == "Removed."
    await start_video(world, world.alice, "A fierce DRAGON over the city")
    await sandbox_until(lambda: generator.state.count("submit") == 1)


async def test_a_blank_term_does_not_block_every_prompt(world: World, bot: Bot, generator: Sandbox):
    # A modified client (or one that does not trim) can send spaces as the term.
    raw = [{"name": "term", "type": 3, "value": "   "}]
    handle = await world.fake.invoke(
        world.mod, world.channel, "blocklist", None, "add", raw_options=raw
    )
    await handle.wait_original(lambda m: not m.loading)
    await start_video(world, world.alice, "a cat on a sofa. It purrs!")
