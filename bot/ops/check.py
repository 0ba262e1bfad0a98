"""`python -m bot check [--live]`: is this configuration ready to run, before going live?

Offline it reads the settings, the models, the database (read-only: its schema version and the
migrations start-up would apply, never applying them) and the command tree (which commands
would be synced where, and whether start-up will sync them). `--live` adds harmless
authenticated calls: Discord's `GET /users/@me` (and the configured servers), and RunComfy's
status of a made-up request, which a good token gets a 404 for. Findings go to stdout, each
problem as one line on stderr; the exit code is 0 when there is none, else 1. No token is ever
printed (every line passes through the log redactor, too).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
import discord

from bot.config import DEFAULT_RUNCOMFY_BASE_URL, ConfigError, Settings
from bot.core import provider_errors as e
from bot.ops.commands import scope_name, sync_due
from bot.ops.discord_api import api_base, no_voice_warnings, point_discord_at
from bot.ops.health import heartbeat_key, probe
from bot.ops.pg_check import pg_database
from bot.ops.report import Report
from bot.runcomfy import RunComfyClient
from bot.services import build_services, load_catalog
from db.database import Database, SchemaTooNew, latest_version
from db.meta import MetaRepo
from db.sql import SqlDatabase

# A request id no one has: a good token gets "not found" for it, a bad one "unauthorized".
MADE_UP_REQUEST_ID = "00000000-0000-4000-8000-000000000000"
LIVE_TIMEOUT = 30.0


async def run_check(settings: Settings, *, live: bool) -> int:
    report = Report(settings.discord_token, settings.runcomfy_api_token, settings.database_url)
    no_voice_warnings()
    report.line("configuration: read (environment and .env)")
    _tokens(settings, report)
    models_ok = _models(settings, report)
    if settings.database_url is not None:
        db = await pg_database(settings.database_url.reveal(), report)
    else:
        db = await _database(settings.database_path, report)
    try:
        if models_ok:
            await _commands(settings, None if db is None else MetaRepo(db), report)
    finally:
        if db is not None:
            await db.close()
    if live:
        await _live_discord(settings, report)
        await _live_runcomfy(settings, report)
    return report.exit_code


async def run_health(settings: Settings) -> int:
    """`check --health`: exit 0 when the running bot's heartbeat is fresh (see health.py)."""
    report = Report(settings.discord_token, settings.runcomfy_api_token, settings.database_url)
    from bot.health import probe_endpoint  # METRICS_PORT: /healthz also knows gateway, runner

    if settings.metrics_port is not None:
        problems = await asyncio.to_thread(probe_endpoint, settings)
    else:
        url = settings.database_url.reveal() if settings.database_url else None
        problems = await probe(
            settings.database_path, url=url, key=heartbeat_key(settings.shard_ids)
        )
    for problem in problems:
        report.problem(problem)
    if not report.problems:
        report.line("healthy")
    return report.exit_code


def _tokens(settings: Settings, report: Report) -> None:
    try:
        settings.require_discord_token()
    except ConfigError as exc:
        report.problem(str(exc))
    base = settings.runcomfy_base_url
    if settings.runcomfy_api_token is not None:
        report.line(f"runcomfy: {base}, token set")
    elif base == DEFAULT_RUNCOMFY_BASE_URL:
        report.problem(f"RUNCOMFY_API_TOKEN: not set; {base} refuses requests without one")
    else:
        report.line(f"runcomfy: {base}, no token (fine for the sandbox)")


def _models(settings: Settings, report: Report) -> bool:
    try:
        catalog = load_catalog(settings)
    except ConfigError as exc:
        report.problem(str(exc))
        return False
    keys = catalog.keys()
    report.line(f"models: {len(keys)} loaded: {', '.join(keys)}")
    return True


async def _database(path: Path, report: Report) -> SqlDatabase | None:
    """Report the file's schema; return it opened read-only when it has a meta table to read
    (a schema this code knows), else None."""
    latest = latest_version()
    if not _writable(path, report):
        report.line(f"database: {path} does not exist yet; start-up creates it (version {latest})")
        return None
    try:
        db = await Database.open(path, read_only=True)
    except Exception as exc:
        report.problem(f"database: {path} cannot be opened: {exc}")
        return None
    try:
        version = await db.schema_version()
    except Exception as exc:
        version = -1
        report.problem(f"database: {path} cannot be read: {exc}")
    if version > latest:
        report.problem(str(SchemaTooNew(path, version, latest)))
    elif version == latest:
        report.line(f"database: {path}, schema version {version} (up to date)")
    elif version > 0:
        pending = ", ".join(f"{v:04d}" for v in range(version + 1, latest + 1))
        report.line(
            f"database: {path}, schema version {version}; start-up will apply {pending}"
            f" (after a copy to {path.parent / 'backups'})"
        )
    elif version == 0:
        report.line(f"database: {path}, empty; start-up will create the schema (version {latest})")
    if 0 < version <= latest:
        return db
    await db.close()
    return None


def _writable(path: Path, report: Report) -> bool:
    """Report folders and files the bot could not write; return whether the database exists."""
    # The usual Docker trap: a volume owned by root, the bot running as another user. sqlite
    # needs the folder too (its -wal and -shm files live beside the database).
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    targets = [folder] + ([path] if path.exists() else [])
    for target in targets:
        if not os.access(target, os.W_OK):
            report.problem(f"DATABASE_PATH: {target} is not writable by this user")
    return path.exists()


async def _commands(settings: Settings, meta: MetaRepo | None, report: Report) -> None:
    # Imported here: the client pulls in every cog, which only this part of check needs.
    from bot.client import SeedanceBot

    scratch = await Database.open(":memory:")  # the tree does not depend on the data
    try:
        async with aiohttp.ClientSession() as session:
            bot = SeedanceBot(build_services(settings, session, scratch))
            try:
                await bot.load_commands()
                names = sorted(c.name for c in bot.tree.get_commands())
                for guild_id in settings.discord_guild_ids or (None,):
                    if meta is None or await sync_due(bot.tree, meta, guild_id):
                        when = "start-up will sync them"
                    else:
                        when = "unchanged since the last sync"
                    where = scope_name(guild_id)
                    report.line(f"commands: {', '.join(names)} to {where} ({when})")
            finally:
                await bot.close()
    finally:
        await scratch.close()


async def _live_discord(settings: Settings, report: Report) -> None:
    token = settings.discord_token
    if token is None:
        return  # already reported
    point_discord_at(settings)
    base = api_base(settings)
    intents = discord.Intents.none()
    intents.guilds = True  # as the bot has them (discord.py warns without)
    client = discord.Client(intents=intents)
    try:
        async with client:
            await asyncio.wait_for(client.login(token.reveal()), LIVE_TIMEOUT)
            user = client.user
            assert user is not None  # set by login
            report.line(f"discord: {base}: logged in as {user} (id {user.id})")
            app = client.application
            if app is not None and app.interactions_endpoint_url:
                report.problem(
                    "discord: the application has an Interactions Endpoint URL, so Discord sends"
                    " commands there and not to the bot; clear it in the developer portal"
                )
            for guild_id in settings.discord_guild_ids:
                await _in_guild(client, guild_id, report)
    except discord.LoginFailure:
        report.problem(f"DISCORD_TOKEN: refused by {base} (401 Unauthorized)")
    except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
        report.problem(f"discord: {base} could not be asked: {type(exc).__name__}: {exc}")


async def _in_guild(client: discord.Client, guild_id: int, report: Report) -> None:
    try:
        guild = await asyncio.wait_for(client.fetch_guild(guild_id), LIVE_TIMEOUT)
    except (discord.Forbidden, discord.NotFound):
        report.problem(
            f"DISCORD_GUILD_IDS: the bot is not in server {guild_id}; invite it or remove the id"
        )
    else:
        report.line(f"discord: member of server {guild.name} ({guild_id})")


async def _live_runcomfy(settings: Settings, report: Report) -> None:
    base = settings.runcomfy_base_url
    async with aiohttp.ClientSession() as session:
        client = RunComfyClient(
            session,
            base_url=base,
            token=settings.runcomfy_api_token,
            timeout=min(settings.http_timeout, LIVE_TIMEOUT),
            max_attempts=1,  # an answer, not a retry loop: check is run by a person waiting
            download_hosts=settings.runcomfy_download_hosts,
        )
        try:
            await client.status(MADE_UP_REQUEST_ID)
        except e.NotFound:
            report.line(f"runcomfy: {base} accepted the token (a made-up request is unknown)")
        except (e.AuthError, e.Forbidden) as exc:
            report.problem(f"RUNCOMFY_API_TOKEN: refused by {base} ({exc})")
        except e.RunComfyError as exc:
            report.problem(f"runcomfy: {base} could not be asked: {exc}")
        else:
            report.line(f"runcomfy: {base} answered (the token was accepted)")
