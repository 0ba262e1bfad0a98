"""/video end to end: a member's keystroke to the delivered video, as the member sees it."""

from __future__ import annotations

import pytest

from bot.sandbox import Sandbox
from db.database import Database
from tests.e2e.conftest import Bot, World
from tests.fakediscord import EPHEMERAL, Message


def card_status(message: Message) -> str:
    [embed] = message.embeds
    return next(f["value"] for f in embed["fields"] if f["name"] == "Status")


def statuses_seen(message: Message) -> list[str]:
    seen: list[str] = []
    for version in message.history:
        if version.embeds:
            status = next(f["value"] for f in version.embeds[0]["fields"] if f["name"] == "Status")
            if not seen or seen[-1] != status:
                seen.append(status)
    return seen


def result_message(world: World, job_id: int) -> Message | None:
    for message in world.fake.messages(world.channel):
        if any(a.filename == f"video-{job_id}.mp4" for a in message.attachments):
            return message
        if f"your video #{job_id} is ready" in message.content:
            return message
    return None


async def used_credits(bot: Bot) -> int:
    db = await Database.open(bot.database)
    try:
        row = await db.fetchone("SELECT COALESCE(SUM(used), 0) FROM quota_usage")
        return int(row[0]) if row else 0
    finally:
        await db.close()


def job_id_of(card: Message) -> int:
    return int(card.embeds[0]["title"].split("#")[1])


async def test_happy_path_from_prompt_to_attached_video(world: World, bot: Bot):
    fake = world.fake
    handle = await fake.invoke(
        world.alice,
        world.channel,
        "video",
        {"prompt": "a paper boat on a stormy sea @everyone", "resolution": "720p", "duration": 4},
    )
    answer = await handle.response()
    assert answer.status == 200 and answer.type == 4
    card = await handle.wait_original()
    assert not card.flags & EPHEMERAL  # public: the channel can follow it after the token expires
    assert card.allowed_mentions == {"parse": []} or card.allowed_mentions["parse"] == []
    assert "@everyone" in card.embeds[0]["description"] and not card.mention_everyone
    job_id = job_id_of(card)
    assert any(c["components"][0]["custom_id"] == f"job:cancel:{job_id}" for c in card.components)

    result = await fake.wait_for(lambda: result_message(world, job_id), timeout=30)
    [video] = result.attachments
    assert video.content[4:8] == b"ftyp"
    assert f"<@{world.alice.user.id}>" in result.content
    assert result.allowed_mentions is not None
    assert [str(u) for u in result.allowed_mentions.get("users", [])] == [str(world.alice.user.id)]
    assert not result.mention_everyone

    final = await handle.wait_original(lambda m: card_status(m).startswith("✅"), timeout=15)
    seen = statuses_seen(final)
    assert any(s.startswith("⏳ Queued") for s in seen)
    assert "🎬 Generating…" in seen and seen[-1] == "✅ Done"
    assert final.components == []  # no Cancel button once it is done
    assert fake.count_429s() == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([{"name": "prompt", "type": 3, "value": "   "}], "Prompt is required"),
        (
            [
                {"name": "prompt", "type": 3, "value": "a cat"},
                {"name": "duration", "type": 4, "value": 99},
            ],
            "Duration must be from 2 to 12",
        ),
        ([{"name": "prompt", "type": 3, "value": "a cat\x00"}], "control or invalid characters"),
        ([{"name": "prompt", "type": 3, "value": "x" * 501}], "the limit is 500"),
        (
            [
                {"name": "prompt", "type": 3, "value": "a cat"},
                {"name": "seed", "type": 4, "value": 2**40},
            ],
            "Seed must be a whole number from 0 to 4294967295",
        ),
    ],
)
async def test_bad_options_are_refused_ephemerally_and_cost_nothing(
    world: World, bot: Bot, generator: Sandbox, raw: list[dict[str, object]], expected: str
):
    """What a modified client (or an old command version) can send; Discord's own checks
    would stop some of these, the bot must not rely on them."""
    handle = await world.fake.invoke(world.alice, world.channel, "video", raw_options=raw)
    answer = await handle.response()
    assert answer.status == 200
    reply = await handle.wait_original()
    assert reply.flags & EPHEMERAL and expected in reply.content
    assert "Nothing was charged" in reply.content and "Traceback" not in reply.content
    assert generator.state.count("submit") == 0
    assert await used_credits(bot) == 0


async def test_a_modified_client_sending_values_outside_the_choices_is_refused(
    world: World, bot: Bot
):
    raw = [
        {"name": "prompt", "type": 3, "value": "a cat"},
        {"name": "resolution", "type": 3, "value": "8k"},
    ]
    handle = await world.fake.invoke(world.alice, world.channel, "video", raw_options=raw)
    reply = await handle.wait_original()
    assert (
        reply.flags & EPHEMERAL and "Resolution must be one of 480p, 720p, 1080p" in reply.content
    )
