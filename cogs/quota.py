"""/quota (what a member has left) and /quota-admin (a server's policy, Manage Server only)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import SeedanceBot
from bot.core.errors import NotAllowed
from bot.core.quotas import Price, QuotaSummary
from bot.ui.checks import moderator_rights, reply_ephemeral
from bot.ui.moderation import record_moderation
from cogs.common import GuardedGroup


def _role_ids(member: discord.abc.User) -> list[int]:
    return [r.id for r in getattr(member, "roles", [])]


def _price(price: Price) -> str:
    unit = "credit" if price.per_second == 1 else "credits"
    weights = ", ".join(f"×{w} at {res}" for res, w in price.resolution_weights.items())
    return f"{price.model}: {price.per_second} {unit} a second" + (
        f" ({weights})" if weights else ""
    )


def render_summary(
    who: discord.abc.User, s: QuotaSummary, prices: list[Price], models_off: frozenset[str]
) -> str:
    default, others = prices[0], [p for p in prices[1:] if p.model not in models_off]
    weights = default.resolution_weights
    reset = f"<t:{s.reset_at}:R> (<t:{s.reset_at}:t>)"
    if s.banned:
        return (
            f"**{who.display_name}** can't make videos in this server (a moderator turned it off)."
        )
    if s.allowance + s.granted == 0:
        return f"Video making is turned off for **{who.display_name}** in this server."
    total = s.allowance + s.granted
    extra = f" ({s.allowance} a day + {s.granted} granted)" if s.granted else ""
    shown = ", ".join(f"×{w} at {res}" for res, w in weights.items())
    if default.per_second != 1:  # QUOTA_MODEL_WEIGHTS names the default model
        shown = f"×{default.per_second} credits, then {shown}"
    lines = [
        f"**{who.display_name}**: {s.remaining} of {total} credits left today{extra}; "
        f"more {reset}.",
        f"Videos in progress: {s.active} of {s.max_active}.",
        f"A video costs its length in seconds {shown}: 5 s at "
        f"{next(iter(weights))} costs {5 * default.per_second * next(iter(weights.values()))}"
        " credits.",
    ]
    if others:
        lines.append("Other models: " + "; ".join(map(_price, others)) + ".")
    lines.append("Failed and cancelled videos are refunded.")
    if s.daily_budget is not None:
        lines.append(f"This server also has a daily budget of {s.daily_budget} credits in all.")
    return "\n".join(lines)


class QuotaCog(commands.GroupCog, group_name="quota", group_description="Your video credits"):
    def __init__(self, bot: SeedanceBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="show", description="Credits left today, reset time and prices")
    @app_commands.describe(member="Moderators: look at another member")
    @app_commands.guild_only()
    async def show(
        self, interaction: discord.Interaction[Any], member: discord.Member | None = None
    ) -> None:
        assert interaction.guild_id is not None
        target = member or interaction.user
        rights = await moderator_rights(self.bot.services, interaction)
        if target.id != interaction.user.id and not rights.server_wide:
            raise NotAllowed("Only moderators can look at another member's credits.")
        quotas = self.bot.services.quotas
        summary = await quotas.summary(interaction.guild_id, target.id, _role_ids(target))
        off = {
            spec.display_name
            for spec in quotas.catalog
            if spec.key in await quotas.models_off(interaction.guild_id)
        }
        text = render_summary(target, summary, quotas.prices(), frozenset(off))
        await reply_ephemeral(interaction, text)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class QuotaAdmin(GuardedGroup, name="quota-admin", description="Video credit policy"):
    permission = "manage_guild"

    @app_commands.command(name="default", description="Daily credits for every member")
    @app_commands.describe(credits="Credits per member per day; 0 turns /video off")
    async def default(
        self, interaction: discord.Interaction[Any], credits: app_commands.Range[int, 0, 100_000]
    ) -> None:
        assert interaction.guild_id is not None
        await self.bot.services.quotas.update_policy(interaction.guild_id, credits_per_day=credits)
        await reply_ephemeral(interaction, f"Every member now gets {credits} credits a day.")

    @app_commands.command(name="role", description="Daily credits for members with a role")
    @app_commands.describe(role="The role", credits="Credits per day; leave empty to remove")
    async def role(
        self,
        interaction: discord.Interaction[Any],
        role: discord.Role,
        credits: app_commands.Range[int, 0, 100_000] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        await self.bot.services.quotas.set_role_allowance(interaction.guild_id, role.id, credits)
        if credits is None:
            await reply_ephemeral(interaction, f"{role.mention} no longer has its own allowance.")
        else:
            await reply_ephemeral(
                interaction,
                f"Members with {role.mention} get {credits} credits a day "
                "(a member gets the best of their roles and the server default).",
            )

    @app_commands.command(name="grant", description="Give a member extra credits for today")
    @app_commands.describe(member="Who", credits="Extra credits for today", note="Why (kept)")
    async def grant(
        self,
        interaction: discord.Interaction[Any],
        member: discord.Member,
        credits: app_commands.Range[int, 1, 100_000],
        note: app_commands.Range[str, 0, 200] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        await self.bot.services.quotas.grant(
            interaction.guild_id, member.id, credits, interaction.user.id, note
        )
        await reply_ephemeral(
            interaction, f"{member.mention} got {credits} extra credits for today."
        )

    @app_commands.command(name="ban", description="Stop a member from making videos here")
    @app_commands.describe(member="Who", reason="Why (kept in the moderation log)")
    async def ban(
        self,
        interaction: discord.Interaction[Any],
        member: discord.Member,
        reason: app_commands.Range[str, 0, 200] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        await self.bot.services.quotas.ban(
            interaction.guild_id, member.id, interaction.user.id, reason
        )
        why = f" Reason: {reason}" if reason else ""
        await record_moderation(
            self.bot,
            self.bot.services.quotas,
            interaction.guild_id,
            None,
            interaction.user.id,
            "ban",
            reason,
            f"{interaction.user.mention} stopped {member.mention} from making videos.{why}",
        )
        await reply_ephemeral(interaction, f"{member.mention} can no longer use /video here.")

    @app_commands.command(name="unban", description="Let a member make videos here again")
    @app_commands.describe(member="Who")
    async def unban(self, interaction: discord.Interaction[Any], member: discord.Member) -> None:
        assert interaction.guild_id is not None
        removed = await self.bot.services.quotas.unban(interaction.guild_id, member.id)
        if removed:
            await record_moderation(
                self.bot,
                self.bot.services.quotas,
                interaction.guild_id,
                None,
                interaction.user.id,
                "unban",
                None,
                f"{interaction.user.mention} let {member.mention} make videos again.",
            )
        text = "can use /video again." if removed else "was not banned."
        await reply_ephemeral(interaction, f"{member.mention} {text}")

    @app_commands.command(name="budget", description="Daily credits for the whole server")
    @app_commands.describe(credits="Credits per day for everyone together; 0 removes the budget")
    async def budget(
        self, interaction: discord.Interaction[Any], credits: app_commands.Range[int, 0, 10_000_000]
    ) -> None:
        assert interaction.guild_id is not None
        value = credits or None
        await self.bot.services.quotas.update_policy(interaction.guild_id, daily_budget=value)
        text = f"a daily budget of {credits} credits" if value else "no server-wide budget"
        await reply_ephemeral(interaction, f"This server now has {text}.")

    @app_commands.command(name="active", description="Videos a member may have in progress")
    @app_commands.describe(jobs="Queued or generating videos per member at once")
    async def active(
        self, interaction: discord.Interaction[Any], jobs: app_commands.Range[int, 1, 20]
    ) -> None:
        assert interaction.guild_id is not None
        await self.bot.services.quotas.update_policy(interaction.guild_id, max_active_jobs=jobs)
        await reply_ephemeral(
            interaction, f"Members may now have {jobs} video(s) in progress at once."
        )

    @app_commands.command(name="models", description="Turn a video model on or off here")
    @app_commands.describe(model="Which model", enabled="On (members may pick it) or off")
    async def models(
        self, interaction: discord.Interaction[Any], model: str, enabled: bool
    ) -> None:
        assert interaction.guild_id is not None
        quotas = self.bot.services.quotas
        spec = quotas.catalog.get(model)
        if spec is None:
            raise NotAllowed(f"There is no model `{model[:40]}`; pick one from the list.")
        if spec is quotas.catalog.default and not enabled:
            raise NotAllowed(
                f"{spec.display_name} is the default model and can't be turned off; "
                "use /quota-admin default 0 to turn /video off."
            )
        await quotas.set_model(interaction.guild_id, spec.key, enabled, interaction.user.id)
        state = "on" if enabled else "off: /video refuses it, and nothing is charged"
        await reply_ephemeral(interaction, f"{spec.display_name} is now {state}.")

    @models.autocomplete("model")
    async def model_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        off = await self.bot.services.quotas.models_off(interaction.guild_id or 0)
        typed = current.casefold()
        return [
            app_commands.Choice(name=f"{name} ({'off' if key in off else 'on'})", value=key)
            for name, key in self.bot.services.catalog.model_choices()
            if typed in name.casefold() or typed in key
        ][:25]

    @app_commands.command(name="moderators", description="A role that may cancel anyone's job")
    @app_commands.describe(role="Leave empty to rely on Manage Messages only")
    async def moderators(
        self, interaction: discord.Interaction[Any], role: discord.Role | None = None
    ) -> None:
        assert interaction.guild_id is not None
        rid = role.id if role else None
        await self.bot.services.quotas.update_policy(interaction.guild_id, moderator_role_id=rid)
        who = role.mention if role else "members with Manage Messages"
        await reply_ephemeral(interaction, f"Video moderators are now {who}.")

    @app_commands.command(name="log-channel", description="Where moderator actions are posted")
    @app_commands.describe(channel="Leave empty to stop posting them")
    async def log_channel(
        self, interaction: discord.Interaction[Any], channel: discord.TextChannel | None = None
    ) -> None:
        assert interaction.guild_id is not None
        cid = channel.id if channel else None
        await self.bot.services.quotas.update_policy(interaction.guild_id, log_channel_id=cid)
        where = channel.mention if channel else "nowhere"
        await reply_ephemeral(interaction, f"Moderator actions will be posted {where}.")


async def setup(bot: SeedanceBot) -> None:
    await bot.add_cog(QuotaCog(bot))
    bot.tree.add_command(QuotaAdmin(bot))
