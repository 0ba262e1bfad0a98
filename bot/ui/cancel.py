"""Cancel by the card's button or by /jobs cancel: both end here."""

from __future__ import annotations

from typing import Any, Protocol

import discord

from bot.core.domain import Job
from bot.core.errors import JobNotFound, UserFacingError
from bot.core.provider_errors import RunComfyError
from bot.services import Services
from bot.ui.checks import moderator_rights, reply_ephemeral
from bot.ui.moderation import record_moderation


class Settles(Protocol):
    """The card updater, as far as a cancel needs it."""

    async def settle(self, job: Job) -> None: ...


async def cancel_from(
    services: Services,
    cards: Settles,
    interaction: discord.Interaction[Any],
    job_id: int,
    reason: str | None = None,
) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        if interaction.guild_id is None:
            raise JobNotFound(job_id)
        # A forged custom_id may name another server's job: it is as unknown as a missing one.
        job = await services.jobs.job_in_guild(job_id, interaction.guild_id)
        rights = await moderator_rights(services, interaction)
        result = await services.jobs.cancel(
            job_id,
            interaction.user.id,
            guild_id=interaction.guild_id,
            moderator=rights.over(job.channel_id),
            reason=reason,
        )
    except UserFacingError as exc:
        await reply_ephemeral(interaction, exc.message)
        return
    except RunComfyError as exc:
        text = f"Job #{job_id} could not be cancelled just now: {exc.user_message}"
        await reply_ephemeral(interaction, text)
        return
    if result.cancelled and result.job.user_id != interaction.user.id:
        # Logged before anything else can fail: a moderator's cancel is never unrecorded.
        why = f" Reason: {reason}" if reason else ""
        text = (
            f"<@{interaction.user.id}> cancelled video #{job_id} by <@{result.job.user_id}>.{why}"
        )
        await record_moderation(
            interaction.client,
            services.quotas,
            result.job.guild_id,
            job_id,
            interaction.user.id,
            "cancel",
            reason,
            text,
        )
    if result.cancelled:
        await cards.settle(result.job)
    await reply_ephemeral(interaction, f"Job #{job_id}: {result.reason}")
