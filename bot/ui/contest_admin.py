"""Who may run a contest, the moderation log of what they did, and the autocomplete choices
of /contest and /video contest:<n>.

A contest moderator is what a job moderator is (bot/ui/checks.py): Manage Messages in the
contest's own channel, or the server's moderator role (`/quota-admin moderators`). Creating one
needs Manage Server or that role.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.core.contests import Contest, ContestError, Phase
from bot.core.errors import NotAllowed
from bot.services import Services
from bot.ui.budget import CHOICE_NAME_CHARS, excerpt
from bot.ui.checks import moderator_rights
from bot.ui.moderation import record_moderation

PHASE_WORDS = {
    Phase.SUBMISSIONS: "entries open",
    Phase.VOTING: "voting",
    Phase.CLOSED: "ended",
    Phase.CANCELLED: "cancelled",
}
# What the bot needs in a contest channel to post the card, the entries and the results.
NEEDED = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
    ("read_message_history", "Read Message History"),
)


async def require_creator(services: Services, interaction: discord.Interaction[Any]) -> None:
    rights = await moderator_rights(services, interaction)
    if not (interaction.permissions.manage_guild or rights.has_role):
        raise NotAllowed(
            "Creating a contest needs the Manage Server permission or the server's moderator role."
        )


async def require_moderator(
    services: Services, interaction: discord.Interaction[Any], contest: Contest
) -> None:
    rights = await moderator_rights(services, interaction)
    if not rights.over(contest.channel_id):
        raise NotAllowed(
            f"Only moderators of <#{contest.channel_id}> (Manage Messages there, or the "
            f"server's moderator role) can do that to {contest.label}."
        )


def require_postable(
    interaction: discord.Interaction[Any], channel: discord.abc.GuildChannel | None
) -> None:
    """The bot can post in the contest channel (checked where discord.py knows enough)."""
    if channel is None or channel.id == interaction.channel_id:
        perms = interaction.app_permissions
    else:
        guild = interaction.guild
        real = guild.get_channel(channel.id) if guild is not None else None
        if guild is None or real is None:
            return  # unknown here: the card's post will say
        perms = real.permissions_for(guild.me)
    missing = [name for flag, name in NEEDED if not getattr(perms, flag)]
    if missing:
        raise NotAllowed(
            "I can't run a contest in that channel: I need the "
            + ", ".join(missing)
            + " permission(s) there."
        )


async def log_action(
    interaction: discord.Interaction[Any],
    services: Services,
    contest: Contest,
    action: str,
    reason: str | None,
    text: str,
) -> None:
    """Into the moderation log and the server's log channel, like a cancel or a ban."""
    await record_moderation(
        interaction.client,
        services.quotas,
        contest.guild_id,
        None,
        interaction.user.id,
        action,
        reason,
        f"{interaction.user.mention} {text}",
    )


def contest_choices(contests: list[Contest], current: str) -> list[app_commands.Choice[int]]:
    typed = current.strip().lstrip("#").casefold()
    choices = []
    for c in contests:
        if typed and not (str(c.number).startswith(typed) or typed in c.title.casefold()):
            continue
        label = excerpt(f"#{c.number} · {c.title} · {PHASE_WORDS[c.phase]}", CHOICE_NAME_CHARS)
        choices.append(app_commands.Choice(name=label, value=c.number))
    return choices[:25]


def typed_contest(interaction: discord.Interaction[Any]) -> int | None:
    """The contest number already filled in, while another option is being typed."""
    value = getattr(interaction.namespace, "contest", None)
    try:
        return int(str(value).lstrip("#")) if value is not None else None
    except ValueError:
        return None


async def open_contest_choices(
    services: Services, interaction: discord.Interaction[Any], current: str, phase: Phase | None
) -> list[app_commands.Choice[int]]:
    if interaction.guild_id is None:
        return []
    found = await services.contests.list_open(interaction.guild_id, phase)
    return contest_choices(found, current)


async def job_choices(
    services: Services, interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[int]]:
    """/contest enter's job: only the member's videos that contest would take."""
    number = typed_contest(interaction)
    if interaction.guild_id is None or number is None:
        return []
    jobs = await services.contests.eligible_jobs(interaction.guild_id, interaction.user.id, number)
    typed = current.strip().lstrip("#")
    return [
        app_commands.Choice(
            name=excerpt(f"Job #{j.id} · {j.prompt}", CHOICE_NAME_CHARS), value=j.id
        )
        for j in jobs
        if not typed or str(j.id).startswith(typed)
    ][:25]


async def entry_choices(
    services: Services, interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[int]]:
    """/contest disqualify's entry: the contest's live entries by shown number, with their
    prompts (public in the reveal posts already; never the author)."""
    number = typed_contest(interaction)
    if interaction.guild_id is None or number is None:
        return []
    try:
        contest = await services.contests.get(interaction.guild_id, number)
    except ContestError:
        return []
    if contest.phase is not Phase.VOTING:
        return []
    typed = current.strip().lstrip("#").casefold()
    choices = []
    for entry in await services.contests.entries(contest):
        if entry.number is None:
            continue
        if typed and not (str(entry.number).startswith(typed) or typed in entry.prompt.casefold()):
            continue
        name = excerpt(f"Entry {entry.number} · {entry.prompt}", CHOICE_NAME_CHARS)
        choices.append(app_commands.Choice(name=name, value=entry.number))
    return choices[:25]
