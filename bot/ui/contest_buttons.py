"""The Vote button under each revealed entry and the Take back button on a vote's answer.

Both are DynamicItems: the custom_id carries the entry's row id (`contest:vote:<entry id>`,
`contest:take-back:<entry id>`), so they work after a restart with no live View. Every answer
is ephemeral and says what happened and how many votes are left; the rules (phase, budget, own
entry, double clicks) are the contest service's and the database's.
"""

from __future__ import annotations

from typing import Any, Protocol

import discord

from bot.core.contests import Contest, VoteStatus, account_created_at
from bot.core.errors import UserFacingError
from bot.services import Services
from bot.ui.checks import reply_ephemeral
from bot.ui.idbutton import IdButton

NO_MENTIONS = discord.AllowedMentions.none()


class VotesChanged(Protocol):
    """The contest poster, as far as a vote needs it: the card's public count."""

    def votes_changed(self, contest: Contest) -> None: ...


class VoteButton(IdButton, prefix="contest:vote:"):
    def __init__(self, entry_id: int) -> None:
        super().__init__(entry_id, label="Vote", emoji="🗳️", style=discord.ButtonStyle.primary)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = interaction.client  # the SeedanceBot: its services and its contest poster
        await vote_pressed(bot.services, bot.contest_posts, interaction, self.row_id)


class TakeBackButton(IdButton, prefix="contest:take-back:"):
    def __init__(self, entry_id: int) -> None:
        style = discord.ButtonStyle.secondary
        super().__init__(entry_id, label="Take back", emoji="↩️", style=style)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = interaction.client
        await take_back_pressed(bot.services, bot.contest_posts, interaction, self.row_id)


def vote_view(entry_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton(entry_id))
    return view


def take_back_view(entry_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(TakeBackButton(entry_id))
    return view


async def vote_pressed(
    services: Services, posts: VotesChanged, interaction: discord.Interaction[Any], entry_id: int
) -> None:
    # Deferred first: 50 presses at once queue on the database, never on Discord's 3 s.
    await interaction.response.defer(ephemeral=True, thinking=True)
    user = interaction.user
    joined = getattr(user, "joined_at", None)  # a Member's, from the interaction itself
    try:
        outcome = await services.contests.vote(
            interaction.guild_id or 0,
            entry_id,
            user.id,
            voter_is_bot=user.bot,
            account_created_at=account_created_at(user.id),
            member_joined_at=joined.timestamp() if joined is not None else None,
        )
    except UserFacingError as exc:
        await reply_ephemeral(interaction, exc.message)
        return
    await interaction.followup.send(
        outcome.message, view=take_back_view(entry_id), ephemeral=True, allowed_mentions=NO_MENTIONS
    )
    if outcome.status is VoteStatus.COUNTED:
        posts.votes_changed(outcome.contest)


async def take_back_pressed(
    services: Services, posts: VotesChanged, interaction: discord.Interaction[Any], entry_id: int
) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        outcome = await services.contests.take_back(
            interaction.guild_id or 0, entry_id, interaction.user.id
        )
    except UserFacingError as exc:
        await reply_ephemeral(interaction, exc.message)
        return
    await reply_ephemeral(interaction, outcome.message)
    if outcome.status is VoteStatus.TAKEN_BACK:
        posts.votes_changed(outcome.contest)
