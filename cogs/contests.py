"""/contest: create and run prompt contests, enter them, withdraw, see the results.

Thin: each command checks who may use it (bot/ui/contest_admin.py), calls the contest service
and hands what must be posted to the contest poster (bot/ui/contest_posts.py).
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import SeedanceBot
from bot.core.contests import ContestService, Phase
from bot.core.contests import messages as m
from bot.core.errors import NotAllowed
from bot.ui.checks import reply_ephemeral
from bot.ui.contest_admin import (
    contest_choices,
    entry_choices,
    job_choices,
    log_action,
    open_contest_choices,
    require_creator,
    require_moderator,
    require_postable,
)
from bot.ui.contest_cards import announcement, list_text, message_link, results_message, when

Duration = app_commands.Range[str, 1, 60]
CONTEST = "The contest's number (Contest #N)"


@app_commands.guild_only()  # the whole group: contests are a server's (no DM commands)
class ContestCog(commands.GroupCog, group_name="contest", group_description="Prompt contests"):
    def __init__(self, bot: SeedanceBot) -> None:
        self.bot = bot
        super().__init__()

    @property
    def contests(self) -> ContestService:
        return self.bot.services.contests

    # --- running a contest ---------------------------------------------------------------

    @app_commands.command(name="create", description="Start a prompt contest (Manage Server)")
    @app_commands.describe(
        title="A short name for the contest",
        theme="What members should make",
        submissions="How long entries are taken, e.g. 45s, 90m, 2d 6h",
        voting="How long voting lasts once submissions close",
        channel="Where the contest is posted (default: here)",
        entries_per_member="Entries each member may make (default 1)",
        votes_per_member="Votes each member has (default 3)",
        min_account_age="Voters' Discord accounts must be this old, e.g. 7d (default none)",
        min_member_age="Voters must have been in the server this long, e.g. 1d (default none)",
    )
    @app_commands.guild_only()
    async def create(
        self,
        interaction: discord.Interaction[Any],
        title: app_commands.Range[str, 1, 100],
        theme: app_commands.Range[str, 1, 1000],
        submissions: Duration,
        voting: Duration,
        channel: discord.TextChannel | None = None,
        entries_per_member: app_commands.Range[int, 1, 10] = 1,
        votes_per_member: app_commands.Range[int, 1, 25] = 3,
        min_account_age: Duration | None = None,
        min_member_age: Duration | None = None,
    ) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None
        services = self.bot.services
        await require_creator(services, interaction)
        require_postable(interaction, channel)
        await interaction.response.defer(ephemeral=True, thinking=True)
        contest = await self.contests.create(
            interaction.guild_id,
            channel.id if channel else interaction.channel_id,
            interaction.user.id,
            title=title,
            theme=theme,
            submissions=submissions,
            voting=voting,
            entries_per_member=entries_per_member,
            votes_per_member=votes_per_member,
            min_account_age=min_account_age,
            min_member_age=min_member_age,
        )
        card = await self.bot.contest_posts.announce(contest)
        if card is None:
            await self.contests.cancel(
                contest.guild_id,
                contest.number,
                interaction.user.id,
                "the card could not be posted",
            )
            raise NotAllowed(
                f"I couldn't post in <#{contest.channel_id}>, so {contest.label} was not started."
            )
        await log_action(interaction, services, contest, "contest-create", None,
                         f"started {contest.label} in <#{contest.channel_id}>.")  # fmt: skip
        link = message_link(contest.guild_id, contest.channel_id, card.id)
        await reply_ephemeral(
            interaction,
            f"{contest.label} is open: {link}\nSubmissions close "
            f"{when(contest.submissions_close_at)}; voting then lasts until "
            f"{when(contest.voting_close_at)}.",
        )

    @app_commands.command(name="close", description="End the current phase of a contest now")
    @app_commands.describe(contest=CONTEST)
    @app_commands.guild_only()
    async def close(self, interaction: discord.Interaction[Any], contest: int) -> None:
        assert interaction.guild_id is not None
        found = await self.contests.get(interaction.guild_id, contest)
        await require_moderator(self.bot.services, interaction, found)
        change = await self.contests.close_phase_now(
            interaction.guild_id, contest, interaction.user.id
        )
        await self.bot.contest_posts.changed(change)
        was = "submissions" if found.phase is Phase.SUBMISSIONS else "voting"
        await log_action(interaction, self.bot.services, found, "contest-close", None,
                         f"closed {was} of {found.label} early.")  # fmt: skip
        now = change.contest
        if now.phase is Phase.VOTING:
            until = when(now.voting_close_at)
            text = f"Submissions of {now.label} are closed; voting is open until {until}."
        else:
            text = f"{now.label} is over; its results are being posted."
        await reply_ephemeral(interaction, text)

    @app_commands.command(name="cancel", description="Stop a contest; it gets no results")
    @app_commands.describe(contest=CONTEST, reason="Why (shown to members and kept in the log)")
    @app_commands.guild_only()
    async def cancel(
        self,
        interaction: discord.Interaction[Any],
        contest: int,
        reason: app_commands.Range[str, 0, 300] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        found = await self.contests.get(interaction.guild_id, contest)
        await require_moderator(self.bot.services, interaction, found)
        done = await self.contests.cancel(
            interaction.guild_id, contest, interaction.user.id, reason
        )
        self.bot.contest_posts.was_cancelled(done)
        why = f" Reason: {reason}" if reason else ""
        await log_action(interaction, self.bot.services, done, "contest-cancel", reason,
                         f"cancelled {done.label}.{why}")  # fmt: skip
        await reply_ephemeral(interaction, f"{done.label} is cancelled.")

    @app_commands.command(name="disqualify", description="Take an entry out of the running")
    @app_commands.describe(
        contest=CONTEST,
        entry="The entry's shown number (Entry N)",
        reason="Why (shown on the entry and kept in the log)",
    )
    @app_commands.guild_only()
    async def disqualify(
        self,
        interaction: discord.Interaction[Any],
        contest: int,
        entry: int,
        reason: app_commands.Range[str, 1, 300],
    ) -> None:
        assert interaction.guild_id is not None
        found = await self.contests.get(interaction.guild_id, contest)
        await require_moderator(self.bot.services, interaction, found)
        gone = await self.contests.disqualify(
            interaction.guild_id, contest, entry, interaction.user.id, reason
        )
        self.bot.contest_posts.was_disqualified(found, gone)
        await log_action(interaction, self.bot.services, found, "contest-disqualify", reason,
                         f"disqualified {gone.label} of {found.label} (Job #{gone.job_id}, by "
                         f"<@{gone.user_id}>). Reason: {reason}")  # fmt: skip
        await reply_ephemeral(
            interaction, f"{gone.label} of {found.label} is disqualified; its votes are returned."
        )

    # --- members -------------------------------------------------------------------------

    @app_commands.command(name="enter", description="Enter one of your videos in a contest")
    @app_commands.describe(contest=CONTEST, job="Your job number, shown on its card as Job #N")
    @app_commands.guild_only()
    async def enter(self, interaction: discord.Interaction[Any], contest: int, job: int) -> None:
        assert interaction.guild_id is not None
        found = await self.bot.services.jobs.job_in_guild(job, interaction.guild_id)
        entry = await self.contests.enter(interaction.guild_id, contest, interaction.user.id, found)
        now = await self.contests.get(interaction.guild_id, contest)
        await reply_ephemeral(interaction, m.entered(now, entry))

    @app_commands.command(
        name="withdraw", description="Take your entry back while entries are open"
    )
    @app_commands.describe(contest=CONTEST, job="Which one, if you have entered several")
    @app_commands.guild_only()
    async def withdraw(
        self, interaction: discord.Interaction[Any], contest: int, job: int | None = None
    ) -> None:
        assert interaction.guild_id is not None
        gone = await self.contests.withdraw(interaction.guild_id, contest, interaction.user.id, job)
        now = await self.contests.get(interaction.guild_id, contest)
        await reply_ephemeral(interaction, m.withdrawn(now, gone))

    @app_commands.command(name="list", description="The contests of this server")
    @app_commands.guild_only()
    async def list_contests(self, interaction: discord.Interaction[Any]) -> None:
        assert interaction.guild_id is not None
        await reply_ephemeral(
            interaction, list_text(await self.contests.recent(interaction.guild_id))
        )

    @app_commands.command(name="show", description="A contest's rules, deadlines and your part")
    @app_commands.describe(contest=CONTEST)
    @app_commands.guild_only()
    async def show(self, interaction: discord.Interaction[Any], contest: int) -> None:
        assert interaction.guild_id is not None
        found = await self.contests.get(interaction.guild_id, contest)
        embed = announcement(found)
        mine = await self.contests.my_entries(interaction.guild_id, contest, interaction.user.id)
        yours = ", ".join(f"Job #{e.job_id}" for e in mine) or "none"
        lines = [f"Your entries: {yours} (of {found.entries_per_member})."]
        if found.phase is Phase.VOTING:
            status = await self.contests.voter_status(found, interaction.user.id)
            voted = ", ".join(f"Entry {n}" for n in status.entry_numbers) or "nothing yet"
            lines.append(
                f"Your votes: {voted}; {m.votes_left(status.left, found.votes_per_member)}"
            )
        embed.add_field(name="You", value="\n".join(lines), inline=False)
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    @app_commands.command(name="results", description="The results of an ended contest")
    @app_commands.describe(contest=CONTEST)
    @app_commands.guild_only()
    async def results(self, interaction: discord.Interaction[Any], contest: int) -> None:
        assert interaction.guild_id is not None
        found = await self.contests.get(interaction.guild_id, contest)
        text, _ = results_message(await self.contests.results(found))
        await reply_ephemeral(interaction, text)  # nobody is pinged a second time

    # --- autocomplete --------------------------------------------------------------------

    @enter.autocomplete("contest")
    @withdraw.autocomplete("contest")
    async def taking_entries(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        return await open_contest_choices(
            self.bot.services, interaction, current, Phase.SUBMISSIONS
        )

    @close.autocomplete("contest")
    @cancel.autocomplete("contest")
    async def running(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        return await open_contest_choices(self.bot.services, interaction, current, None)

    @disqualify.autocomplete("contest")
    async def voting(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        return await open_contest_choices(self.bot.services, interaction, current, Phase.VOTING)

    @show.autocomplete("contest")
    @results.autocomplete("contest")
    async def any_contest(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        return contest_choices(await self.contests.recent(interaction.guild_id, 25), current)

    @disqualify.autocomplete("entry")
    async def live_entries(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        return await entry_choices(self.bot.services, interaction, current)

    @enter.autocomplete("job")
    async def eligible(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        return await job_choices(self.bot.services, interaction, current)


async def setup(bot: SeedanceBot) -> None:
    await bot.add_cog(ContestCog(bot))
