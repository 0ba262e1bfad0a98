"""The discord.py bot, and only its wiring: services in the constructor, cogs and buttons in
`setup_hook`, the command tree with its error handler, and the gateway events jobs care about."""

from __future__ import annotations

import hashlib
import json
import logging

import discord
from discord.ext import commands

from bot.core.domain import Job
from bot.services import Services
from bot.ui.again import AgainButton
from bot.ui.buttons import CancelButton
from bot.ui.errors import SeedanceTree
from bot.ui.joblists import PageButton
from bot.ui.sink import CardUpdater, DiscordSink
from bot.ui.start import VideoStarter

log = logging.getLogger(__name__)

COGS = ("cogs.video", "cogs.jobs", "cogs.quota", "cogs.blocklist")


class SeedanceBot(commands.Bot):
    def __init__(self, services: Services) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            tree_cls=SeedanceTree,
        )
        self.services = services
        self.cards = CardUpdater(
            self, services.jobs, services.catalog, interval=services.settings.card_edit_interval
        )
        self.starter = VideoStarter(services, self.cards, self.sink_for)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(CancelButton, PageButton, AgainButton)
        for name in COGS:
            await self.load_extension(name)
        await self.sync_commands()
        await self.services.jobs.resume_all(self.sink_for)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        self.cards.left(c.id for c in guild.channels)  # every write there would be a 403
        await self._left(guild.id)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        self.cards.rejoined(c.id for c in guild.channels)

    async def on_ready(self) -> None:
        # A server that removed the bot while it was down: its open jobs must stop too.
        here = {g.id for g in self.guilds}
        for guild_id in await self.services.jobs.open_guild_ids():
            if guild_id not in here:
                await self._left(guild_id)

    async def _left(self, guild_id: int) -> None:
        for job in await self.services.jobs.guild_removed(guild_id):
            await self.cards.settle(job)  # through the token while it lasts; else nothing

    def sink_for(self, job: Job) -> DiscordSink:
        return DiscordSink(self, self.cards)

    async def sync_commands(self) -> None:
        """Guilds from DISCORD_GUILD_IDS get the commands at once; the global sync (rate-limited
        per day by Discord) only runs when the command tree actually changed."""
        guild_ids = self.services.settings.discord_guild_ids
        for guild_id in guild_ids:
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
            log.info("commands synced to guild %d", guild_id)
        if guild_ids:
            return
        digest = hashlib.sha256(
            json.dumps(
                [c.to_dict(self.tree) for c in self.tree.get_commands()], sort_keys=True
            ).encode()
        ).hexdigest()
        if await self.services.meta.get("global_commands") != digest:
            await self.tree.sync()
            await self.services.meta.set("global_commands", digest)
            log.info("global commands synced")
