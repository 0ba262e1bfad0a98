"""Defects found in review, each as a member or an admin would meet it: long lists, a crashed
runner, the cancel reason, a double-clicked Cancel."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.jobs import CRASHED
from bot.sandbox import Sandbox
from tests.e2e.conftest import Bot, World
from tests.e2e.test_moderation import answer, cancel_id, fields_of, jobs_cancel, page_lines
from tests.e2e.test_quotas import command, rows, start_video, used_by, wait_final, wait_queued
from tests.fakediscord import EPHEMERAL, Message

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
