"""/blocklist: words or phrases a server refuses in prompts (moderators only)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.client import SeedanceBot
from bot.ui.checks import reply_ephemeral
from cogs.common import GuardedGroup


@app_commands.guild_only()
@app_commands.default_permissions(manage_messages=True)
class Blocklist(GuardedGroup, name="blocklist", description="Words refused in prompts"):
    permission = "manage_messages"

    @app_commands.command(name="add", description="Refuse prompts containing a word or phrase")
    @app_commands.describe(term="A word or phrase; matched as whole words, any case")
    async def add(
        self, interaction: discord.Interaction[Any], term: app_commands.Range[str, 1, 100]
    ) -> None:
        assert interaction.guild_id is not None
        quotas = self.bot.services.quotas
        added = await quotas.add_blocked_term(interaction.guild_id, term, interaction.user.id)
        await reply_ephemeral(interaction, "Added." if added else "It was already on the list.")

    @app_commands.command(name="remove", description="Allow a word or phrase again")
    @app_commands.describe(term="The word or phrase, as shown by /blocklist show")
    async def remove(
        self, interaction: discord.Interaction[Any], term: app_commands.Range[str, 1, 100]
    ) -> None:
        assert interaction.guild_id is not None
        removed = await self.bot.services.quotas.remove_blocked_term(interaction.guild_id, term)
        await reply_ephemeral(interaction, "Removed." if removed else "It was not on the list.")

    @app_commands.command(name="show", description="The words and phrases refused here")
    async def show(self, interaction: discord.Interaction[Any]) -> None:
        assert interaction.guild_id is not None
        terms = await self.bot.services.quotas.blocked_terms(interaction.guild_id)
        text = ", ".join(f"`{t}`" for t in terms) if terms else "Nothing is blocked."
        await reply_ephemeral(interaction, text)  # clipped there to Discord's limit


async def setup(bot: SeedanceBot) -> None:
    bot.tree.add_command(Blocklist(bot))
