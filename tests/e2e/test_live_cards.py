"""Cards that show every stage of a short job, a double click that makes one paid job, and the
Again / Make another button, as a member meets them."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.sandbox import Sandbox
from tests.e2e.conftest import Bot, World
from tests.e2e.test_moderation import fields_of
from tests.e2e.test_quotas import ask_video, rows, start_video, used_by, wait_final
from tests.e2e.test_video import job_id_of, result_message, statuses_seen
from tests.fakediscord import EPHEMERAL, Message

PROMPT = "a kite over the dunes"
SEED = re.compile(r"seed (\d+)")


@pytest.fixture
def bot_settings() -> dict[str, str]:
    # The real default pacing: stage changes must not wait for it.
    return {"CARD_EDIT_INTERVAL": "5", "QUOTA_CREDITS_PER_DAY": "10"}


def cards(world: World) -> list[Message]:
    return [m for m in world.fake.messages(world.channel) if m.embeds and not m.flags & EPHEMERAL]


async def test_a_short_job_shows_queued_then_generating_then_done(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.queue_seconds, generator.config.run_seconds = 2.5, 2.5
    _, card = await start_video(world, world.alice, PROMPT, duration=2)
    assert await wait_final(world, card) == "✅ Done"
    seen = statuses_seen(card)
    stages = [s.split(":")[0].split("…")[0] for s in seen]
    queued = next(i for i, s in enumerate(stages) if s.startswith("⏳ Queued"))
    generating = stages.index("🎬 Generating")
    assert queued < generating < stages.index("✅ Done"), seen


async def test_a_double_click_makes_one_job_and_offers_make_another(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.paused = True
    first, second = await asyncio.gather(
        ask_video(world, world.alice, PROMPT, duration=2),
        ask_video(world, world.alice, PROMPT, duration=2),
    )
    answers = [await h.wait_original(lambda m: not m.loading) for h in (first, second)]
    [card] = [a for a in answers if a.embeds]
    [notice] = [a for a in answers if not a.embeds]
    job_id = job_id_of(card)
    assert notice.flags & EPHEMERAL
    assert f"job #{job_id}" in notice.content and "Nothing was charged" in notice.content
    assert await used_by(bot, world.alice) == 2 and generator.state.count("submit") <= 1
    assert await rows(bot, "SELECT COUNT(*) FROM jobs") == [(1,)]

    await world.fake.press(world.alice, notice, f"job:again:{job_id}")
    await world.fake.wait_for(lambda: len(cards(world)) == 2 or None, 10)
    another = cards(world)[-1]
    assert job_id_of(another) != job_id and SEED.search(fields_of(another)["Options"])
    assert await used_by(bot, world.alice) == 4


async def test_again_on_a_result_makes_a_new_seed_and_is_refused_without_credits(
    world: World, bot: Bot, generator: Sandbox
):
    job_id, card = await start_video(world, world.alice, PROMPT, duration=10)  # all her credits
    assert "seed random" in fields_of(card)["Options"]
    result = await world.fake.wait_for(lambda: result_message(world, job_id), 30)
    await world.fake.press(world.bob, result, f"job:again:{job_id}")  # anyone may press it
    await world.fake.wait_for(lambda: len(cards(world)) == 2 or None, 10)
    again = cards(world)[-1]
    seed = SEED.search(fields_of(again)["Options"])
    assert seed is not None and fields_of(again)["Requested by"] == f"<@{world.bob.id}>"
    await wait_final(world, again)
    sent = [j.payload for j in generator.state.jobs.values()]
    assert sent[0].get("seed") is None and sent[1]["seed"] == int(seed.group(1))
    assert sent[1]["text"] == PROMPT and sent[1]["duration"] == 10
    assert await used_by(bot, world.alice) == 10 and await used_by(bot, world.bob) == 10

    await world.fake.press(world.alice, result, f"job:again:{job_id}")  # 0 of 10 left
    mine = world.fake.messages
    refusals = await world.fake.wait_for(
        lambda: [m for m in mine(world.channel, world.alice) if "costs 10" in m.content] or None,
        10,
    )
    assert refusals[0].flags & EPHEMERAL and "Nothing was charged" in refusals[0].content
    assert len(cards(world)) == 2 and await used_by(bot, world.alice) == 10
