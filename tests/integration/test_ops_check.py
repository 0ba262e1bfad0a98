"""`python -m bot check [--live|--health]` as an operator runs it, against the fake Discord and
the sandbox: what it reports, the one line per problem, exit codes, and never a token."""

from __future__ import annotations

import time
from pathlib import Path

from bot.ops.health import HEARTBEAT_KEY, STALE_SECONDS
from bot.sandbox import Sandbox
from db.database import Database, latest_version
from db.meta import MetaRepo
from tests.fakediscord import FakeDiscord
from tests.integration.opsrun import (
    WRONG_DISCORD_TOKEN,
    WRONG_RUNCOMFY_TOKEN,
    bot_cli,
    database_at_version,
    fake,
    generator,
    ops_env,
    user_version,
)

__all__ = ["fake", "generator"]  # fixtures


async def test_offline_it_reports_settings_database_commands_and_models(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    database = tmp_path / "data" / "bot.db"
    result = await bot_cli(tmp_path, ops_env(fake, generator, database), "check")
    assert result.code == 0, result.both
    assert result.problems == []
    guild = fake.world.guilds[0]
    assert f"does not exist yet; start-up creates it (version {latest_version()})" in result.out
    [commands] = [line for line in result.out.splitlines() if line.startswith("commands:")]
    assert "video" in commands and "jobs" in commands and "quota" in commands
    assert f"to guild {guild.id} (start-up will sync them)" in commands
    assert "seedance-1-0-pro-fast-t2v" in result.out  # the models line
    assert not database.exists()  # looking creates nothing
    assert fake.calls == []  # offline means offline
    result.assert_no_secret()


async def test_pending_migrations_are_listed_and_not_applied(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    database = tmp_path / "old.db"
    database_at_version(database, 4)
    result = await bot_cli(tmp_path, ops_env(fake, generator, database), "check")
    assert result.code == 0, result.both
    pending = ", ".join(f"{v:04d}" for v in range(5, latest_version() + 1))
    assert f"schema version 4; start-up will apply {pending}" in result.out
    assert user_version(database) == 4
    assert not (tmp_path / "backups").exists()


async def test_a_database_from_a_newer_bot_is_a_problem(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    database = tmp_path / "new.db"
    newer = latest_version() + 1
    database_at_version(database, newer)  # what a later bot with one more migration leaves
    result = await bot_cli(tmp_path, ops_env(fake, generator, database), "check")
    assert result.code == 1
    [problem] = result.problems
    assert f"schema version {newer}, newer than this version of the bot knows" in problem
    assert user_version(database) == newer


async def test_a_bad_setting_is_one_problem_line_and_exit_1(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    env = ops_env(fake, generator, tmp_path / "bot.db", QUOTA_CREDITS_PER_DAY="lots")
    result = await bot_cli(tmp_path, env, "check")
    assert result.code == 1
    assert result.err.strip().splitlines() == result.problems
    [problem] = result.problems
    assert problem.startswith("problem: QUOTA_CREDITS_PER_DAY: expected a whole number")
    result.assert_no_secret()


async def test_a_missing_discord_token_is_a_problem(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    env = ops_env(fake, generator, tmp_path / "bot.db", DISCORD_TOKEN="")
    result = await bot_cli(tmp_path, env, "check")
    assert result.code == 1
    [problem] = result.problems
    assert problem.startswith("problem: DISCORD_TOKEN: not set")
    assert "commands:" in result.out  # the rest is still checked


async def test_live_with_good_tokens_logs_in_on_both_sides(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    result = await bot_cli(
        tmp_path, ops_env(fake, generator, tmp_path / "bot.db"), "check", "--live"
    )
    assert result.code == 0, result.both
    guild = fake.world.guilds[0]
    assert f"logged in as {fake.world.bot_user.name}" in result.out
    assert f"member of server {guild.name} ({guild.id})" in result.out
    assert "accepted the token (a made-up request is unknown)" in result.out
    asked = [(c.method, c.path, c.via, c.status) for c in fake.calls]
    assert ("GET", "/users/@me", "bot", 200) in asked
    assert not [c for c in fake.calls if c.method != "GET"]  # harmless: it only reads
    assert generator.state.jobs == {}  # nothing submitted
    result.assert_no_secret()


async def test_live_with_a_bad_discord_token_names_it(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    env = ops_env(fake, generator, tmp_path / "bot.db", DISCORD_TOKEN=WRONG_DISCORD_TOKEN)
    result = await bot_cli(tmp_path, env, "check", "--live")
    assert result.code == 1
    [problem] = result.problems
    assert problem.startswith("problem: DISCORD_TOKEN: refused by http://127.0.0.1:")
    assert "accepted the token" in result.out  # RunComfy's side is fine and says so
    assert [c.status for c in fake.calls if c.path == "/users/@me"] == [401]
    result.assert_no_secret()


async def test_live_with_a_bad_runcomfy_token_names_it(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    env = ops_env(fake, generator, tmp_path / "bot.db", RUNCOMFY_API_TOKEN=WRONG_RUNCOMFY_TOKEN)
    result = await bot_cli(tmp_path, env, "check", "--live")
    assert result.code == 1
    [problem] = result.problems
    assert problem.startswith(f"problem: RUNCOMFY_API_TOKEN: refused by {generator.url}")
    assert "logged in as" in result.out
    result.assert_no_secret()


async def test_live_names_a_configured_server_the_bot_is_not_in(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    outside = fake.add_guild("Elsewhere")
    fake.remove_bot(outside)
    result = await bot_cli(
        tmp_path, ops_env(fake, generator, tmp_path / "bot.db"), "check", "--live"
    )
    assert result.code == 1
    [problem] = result.problems
    assert problem == (
        f"problem: DISCORD_GUILD_IDS: the bot is not in server {outside.id};"
        " invite it or remove the id"
    )


async def test_health_needs_a_fresh_heartbeat(
    tmp_path: Path, fake: FakeDiscord, generator: Sandbox
):
    database = tmp_path / "bot.db"
    env = ops_env(fake, generator, database)
    missing = await bot_cli(tmp_path, env, "check", "--health")
    assert missing.code == 1 and "no database at" in missing.err
    assert not database.exists()

    db = await Database.open(database)
    try:
        never = await bot_cli(tmp_path, env, "check", "--health")
        assert never.code == 1 and "no heartbeat" in never.err
        await MetaRepo(db).set(HEARTBEAT_KEY, str(int(time.time())))
        fresh = await bot_cli(tmp_path, env, "check", "--health")
        assert fresh.code == 0, fresh.both
        assert fresh.out.strip() == "healthy"
        await MetaRepo(db).set(HEARTBEAT_KEY, str(int(time.time() - 2 * STALE_SECONDS)))
        stale = await bot_cli(tmp_path, env, "check", "--health")
        assert stale.code == 1 and "the last heartbeat is" in stale.err
    finally:
        await db.close()
