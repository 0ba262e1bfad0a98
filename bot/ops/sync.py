"""`python -m bot sync [--guild ID] [--global]`: sync the command tree now.

It logs in over HTTP only (discord.py's `Client.login`; no gateway connection, so it can run
beside the bot), loads the same cogs the bot does, syncs the chosen scopes whether or not they
changed, and records their digests so the next start-up does not sync them again. Without
flags the scopes are start-up's: DISCORD_GUILD_IDS when set, else global.
"""

from __future__ import annotations

import aiohttp
import discord

from bot.client import SeedanceBot
from bot.config import Settings
from bot.ops.commands import scope_name, sync_scope
from bot.ops.discord_api import api_base, no_voice_warnings, point_discord_at
from bot.ops.report import Report
from bot.services import build_services
from db.connect import open_database


class CommandsOnly(SeedanceBot):
    """The bot's command tree without its jobs: nothing is resumed, no card is touched."""

    async def setup_hook(self) -> None:
        await self.load_commands()


async def run_sync(settings: Settings, *, guild_ids: list[int], to_global: bool) -> int:
    token = settings.require_discord_token()
    report = Report(settings.discord_token, settings.runcomfy_api_token)
    scopes: list[int | None] = [*guild_ids, *([None] if to_global else [])]
    if not scopes:
        scopes = [*settings.discord_guild_ids] or [None]
    point_discord_at(settings)
    no_voice_warnings()
    url = settings.database_url.reveal() if settings.database_url else None
    db = await open_database(settings.database_path, url)
    try:
        async with aiohttp.ClientSession() as session:
            services = build_services(settings, session, db)
            async with CommandsOnly(services) as bot:
                try:
                    await bot.login(token.reveal())
                except discord.LoginFailure:
                    report.problem(f"DISCORD_TOKEN: refused by {api_base(settings)}")
                    return report.exit_code
                names = ", ".join(sorted(c.name for c in bot.tree.get_commands()))
                for guild_id in scopes:
                    where = scope_name(guild_id)
                    try:
                        await sync_scope(bot.tree, services.meta, guild_id, force=True)
                    except discord.HTTPException as exc:
                        report.problem(f"sync to {where} failed: {exc}")
                    else:
                        report.line(f"synced {names} to {where}")
    finally:
        await db.close()
    return report.exit_code
