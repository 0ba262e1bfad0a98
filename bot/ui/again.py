"""The Again button (on every result) and Make another (on a double click's answer): the same
options as job N, with a new random seed unless its member chose one, for whoever presses it,
from their own credits. A DynamicItem: `job:again:<id>` keeps working after a restart."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import discord

from bot.core.catalog import Catalog
from bot.core.domain import Job
from bot.core.errors import JobNotFound, UserFacingError
from bot.core.schema import ModelSpec, VideoRequest
from bot.ui.checks import reply_ephemeral
from bot.ui.idbutton import IdButton

GONE = "The model of that video is no longer offered here; use /video to pick another."
_RANDOM = random.SystemRandom()


class AgainButton(IdButton, prefix="job:again:"):
    def __init__(self, job_id: int, label: str = "Again") -> None:
        super().__init__(job_id, label=label, emoji="🔁", style=discord.ButtonStyle.secondary)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = interaction.client  # the SeedanceBot: its services and its video starter
        try:
            if interaction.guild_id is None:
                raise JobNotFound(self.row_id)
            job = await bot.services.jobs.job_in_guild(self.row_id, interaction.guild_id)
            request = repeat(bot.services.catalog, job)
            await bot.starter.start(interaction, request, again_of=job.id)
        except UserFacingError as exc:
            await reply_ephemeral(interaction, exc.message)


def repeat(catalog: Catalog, job: Job) -> VideoRequest:
    """Job's request again: a new seed (sent, so it shows and can be reproduced) unless the
    member chose theirs; checked against the model's schema as any request is."""
    spec = catalog.by_path(job.model_path)
    if spec is None:
        raise UserFacingError(GONE)
    params: dict[str, object] = dict(job.params)
    key = spec.meta.seed_key
    new_seed = key is not None and (key not in params or job.seed_by_bot)
    if new_seed and key is not None:
        params[key] = fresh_seed(spec, key)
    checked = spec.validate(params)
    if isinstance(checked, list):  # the model's schema changed since the job was made
        raise UserFacingError(GONE)
    return replace(checked, seed_by_bot=new_seed)


def fresh_seed(spec: ModelSpec, key: str) -> int:
    """A random seed inside the model's range, never the value that means "random"."""
    low, high = spec.bounds(key)
    low, high = low if low is not None else 0, high if high is not None else 2**31 - 1
    while True:
        seed = _RANDOM.randint(low, high)
        if seed != spec.meta.random_seed:
            return seed
