"""The Cancel button. A DynamicItem: its custom_id carries the job id, so it keeps working after
a restart (discord.py routes any matching custom_id here, no live View needed)."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.ui.cancel import cancel_from


class CancelButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"job:cancel:(?P<id>[0-9]+)"
):
    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Cancel",
                style=discord.ButtonStyle.secondary,
                custom_id=f"job:cancel:{job_id}",
                emoji="✖️",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> CancelButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = interaction.client  # the SeedanceBot: its services and its card updater
        await cancel_from(bot.services, bot.cards, interaction, self.job_id)


def job_view(job_id: int, cancellable: bool) -> discord.ui.View | None:
    if not cancellable:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job_id))
    return view
