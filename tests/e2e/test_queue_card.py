"""A queued card says how fast the line ahead of it moves, learned from every job the bot
watches, not just this one."""

from __future__ import annotations

import pytest

from bot.sandbox import Sandbox
from tests.e2e.conftest import Bot, World
from tests.e2e.test_quotas import start_video, wait_final
from tests.e2e.test_video import statuses_seen


@pytest.fixture
def bot_settings() -> dict[str, str]:
    return {"CARD_EDIT_INTERVAL": "0.5", "QUOTA_MAX_ACTIVE_JOBS": "5"}


async def test_the_last_card_in_a_moving_line_shows_its_place_and_the_speed(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.queue_seconds, generator.config.run_seconds = 0.0, 1.5
    generator.config.concurrency = 1  # one at a time: the others wait in line
    started = [await start_video(world, world.alice, f"wave {i}", duration=2) for i in range(5)]
    last = started[-1][1]
    assert await wait_final(world, last) == "✅ Done"
    seen = statuses_seen(last)
    moving = [s for s in seen if "in line; the line moves about" in s]
    assert moving, seen
    assert all(s.endswith("a minute") for s in moving)
    # The line only moves forward (the adaptive poller may skip places it did not look at).
    places = [int(s.split("#")[1].split(" ")[0]) for s in seen if "in line" in s]
    assert places == sorted(set(places), reverse=True) and places[0] > 1, seen
