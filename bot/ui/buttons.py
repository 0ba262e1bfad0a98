"""The Cancel button. A DynamicItem: its custom_id carries the job id, so it keeps working after
a restart (discord.py routes any matching custom_id here, no live View needed)."""

from __future__ import annotations

from typing import Any

import discord

from bot.ui.cancel import cancel_from
from bot.ui.idbutton import IdButton


class CancelButton(IdButton, prefix="job:cancel:"):
    def __init__(self, job_id: int) -> None:
        super().__init__(job_id, label="Cancel", emoji="✖️", style=discord.ButtonStyle.secondary)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = interaction.client  # the SeedanceBot: its services and its card updater
        await cancel_from(bot.services, bot.cards, interaction, self.row_id)


def job_view(job_id: int, cancellable: bool) -> discord.ui.View | None:
    if not cancellable:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job_id))
    return view
