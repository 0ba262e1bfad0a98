"""Prompt screening end to end: hidden and lookalike characters do not get a blocked word past the
blocklist, padding is refused, and ordinary text (emoji, accents, CJK) is sent as typed."""

from __future__ import annotations

import unicodedata

from bot.sandbox import Sandbox
from tests.e2e.conftest import Bot, World
from tests.e2e.test_quotas import (
    ask_video,
    command,
    refusal,
    rows,
    sandbox_until,
    start_video,
    submitted_prompts,
    used_by,
)

BYPASSES = {
    "zero-width space": "a G\u200bore festival",
    "soft hyphen": "a Go\u00adre festival",
    "fullwidth letters": "a Ｇｏｒｅ festival",
}
PLAIN = (
    "a café in 東京 at night 🌃, a family 👨\u200d👩\u200d👧 and 🧑🏽\u200d🚀 under 🏳️\u200d🌈,"
    " crème brûlée"
)


async def test_hidden_and_lookalike_spellings_are_refused_before_anything_is_charged(
    world: World, bot: Bot, generator: Sandbox
):
    added = await command(world, world.mod, "blocklist", "add", {"term": "Ｇｏｒｅ"})
    assert added.content == "Added."
    shown = await command(world, world.mod, "blocklist", "show")
    assert shown.content == "`gore`"  # stored as plain letters, so every spelling matches it

    for how, prompt in BYPASSES.items():
        text = await refusal(await ask_video(world, world.alice, prompt))
        assert "does not allow" in text and "Nothing was charged" in text, how

    assert generator.state.count("submit") == 0
    assert await used_by(bot, world.alice) == 0
    assert await rows(bot, "SELECT * FROM jobs") == []

    # Removing it with another spelling finds it too; then the prompt goes out normalised.
    removed = await command(world, world.mod, "blocklist", "remove", {"term": "G\u200bORE"})
    assert removed.content == "Removed."
    await start_video(world, world.alice, BYPASSES["fullwidth letters"])
    await sandbox_until(lambda: generator.state.count("submit") == 1)
    assert submitted_prompts(generator) == ["a Gore festival"]


async def test_a_mostly_invisible_prompt_is_refused(world: World, bot: Bot, generator: Sandbox):
    text = await refusal(await ask_video(world, world.alice, "hi" + "\u200b\u2060" * 20))
    assert "Prompt is mostly invisible characters; retype it as plain text." in text
    assert "Nothing was charged" in text
    assert generator.state.count("submit") == 0
    assert await used_by(bot, world.alice) == 0


async def test_emoji_accents_and_cjk_are_sent_unchanged(world: World, bot: Bot, generator: Sandbox):
    assert unicodedata.normalize("NFKC", PLAIN) == PLAIN
    await command(world, world.mod, "blocklist", "add", {"term": "gore"})
    await start_video(world, world.alice, PLAIN)
    await sandbox_until(lambda: generator.state.count("submit") == 1)
    assert submitted_prompts(generator) == [PLAIN]
