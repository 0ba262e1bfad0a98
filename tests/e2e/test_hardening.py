"""Defects found in review, each as a member or an admin would meet it: long lists, a crashed
runner, the cancel reason, a double-clicked Cancel."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.jobs import CRASHED, REMOVED_FROM_SERVER
from bot.sandbox import Sandbox
from tests.e2e.conftest import MANAGE_MESSAGES, Bot, World
from tests.e2e.test_durability import results
from tests.e2e.test_moderation import answer, cancel_id, fields_of, jobs_cancel, page_lines
from tests.e2e.test_quotas import command, rows, start_video, used_by, wait_final, wait_queued
from tests.fakediscord import EPHEMERAL, MIB, Message

# An ordinary, wordy prompt: a /jobs line with it runs to well over 200 characters.
LONG = (
    "a slow cinematic drone shot over a misty pine forest at dawn, sun rays through the fog, "
    "a lone red cabin by a frozen lake, smoke from its chimney, birds crossing the frame, "
    "soft film grain, 35mm, gentle camera drift to the right"
)


@pytest.fixture
def bot_settings() -> dict[str, str]:
    return {"QUOTA_MAX_ACTIVE_JOBS": "20", "QUOTA_CREDITS_PER_DAY": "1000"}


async def fill_queue(world: World, count: int) -> list[int]:
    ids = []
    for i in range(count):
        member = world.alice if i % 2 == 0 else world.bob
        job_id, _ = await start_video(world, member, f"{LONG} #{i}", duration=2)
        ids.append(job_id)
    return ids


async def next_page(world: World, who, page: Message) -> Message:  # type: ignore[no-untyped-def]
    [next_button] = [c for c in page.components_flat() if c.get("label") == "Next"]
    before = page.edited_at
    await world.fake.press(who, page, next_button["custom_id"])
    return await world.fake.wait_for(lambda: page if page.edited_at != before else None, 10)


# --- 1. lists over 2,000 characters ----------------------------------------------------------


async def test_long_lists_are_paged_within_discords_limits_and_survive_a_restart(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.paused = True
    ids = await fill_queue(world, 23)
    queue = await command(world, world.mod, "jobs", "queue")
    assert queue.flags & EPHEMERAL
    first = page_lines(queue)
    assert len(first) == 10 and first[0].startswith(f"**#{ids[0]}**")
    assert all(len(line) < 400 for line in first)  # prompt excerpts are cut
    assert "…" in first[0] and LONG not in first[0]
    [embed] = queue.embeds
    assert embed["footer"]["text"] == "Page 1 of 3 · 23 jobs, oldest first"
    labels = [
        (c["label"], bool(c.get("disabled"))) for c in queue.components_flat() if c["type"] == 2
    ]
    assert labels == [("Previous", True), ("Next", False)]

    second = page_lines(await next_page(world, world.mod, queue))
    assert second[0].startswith(f"**#{ids[10]}**") and len(second) == 10

    await bot.stop()
    await bot.start()
    third = page_lines(await next_page(world, world.mod, queue))
    assert [line.split("**")[1] for line in third] == [f"#{i}" for i in ids[20:]]
    assert queue.embeds[0]["footer"]["text"].startswith("Page 3 of 3")

    listed = await command(world, world.alice, "jobs", "list")
    mine = page_lines(listed)
    assert len(mine) == 10 and mine[0].startswith(f"**#{ids[22]}**")  # newest first
    assert listed.embeds[0]["footer"]["text"] == "Page 1 of 2 · 12 videos, newest first"


# --- 3. a runner that crashes on something that is not RunComfy ------------------------------


async def test_a_runner_crash_ends_the_job_with_a_plain_message_and_a_refund(
    world: World, bot: Bot, generator: Sandbox
):
    # The videos folder cannot be made (a file is in the way): every delivery attempt fails
    # the way a full disk would.
    (bot.database.parent / "videos").write_text("in the way")
    job_id, card = await start_video(world, world.alice, "a lighthouse in fog", duration=3)
    assert await used_by(bot, world.alice) == 3
    assert await wait_final(world, card) == "❌ Failed"
    assert fields_of(card)["What happened"] == CRASHED
    assert "refunded" in fields_of(card)["Cost"]
    assert await used_by(bot, world.alice) == 0
    [(status,)] = await rows(bot, "SELECT status FROM jobs WHERE id = ?", (job_id,))
    assert status == "failed"
    assert "runner crashed (attempt 4)" in bot.logs()


# --- 4. the reason of a moderator's cancel ----------------------------------------------------


async def test_the_cancel_reason_reaches_the_job_and_its_card(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.paused = True
    job_id, card = await start_video(world, world.alice, "off topic")
    await wait_queued(world, card)
    reply = await jobs_cancel(world, world.mod, job_id, reason="Off-topic here, try #memes")
    assert "Cancelled" in reply.content
    await wait_final(world, card)
    assert fields_of(card)["Reason"] == "Off-topic here, try #memes"
    [(error,)] = await rows(bot, "SELECT error FROM jobs WHERE id = ?", (job_id,))
    assert error == "Off-topic here, try #memes"


# --- a double-clicked Cancel --------------------------------------------------------------------


async def test_a_double_clicked_cancel_cancels_once_and_is_logged(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.paused = True
    job_id, card = await start_video(world, world.alice, "a double click")
    await wait_queued(world, card)
    first, second = await asyncio.gather(
        world.fake.press(world.mod, card, cancel_id(job_id)),
        world.fake.press(world.mod, card, cancel_id(job_id)),
    )
    answers = sorted([(await answer(first)).content, (await answer(second)).content])
    assert answers == [
        f"Job #{job_id}: Cancelled; the credits were refunded.",
        f"Job #{job_id}: It was already cancelled.",
    ]
    status = await wait_final(world, card)
    assert status.startswith(f"🚫 Cancelled by <@{world.mod.id}>")
    logged = await rows(bot, "SELECT job_id, actor_id, action FROM moderation_log")
    assert logged == [(job_id, world.mod.id, "cancel")]
    assert [e.route for e in generator.state.log].count("cancel") == 1


# --- 2. moderator rights come from the job's channel ------------------------------------------


async def run_in(world: World, member, channel, name, sub, options=None) -> Message:  # type: ignore[no-untyped-def]
    handle = await world.fake.invoke(member, channel, name, options or {}, sub)
    reply = await handle.wait_original(lambda m: not m.loading and bool(m.content or m.embeds))
    assert reply.flags & EPHEMERAL
    return reply


async def test_managing_one_channel_moderates_only_that_channel(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.paused = True
    tickets = world.guild.add_text_channel("tickets")
    helpers = world.guild.add_role("ticket helpers", 0)
    tickets.set_permissions(helpers, allow=MANAGE_MESSAGES)
    helper = world.guild.add_member("helper", roles=[helpers])
    elsewhere, elsewhere_card = await start_video(world, world.alice, "made in videos")
    handle = await world.fake.invoke(world.bob, tickets, "video", {"prompt": "made in tickets"})
    ticket_card = await handle.wait_original()
    here = int(ticket_card.embeds[0]["title"].split("#")[1])
    await wait_queued(world, elsewhere_card)

    for typed_in in (tickets, world.channel):
        queue = await run_in(world, helper, typed_in, "jobs", "queue")
        lines = page_lines(queue)
        assert [line.split("**")[1] for line in lines] == [f"#{here}"]
        assert queue.embeds[0]["footer"]["text"].endswith("only channels where you moderate")

    choices = await world.fake.autocomplete(helper, tickets, "jobs", {"job": ""}, "job", "cancel")
    assert [c["value"] for c in choices] == [here]
    refused = await answer(
        await world.fake.invoke(helper, tickets, "jobs", {"job": elsewhere}, "cancel")
    )
    assert refused.content.startswith("Only the member who asked for this video")
    assert card_of(elsewhere_card).startswith("⏳")
    done = await answer(await world.fake.invoke(helper, tickets, "jobs", {"job": here}, "cancel"))
    assert done.content == f"Job #{here}: Cancelled; the credits were refunded."
    assert await used_by(bot, world.alice) == 5 and await used_by(bot, world.bob) == 0


def card_of(card: Message) -> str:
    return fields_of(card)["Status"]


# --- the bot removed from a server; a DM too small for the file --------------------------------


async def test_leaving_a_server_cancels_its_queue_and_delivers_running_jobs_by_dm(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.paused = True
    _, queued_card = await start_video(world, world.alice, "still queued")
    # Bob's token is past its use (the bot keeps 120 s of margin): his job is on bot-token
    # writes, which a server that removed the bot refuses.
    world.fake.rules.token_lifetime = 121
    running, running_card = await start_video(world, world.bob, "already generating")
    await wait_queued(world, queued_card)
    await wait_queued(world, running_card)
    [running_request] = [
        r for r, j in generator.state.jobs.items() if j.payload["text"] == "already generating"
    ]
    generator.state.set_status(running_request, "in_progress")
    await world.fake.wait_for(lambda: "Generating" in card_of(running_card) or None, 15)

    world.fake.remove_bot(world.guild)
    assert await wait_final(world, queued_card) == "🚫 Cancelled; the credits were refunded"
    assert fields_of(queued_card)["Reason"] == REMOVED_FROM_SERVER
    assert await used_by(bot, world.alice) == 0
    statuses = {j.payload["text"]: j.status for j in generator.state.jobs.values()}
    assert statuses == {"still queued": "cancelled", "already generating": "in_progress"}

    generator.config.paused = False
    dm = await world.fake.wait_for(
        lambda: [m for m in world.fake.dm_messages(world.bob) if f"#{running}" in m.content], 30
    )
    assert dm[0].attachments
    assert [c for c in world.fake.calls if c.status == 403] == []  # it never wrote there again
    assert results(world, running) == []


async def test_a_dm_fallback_over_the_dm_upload_limit_sends_the_link(
    world: World, bot: Bot, generator: Sandbox
):
    world.guild.upload_limit = 50 * MIB  # a boosted server: the file fits here, not in a DM
    generator.config.video_bytes = 20 * MIB
    generator.config.paused = True
    job_id, card = await start_video(world, world.alice, "a big one")
    await wait_queued(world, card)
    await world.fake.delete_channel(world.channel.id)
    generator.config.paused = False
    [dm] = await world.fake.wait_for(
        lambda: [m for m in world.fake.dm_messages(world.alice) if f"#{job_id}" in m.content], 60
    )
    assert dm.attachments == [] and "too large to upload" in dm.content
    for _ in range(200):  # the DM is out; the row follows a moment later
        [(status,)] = await rows(bot, "SELECT status FROM jobs WHERE id = ?", (job_id,))
        if status == "delivered":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} stayed {status}")
