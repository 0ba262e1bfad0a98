"""What the contest tests share: a member's /contest commands and presses, as they see them."""

from __future__ import annotations

import re
from typing import Any

from db.database import Database
from tests.e2e.conftest import Bot, World
from tests.e2e.test_moderation import answer
from tests.e2e.test_video import job_id_of, result_message
from tests.fakediscord import InteractionHandle, Member, Message

DAY = 86400.0


async def ask(world: World, member: Member, sub: str, options: dict[str, Any] | None = None) -> str:
    """A /contest subcommand; its ephemeral answer."""
    handle = await world.fake.invoke(member, world.channel, "contest", options or {}, sub)
    return (await answer(handle)).content


async def create(world: World, member: Member | None = None, **options: Any) -> int:
    """A new contest (long phases unless given); returns its number."""
    given = {
        "title": "Night lights",
        "theme": "A city after dark @everyone",
        "submissions": "10m",
        "voting": "10m",
        **options,
    }
    text = await ask(world, member or world.admin, "create", given)
    found = re.search(r"Contest #(\d+) is open", text)
    assert found, text
    return int(found[1])


def card(world: World, number: int) -> Message:
    [found] = [
        m
        for m in world.fake.messages(world.channel)
        if m.embeds and str(m.embeds[0].get("title", "")).startswith(f"Contest #{number}:")
    ]
    return found


def card_fields(world: World, number: int) -> dict[str, str]:
    return {f["name"]: f["value"] for f in card(world, number).embeds[0]["fields"]}


async def start_video(
    world: World, member: Member, prompt: str, **options: Any
) -> tuple[InteractionHandle, int]:
    handle = await world.fake.invoke(member, world.channel, "video", {"prompt": prompt, **options})
    card_message = await handle.wait_original()
    return handle, job_id_of(card_message)


async def make_video(world: World, member: Member, prompt: str, **options: Any) -> int:
    """A delivered video of the member's; its job number."""
    _, job_id = await start_video(world, member, prompt, **options)
    await world.fake.wait_for(lambda: result_message(world, job_id), timeout=30)
    return job_id


async def enter(world: World, member: Member, number: int, job_id: int) -> str:
    return await ask(world, member, "enter", {"contest": number, "job": job_id})


def voting_post(world: World, number: int) -> Message | None:
    return next(
        (
            m
            for m in world.fake.messages(world.channel)
            if m.content.startswith(f"**Voting is open in Contest #{number}")
        ),
        None,
    )


def entry_posts(world: World, number: int) -> list[Message]:
    return [
        m
        for m in world.fake.messages(world.channel)
        if m.content.startswith("**Entry ") and f"Contest #{number}" in m.content.splitlines()[0]
    ]


async def wait_reveal(world: World, number: int, count: int, timeout: float = 30) -> list[Message]:
    """Every entry post, once `count` of them are out, in the order posted."""

    def ready() -> list[Message] | None:
        posts = entry_posts(world, number)
        return posts if len(posts) >= count else None

    return await world.fake.wait_for(ready, timeout=timeout)


def results_post(world: World, number: int) -> Message | None:
    return next(
        (
            m
            for m in world.fake.messages(world.channel)
            if m.content.startswith(f"**Results of Contest #{number}")
        ),
        None,
    )


def entry_number(post: Message) -> int:
    found = re.match(r"\*\*Entry (\d+)\*\*", post.content)
    assert found, post.content
    return int(found[1])


def vote_id(post: Message) -> str:
    [custom_id] = [c for c in post.custom_ids() if c.startswith("contest:vote:")]
    return custom_id


async def vote(world: World, member: Member, post: Message) -> Message:
    """Press Vote under a revealed entry; the ephemeral answer (with Take back, if counted)."""
    return await answer(await world.fake.press(member, post, vote_id(post)))


async def take_back(world: World, member: Member, answer_message: Message) -> str:
    [custom_id] = [c for c in answer_message.custom_ids() if c.startswith("contest:take-back:")]
    return (await answer(await world.fake.press(member, answer_message, custom_id))).content


async def scalar(bot: Bot, sql: str, params: tuple[Any, ...] = ()) -> Any:
    db = await Database.open(bot.database)
    try:
        row = await db.fetchone(sql, params)
        return row[0] if row else None
    finally:
        await db.close()
