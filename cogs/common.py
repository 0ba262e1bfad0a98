"""What several cogs share: a command group guarded by a permission the bot checks itself."""

from __future__ import annotations

from typing import Any, ClassVar

import discord
from discord import app_commands

from bot.client import SeedanceBot
from bot.ui.checks import require_permission


class GuardedGroup(app_commands.Group):
    """Discord hides the group from members without `permission` (its default permissions),
    and the bot refuses them too, since a server may open a command to anyone."""

    permission: ClassVar[str]

    def __init__(self, bot: SeedanceBot) -> None:
        super().__init__()
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        return require_permission(interaction, self.permission)
