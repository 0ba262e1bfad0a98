"""What a member and the operator see when RunComfy refuses the bot's token, or answers with a
video on a host the bot does not download from."""

from __future__ import annotations

import pytest

from bot.core.jobs import UNTRUSTED_VIDEO
from bot.sandbox import Sandbox
from tests.e2e.conftest import SANDBOX_TOKEN, Bot, World
from tests.e2e.test_moderation import fields_of
from tests.e2e.test_quotas import start_video, used_by, wait_final

WRONG_TOKEN = "rc-wrong-token-0123456789abcdef"


@pytest.fixture
def bot_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    marker = request.node.get_closest_marker("wrong_token")
    return {"RUNCOMFY_API_TOKEN": WRONG_TOKEN} if marker else {}


@pytest.mark.wrong_token
@pytest.mark.parametrize("style", ["400004", "401"])
async def test_a_refused_token_tells_the_member_nothing_was_charged(
    world: World, bot: Bot, generator: Sandbox, style: str
):
    generator.config.auth_failure = style  # type: ignore[assignment]
    job_id, card = await start_video(world, world.alice, "a lighthouse in fog", duration=3)
    assert await wait_final(world, card) == "❌ Failed"
    happened = fields_of(card)["What happened"]
    assert "misconfigured" in happened and "nothing was charged" in happened
    assert await used_by(bot, world.alice) == 0
    logs = bot.logs()
    assert f"job {job_id}:" in logs and "RunComfy token was refused" in logs
    assert WRONG_TOKEN not in logs and SANDBOX_TOKEN not in logs
    assert generator.state.jobs == {}  # nothing was made


async def test_a_video_on_an_unexpected_host_is_not_fetched(
    world: World, bot: Bot, generator: Sandbox
):
    # The bot trusts the sandbox's own address (127.0.0.1); "localhost" is another host name.
    generator.config.video_base_url = generator.url.replace("127.0.0.1", "localhost")
    _, card = await start_video(world, world.alice, "a lighthouse in fog", duration=3)
    assert await wait_final(world, card) == "❌ Failed"
    assert fields_of(card)["What happened"] == UNTRUSTED_VIDEO
    assert await used_by(bot, world.alice) == 0
    assert [e for e in generator.state.log if e.route == "video"] == []
    assert "localhost" not in "".join(m.content for m in world.fake.messages(world.channel))
