"""`python -m bot sync` against the fake Discord, and start-up's sync-only-when-changed: the
fake records every command PUT, so "did not sync" is a count that stayed put."""

from __future__ import annotations

import json
from pathlib import Path

from bot.sandbox import Sandbox
from tests.e2e.harness import BotProcess, bot_env
from tests.e2e.test_models import ADDED, ADDED_META, ADDED_SCHEMA
from tests.fakediscord import FakeDiscord
from tests.integration.opsrun import (
    RUNCOMFY_TOKEN,
    WRONG_DISCORD_TOKEN,
    bot_cli,
    fake,
    generator,
    ops_env,
)

__all__ = ["fake", "generator"]  # fixtures
COMMANDS = {"video", "jobs", "quota", "quota-admin", "blocklist"}


def command_puts(fake: FakeDiscord) -> list[str]:
    """The scopes of every command overwrite the fake answered, in order."""
    return [
        c.params.get("guild_id", "global")
        for c in fake.calls
        if c.method == "PUT" and c.route.endswith("/commands") and c.status == 200
    ]


async def test_sync_pushes_the_tree_to_the_configured_guild_without_a_gateway(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    guild = fake.world.guilds[0]
    env = ops_env(fake, generator, tmp_path / "bot.db")
    result = await bot_cli(tmp_path, env, "sync")
    assert result.code == 0, result.both
    assert {c["name"] for c in fake.commands(guild)} >= COMMANDS
    assert fake.commands(None) == []  # guilds configured: no global sync
    assert command_puts(fake) == [str(guild.id)]
    assert fake.gateway.identify_count == 0  # HTTP only
    assert f"to guild {guild.id}" in result.out
    result.assert_no_secret()

    # The digest is recorded: start-up (and check) see nothing left to sync.
    checked = await bot_cli(tmp_path, env, "check")
    assert f"to guild {guild.id} (unchanged since the last sync)" in checked.out


async def test_sync_global_and_a_named_guild_on_request(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    configured = fake.world.guilds[0]
    other = fake.add_guild("Second Club")
    env = ops_env(fake, generator, tmp_path / "bot.db", DISCORD_GUILD_IDS=str(configured.id))
    result = await bot_cli(tmp_path, env, "sync", "--global", "--guild", str(other.id))
    assert result.code == 0, result.both
    assert {c["name"] for c in fake.commands(None)} >= COMMANDS
    assert {c["name"] for c in fake.commands(other)} >= COMMANDS
    assert fake.commands(configured) == []  # only what was asked for
    assert sorted(command_puts(fake)) == sorted(["global", str(other.id)])

    again = await bot_cli(tmp_path, env, "sync", "--global")  # forced: syncs even unchanged
    assert again.code == 0
    assert command_puts(fake).count("global") == 2


async def test_sync_with_a_bad_token_syncs_nothing_and_says_so(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    env = ops_env(fake, generator, tmp_path / "bot.db", DISCORD_TOKEN=WRONG_DISCORD_TOKEN)
    result = await bot_cli(tmp_path, env, "sync")
    assert result.code == 1
    [problem] = result.problems
    assert problem.startswith("problem: DISCORD_TOKEN: refused by http://127.0.0.1:")
    assert command_puts(fake) == []
    result.assert_no_secret()


async def test_sync_to_a_server_the_bot_is_not_in_fails_for_that_one_only(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    member_of = fake.world.guilds[0]
    outside = fake.add_guild("Elsewhere")
    fake.remove_bot(outside)
    env = ops_env(fake, generator, tmp_path / "bot.db", DISCORD_GUILD_IDS=f"{outside.id}")
    result = await bot_cli(
        tmp_path, env, "sync", "--guild", str(outside.id), "--guild", str(member_of.id)
    )
    assert result.code == 1
    [problem] = result.problems
    assert problem.startswith(f"problem: sync to guild {outside.id} failed: 403")
    assert {c["name"] for c in fake.commands(member_of)} >= COMMANDS


async def test_start_up_syncs_only_when_the_command_tree_changed(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    guild = fake.world.guilds[0]
    models = tmp_path / "models"
    models.mkdir()
    env = bot_env(
        api_base=fake.api_base,
        gateway_url=fake.gateway_url,
        runcomfy_url=generator.url,
        runcomfy_token=RUNCOMFY_TOKEN,
        database=tmp_path / "data" / "bot.db",
        guild_ids=[guild.id],
        MODELS_DIR=str(models),
    )
    bot = BotProcess(env, tmp_path)

    async def run_once() -> None:
        before = fake.gateway.identify_count
        await bot.start()
        try:
            # Start-up syncs in setup_hook, before the gateway: logged in means decided.
            await fake.wait_for(lambda: fake.gateway.identify_count > before or None, timeout=30)
        except TimeoutError:
            raise AssertionError("the bot did not log in:\n" + bot.logs()) from None
        finally:
            assert await bot.stop() == 0, bot.logs()

    await run_once()
    assert command_puts(fake) == [str(guild.id)]
    await run_once()
    assert command_puts(fake) == [str(guild.id)], bot.logs()  # same tree: no sync

    # A model dropped into MODELS_DIR changes /video's choices: the next start syncs.
    (models / f"{ADDED}.input.json").write_text(json.dumps(ADDED_SCHEMA))
    (models / f"{ADDED}.meta.json").write_text(json.dumps(ADDED_META))
    await run_once()
    assert command_puts(fake) == [str(guild.id)] * 2
    [video] = [c for c in fake.commands(guild) if c["name"] == "video"]
    assert ADDED in json.dumps(video)


async def test_health_is_good_while_the_bot_runs(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    guild = fake.world.guilds[0]
    database = tmp_path / "data" / "bot.db"
    env = bot_env(
        api_base=fake.api_base,
        gateway_url=fake.gateway_url,
        runcomfy_url=generator.url,
        runcomfy_token=RUNCOMFY_TOKEN,
        database=database,
        guild_ids=[guild.id],
    )
    bot = BotProcess(env, tmp_path)
    await bot.start()
    try:
        await fake.wait_for(lambda: fake.gateway.identify_count > 0 or None, timeout=30)
        health = await bot_cli(tmp_path, ops_env(fake, generator, database), "check", "--health")
        assert health.code == 0, health.both + bot.logs()
    finally:
        await bot.stop()


async def test_start_up_carries_on_past_a_server_the_bot_is_not_in(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    member_of = fake.world.guilds[0]
    outside = fake.add_guild("Elsewhere")
    fake.remove_bot(outside)
    env = bot_env(
        api_base=fake.api_base,
        gateway_url=fake.gateway_url,
        runcomfy_url=generator.url,
        runcomfy_token=RUNCOMFY_TOKEN,
        database=tmp_path / "data" / "bot.db",
        guild_ids=[outside.id, member_of.id],
    )
    bot = BotProcess(env, tmp_path)
    await bot.start()
    try:
        await fake.wait_for(lambda: fake.gateway.identify_count > 0 or None, timeout=30)
    finally:
        await bot.stop()
    assert {c["name"] for c in fake.commands(member_of)} >= COMMANDS
    assert f"cannot sync commands to guild {outside.id}: the bot is not in it" in bot.logs()
