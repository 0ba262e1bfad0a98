"""The top of the pyramid: the fake Discord, the sandbox generator and the real bot process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.sandbox import Sandbox, SandboxConfig
from tests.e2e.harness import BOT_TOKEN, BotProcess, bot_env
from tests.fakediscord import DEFAULT_MEMBER_PERMISSIONS, FakeDiscord, Rules
from tests.fakediscord.model import Channel, Guild, Member

MANAGE_MESSAGES = 1 << 13
MANAGE_GUILD = 1 << 5
SANDBOX_TOKEN = "e2e-sandbox-token"


@dataclass
class World:
    fake: FakeDiscord
    guild: Guild
    channel: Channel
    alice: Member
    bob: Member
    mod: Member
    admin: Member


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(token=BOT_TOKEN, rules=Rules()) as server:
        yield server


@pytest.fixture
def world(fake: FakeDiscord) -> World:
    guild = fake.add_guild("Prompt Club")
    channel = guild.add_text_channel("videos")
    return World(
        fake=fake,
        guild=guild,
        channel=channel,
        alice=guild.add_member("alice"),
        bob=guild.add_member("bob"),
        mod=guild.add_member("mod", permissions=DEFAULT_MEMBER_PERMISSIONS | MANAGE_MESSAGES),
        admin=guild.add_member("admin", permissions=DEFAULT_MEMBER_PERMISSIONS | MANAGE_GUILD),
    )


@pytest.fixture
async def generator() -> AsyncIterator[Sandbox]:
    config = SandboxConfig(token=SANDBOX_TOKEN, queue_seconds=0.6, run_seconds=1.0, concurrency=2)
    async with Sandbox(config) as sandbox:
        yield sandbox


class Bot(BotProcess):
    """The bot process plus a way to wait until it is logged in after each (re)start."""

    def __init__(self, fake: FakeDiscord, env: dict[str, str], workdir: Path) -> None:
        super().__init__(env, workdir)
        self.fake = fake

    async def start(self) -> None:
        before = self.fake.gateway.identify_count
        await super().start()
        try:
            await self.fake.wait_for(
                lambda: self.fake.gateway.identify_count > before or None, timeout=30
            )
        except TimeoutError:
            raise AssertionError("the bot did not log in:\n" + self.logs()) from None

    @property
    def database(self) -> Path:
        return Path(self.env["DATABASE_PATH"])


@pytest.fixture
def bot_settings() -> dict[str, str]:
    """Extra environment for the bot; a test overrides it before `bot` starts."""
    return {}


@pytest.fixture
async def bot(
    fake: FakeDiscord,
    world: World,
    generator: Sandbox,
    tmp_path: Path,
    bot_settings: dict[str, str],
) -> AsyncIterator[Bot]:
    env = bot_env(
        api_base=fake.api_base,
        gateway_url=fake.gateway_url,
        runcomfy_url=generator.url,
        runcomfy_token=SANDBOX_TOKEN,
        database=tmp_path / "data" / "bot.db",
        guild_ids=[world.guild.id],
        **bot_settings,
    )
    process = Bot(fake, env, tmp_path)
    await process.start()
    yield process
    await process.stop()
    print(process.logs())  # shown by pytest only when the test failed
