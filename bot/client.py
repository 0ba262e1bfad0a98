"""The discord.py bot, and only its wiring: services in the constructor, cogs and buttons in
`setup_hook`, the command tree with its error handler, and the gateway events jobs care about."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from bot.core.contests.ticker import ContestTicker
from bot.core.domain import Job
from bot.core.jobs import JobSink
from bot.ops.commands import sync_scope
from bot.services import Services
from bot.ui.again import AgainButton
from bot.ui.buttons import CancelButton
from bot.ui.contest_buttons import TakeBackButton, VoteButton
from bot.ui.contest_posts import ContestPoster
from bot.ui.contest_video import ContestEntrySink, VideoEntryReporter
from bot.ui.errors import SeedanceTree
from bot.ui.joblists import PageButton
from bot.ui.pacing import GLOBAL_RATE, Pacer
from bot.ui.sink import CardUpdater, DiscordSink
from bot.ui.start import VideoStarter

log = logging.getLogger(__name__)

COGS = ("cogs.video", "cogs.jobs", "cogs.quota", "cogs.blocklist", "cogs.contests", "cogs.status")


class SeedanceBot(commands.Bot):
    def __init__(self, services: Services, **shards: Any) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            tree_cls=SeedanceTree,
            http_trace=services.metrics.discord_trace(),  # counts Discord's 429s
            **shards,
        )
        self.services = services
        share = services.settings.discord_share
        self.cards = CardUpdater(
            self,
            services.jobs,
            services.catalog,
            interval=services.settings.card_edit_interval,
            pacer=Pacer(global_rate=GLOBAL_RATE * share, global_burst=max(1.0, 8 * share)),
        )
        self.starter = VideoStarter(services, self.cards, self.sink_for)
        # Contests: the ticker moves phases on time; the poster writes what goes with them.
        self.contest_video = VideoEntryReporter(
            self, services.video_entries, services.jobs, self.cards
        )
        self.contest_posts = ContestPoster(
            self,
            services.contests,
            self.cards,
            count_interval=services.settings.card_edit_interval * 6,
            on_start=self.contest_video,
        )
        self.contest_ticker = ContestTicker(
            services.contests, self.contest_posts, only=services.settings.runs_guild
        )

    async def setup_hook(self) -> None:
        await self.load_commands()
        await self.sync_commands()
        await self.services.jobs.resume_all(self.sink_for)
        self.contest_ticker.start()  # catches up phase changes that fell while the bot was down

    async def close(self) -> None:
        await self.contest_ticker.stop()
        await self.contest_posts.stop()  # what is cut off is posted at the next start
        await super().close()

    async def load_commands(self) -> None:
        """The cogs and the restart-proof buttons: everything the command tree is made of."""
        self.add_dynamic_items(CancelButton, PageButton, AgainButton, VoteButton, TakeBackButton)
        for name in COGS:
            await self.load_extension(name)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        self.cards.left(c.id for c in guild.channels)  # every write there would be a 403
        await self._left(guild.id)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        self.cards.rejoined(c.id for c in guild.channels)

    async def on_ready(self) -> None:
        # A server that removed the bot while it was down: its open jobs must stop too. Only
        # this process's shards' servers are known here; the others are another's to judge.
        here = {g.id for g in self.guilds}
        settings = self.services.settings
        for guild_id in await self.services.jobs.open_guild_ids():
            if guild_id not in here and settings.runs_guild(guild_id):
                await self._left(guild_id)

    async def _left(self, guild_id: int) -> None:
        for job in await self.services.jobs.guild_removed(guild_id):
            await self.cards.settle(job)  # through the token while it lasts; else nothing

    def sink_for(self, job: Job) -> JobSink:
        # A /video contest:<n> job is entered once delivered; the wrapper looks that up.
        return ContestEntrySink(
            DiscordSink(self, self.cards, self.services.metrics), self.cards, self.contest_video
        )

    async def sync_commands(self) -> None:
        """To DISCORD_GUILD_IDS (instant), else globally (rate-limited per day by Discord); each
        scope only when its command tree changed since the last sync (bot/ops/commands.py)."""
        for guild_id in self.services.settings.discord_guild_ids or (None,):
            try:
                await sync_scope(self.tree, self.services.meta, guild_id)
            except discord.Forbidden:
                # The other servers still get their commands; `check --live` names this one.
                log.error("cannot sync commands to guild %s: the bot is not in it", guild_id)


class ShardedSeedanceBot(SeedanceBot, commands.AutoShardedBot):
    """SHARD_COUNT and SHARD_IDS: some of Discord's shards, in this process."""


def make_bot(services: Services) -> SeedanceBot:
    settings = services.settings
    if settings.shard_count is None:
        return SeedanceBot(services)
    ids = None if settings.shard_ids is None else list(settings.shard_ids)
    return ShardedSeedanceBot(services, shard_count=settings.shard_count, shard_ids=ids)
