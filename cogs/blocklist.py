"""/blocklist: words or phrases a server refuses in prompts (moderators only)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.client import SeedanceBot

NO_MENTIONS = discord.AllowedMentions.none()


@app_commands.guild_only()
@app_commands.default_permissions(manage_messages=True)
@app_commands.checks.has_permissions(manage_messages=True)
class Blocklist(app_commands.Group, name="blocklist", description="Words refused in prompts"):
    def __init__(self, bot: SeedanceBot) -> None:
        super().__init__()
        self.bot = bot

    async def _say(self, interaction: discord.Interaction[Any], text: str) -> None:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="add", description="Refuse prompts containing a word or phrase")
    @app_commands.describe(term="A word or phrase; matched as whole words, any case")
    async def add(
        self, interaction: discord.Interaction[Any], term: app_commands.Range[str, 1, 100]
    ) -> None:
        assert interaction.guild_id is not None
        clean = " ".join(term.casefold().split())
        policy = self.bot.services.quotas.policy
        added = await policy.add_blocked_term(interaction.guild_id, clean, interaction.user.id)
        await self._say(interaction, "Added." if added else "It was already on the list.")

    @app_commands.command(name="remove", description="Allow a word or phrase again")
    @app_commands.describe(term="The word or phrase, as shown by /blocklist show")
    async def remove(
        self, interaction: discord.Interaction[Any], term: app_commands.Range[str, 1, 100]
    ) -> None:
        assert interaction.guild_id is not None
        clean = " ".join(term.casefold().split())
        removed = await self.bot.services.quotas.policy.remove_blocked_term(
            interaction.guild_id, clean
        )
        await self._say(interaction, "Removed." if removed else "It was not on the list.")

    @app_commands.command(name="show", description="The words and phrases refused here")
    async def show(self, interaction: discord.Interaction[Any]) -> None:
        assert interaction.guild_id is not None
        terms = await self.bot.services.quotas.policy.blocked_terms(interaction.guild_id)
        text = ", ".join(f"`{t}`" for t in terms) if terms else "Nothing is blocked."
        await self._say(interaction, text[:1900])


async def setup(bot: SeedanceBot) -> None:
    bot.tree.add_command(Blocklist(bot))
