"""The fake's world: users, guilds, channels, roles, members, messages, and their Discord payloads.

Payloads carry every field discord.py 2.7.1 reads with `data[...]` (a missing one is a KeyError
deep inside the client), so the unmodified library builds real objects from them.

Permissions are Discord's: a member has @everyone's and their roles' (no private grants, so
discord.py's `channel.permissions_for` computed from its cache agrees), and in a channel the
channel's overwrites apply on top (`Member.permissions_in`).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord

if TYPE_CHECKING:
    from .state import World

DISCORD_EPOCH_MS = 1420070400000
MIB = 1024 * 1024

ADMINISTRATOR = 1 << 3
VIEW_CHANNEL = 1 << 10
ALL_PERMISSIONS = discord.Permissions.all().value
# What the fake's guilds give @everyone: a fresh server's defaults (minus voice niceties) with
# Attach Files and Embed Links off, as community servers commonly set it against spam. The
# bot's own role then is what grants it those (what its invite asks for), so a test that takes
# a permission from `guild.bot_role` takes it from the bot. Members with more get a role.
DEFAULT_MEMBER_PERMISSIONS = discord.Permissions(
    create_instant_invite=True,
    add_reactions=True,
    view_channel=True,
    send_messages=True,
    read_message_history=True,
    use_external_emojis=True,
    connect=True,
    speak=True,
    change_nickname=True,
    use_application_commands=True,
    send_messages_in_threads=True,
).value
# What the bot's invite link asks for.
DEFAULT_BOT_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    add_reactions=True,
    use_external_emojis=True,
    use_application_commands=True,
).value


def snowflake_at(unix: float, low_bits: int) -> int:
    return ((int(unix * 1000) - DISCORD_EPOCH_MS) << 22) | (low_bits & 0x3FFFFF)


def snowflake_time(snowflake: int) -> float:
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000


def valid_shard(shard_id: int, shard_count: int) -> bool:
    return shard_count >= 1 and 0 <= shard_id < shard_count


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard whose gateway session gets a guild's events: Discord's formula."""
    return (guild_id >> 22) % shard_count


def iso(unix: float) -> str:
    return datetime.datetime.fromtimestamp(unix, datetime.UTC).isoformat()


def effective_permissions(base: int) -> int:
    return ALL_PERMISSIONS if base & ADMINISTRATOR else base


def apply_overwrite(permissions: int, allow: int, deny: int) -> int:
    """Deny first, then allow: Discord's order within one overwrite step."""
    return (permissions & ~deny) | allow


@dataclass(eq=False)
class User:
    id: int
    name: str
    bot: bool = False
    accepts_dms: bool = True  # False: the bot's DMs fail with 403 / 50007

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": self.name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass(eq=False)
class Role:
    id: int
    guild: Guild
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    bot_id: int | None = None

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            payload["tags"] = {"bot_id": str(self.bot_id)}
        return payload


@dataclass(eq=False)
class Member:
    """A user in a guild. Their permissions come from @everyone and their roles, as on Discord;
    `permissions_in(channel)` adds the channel's overwrites."""

    user: User
    guild: Guild
    roles: list[Role]
    joined_at: float

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.name

    def base_permissions(self) -> int:
        """Guild-wide: @everyone | the member's roles; the owner and administrators get all."""
        if self.id == self.guild.owner_id:
            return ALL_PERMISSIONS
        base = self.guild.everyone.permissions
        for role in self.roles:
            base |= role.permissions
        return effective_permissions(base)

    def resolved_permissions(self) -> int:
        """The guild-wide permissions (`base_permissions`), without any channel's overwrites."""
        return self.base_permissions()

    def permissions_in(self, channel: Channel) -> int:
        """What the member may do in `channel`, computed as Discord does.

        Base permissions, then the channel's @everyone overwrite, then the role overwrites (the
        denies of all the member's roles, then their allows), then the member's own overwrite.
        The owner and administrators bypass overwrites; without View Channel there is nothing.
        """
        if channel.guild is not self.guild:
            raise ValueError(f"#{channel.name or channel.id} is not in {self.guild.name}")
        base = self.base_permissions()
        if base & ADMINISTRATOR:  # administrators and the owner (all bits) bypass overwrites
            return ALL_PERMISSIONS
        everyone = channel.overwrite(0, self.guild.id)
        if everyone is not None:
            base = apply_overwrite(base, everyone.allow, everyone.deny)
        role_ids = {role.id for role in self.roles}
        allow = deny = 0
        for overwrite in channel.overwrites:
            if overwrite.type == 0 and overwrite.id != self.guild.id and overwrite.id in role_ids:
                allow |= overwrite.allow
                deny |= overwrite.deny
        base = apply_overwrite(base, allow, deny)
        own = channel.overwrite(1, self.id)
        if own is not None:
            base = apply_overwrite(base, own.allow, own.deny)
        return base if base & VIEW_CHANNEL else 0

    def payload(self, *, permissions: int | None = None) -> dict[str, Any]:
        """The member object; `permissions` (in an interaction's channel) when Discord adds it."""
        payload: dict[str, Any] = {
            "user": self.user.payload(),
            "roles": [str(role.id) for role in self.roles],
            "joined_at": iso(self.joined_at),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "communication_disabled_until": None,
        }
        if permissions is not None:
            payload["permissions"] = str(permissions)
        return payload


@dataclass(eq=False)
class Overwrite:
    """A channel's permission overwrite for a role (type 0) or a member (type 1)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass(eq=False)
class Channel:
    id: int
    name: str
    type: int  # 0 guild text, 1 DM
    guild: Guild | None = None
    position: int = 0
    recipient: User | None = None
    deleted: bool = False
    overwrites: list[Overwrite] = field(default_factory=list)

    def overwrite(self, kind: int, target_id: int) -> Overwrite | None:
        return next((o for o in self.overwrites if o.type == kind and o.id == target_id), None)

    def _target(self, target: Role | Member) -> tuple[Guild, int, int]:
        if self.guild is None:
            raise ValueError("DM channels have no permission overwrites")
        if target.guild is not self.guild:
            raise ValueError(f"{target.name} is not in {self.guild.name}")
        return self.guild, 0 if isinstance(target, Role) else 1, target.id

    def set_permissions(self, target: Role | Member, *, allow: int = 0, deny: int = 0) -> None:
        """Set (replace) the overwrite for a role or a member; announced with CHANNEL_UPDATE.

        A bit both allowed and denied ends up allowed, as Discord applies deny, then allow."""
        guild, kind, target_id = self._target(target)
        existing = self.overwrite(kind, target_id)
        if existing is None:
            self.overwrites.append(Overwrite(target_id, kind, allow, deny))
        else:
            existing.allow, existing.deny = allow, deny
        guild.world.announce("CHANNEL_UPDATE", self.payload(), intent=1 << 0)

    def remove_permissions(self, target: Role | Member) -> None:
        """Delete the overwrite for a role or a member (if any); announced with CHANNEL_UPDATE."""
        guild, kind, target_id = self._target(target)
        self.overwrites = [o for o in self.overwrites if (o.type, o.id) != (kind, target_id)]
        guild.world.announce("CHANNEL_UPDATE", self.payload(), intent=1 << 0)

    def payload(self) -> dict[str, Any]:
        if self.guild is None:
            assert self.recipient is not None
            return {
                "id": str(self.id),
                "type": 1,
                "recipients": [self.recipient.payload()],
                "last_message_id": None,
                "flags": 0,
            }
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild.id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [o.payload() for o in self.overwrites],
            "nsfw": False,
            "topic": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "last_message_id": None,
            "flags": 0,
        }


@dataclass(eq=False)
class Guild:
    """A guild; add channels, roles and members through its methods (announced on the gateway)."""

    id: int
    name: str
    upload_limit: int
    locale: str
    world: World
    everyone: Role = field(init=False)
    bot_role: Role = field(init=False)
    bot_member: Member = field(init=False)
    channels: list[Channel] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    bot_present: bool = True  # False once the bot was removed (remove_bot)

    def add_text_channel(self, name: str) -> Channel:
        channel = Channel(self.world.new_id(), name, 0, self, position=len(self.channels))
        self.channels.append(channel)
        self.world.register_channel(channel)
        self.world.announce("CHANNEL_CREATE", channel.payload(), intent=1 << 0)
        return channel

    def add_role(self, name: str, permissions: int) -> Role:
        role = Role(self.world.new_id(), self, name, permissions, position=len(self.roles))
        self.roles.append(role)
        self.world.announce(
            "GUILD_ROLE_CREATE", {"guild_id": str(self.id), "role": role.payload()}, intent=1 << 0
        )
        return role

    def add_member(
        self,
        name: str,
        permissions: int | None = None,
        roles: Sequence[Role] = (),
        *,
        user: User | None = None,
        account_age: float = 0.0,
        member_age: float = 0.0,
    ) -> Member:
        """A member with @everyone's permissions plus their `roles`' (GUILD_MEMBER_ADD), whose
        account was made `account_age` seconds ago and who joined `member_age` seconds ago.

        `permissions` are guild-wide ones. Discord has no per-member grant, so the bits beyond
        @everyone's go to a role made for this member, "<name>-permissions" (GUILD_ROLE_CREATE
        first). Fewer than @everyone's cannot be: deny them with channel overwrites instead.
        """
        roles = list(roles)
        if permissions is not None:
            missing = self.everyone.permissions & ~permissions
            if missing:
                raise ValueError(
                    f"{name} cannot have fewer permissions than @everyone (missing {missing:#x}):"
                    " deny them in a channel with Channel.set_permissions"
                )
            extra = permissions & ~self.everyone.permissions
            if extra:
                roles.append(self.add_role(f"{name}-permissions", extra))
        user = user or self.world.add_user(name, age=account_age)
        member = Member(user, self, roles, time.time() - member_age)
        self.members.append(member)
        payload = member.payload() | {"guild_id": str(self.id)}
        self.world.announce("GUILD_MEMBER_ADD", payload, intent=1 << 1)
        return member

    def member(self, user_id: int) -> Member | None:
        return next((m for m in self.all_members() if m.id == user_id), None)

    def all_members(self) -> Iterator[Member]:
        if self.bot_present:
            yield self.bot_member
        yield from self.members

    @property
    def owner_id(self) -> int:
        return self.world.owner.id

    def remove_bot(self) -> None:
        """The bot is kicked: GUILD_DELETE (no `unavailable`, as Discord sends it on a removal),
        then no more events from this guild, 403 / 50001 on its bot-token routes, and no new
        interactions. Tokens of interactions already delivered keep working until they expire.
        """
        if not self.bot_present:
            return
        self.world.announce("GUILD_DELETE", {"id": str(self.id)}, intent=1 << 0)
        self.bot_present = False

    def add_bot(self) -> None:
        """The bot is invited back: it joins anew and gets the guild with GUILD_CREATE."""
        if self.bot_present:
            return
        self.bot_present = True
        self.bot_member.joined_at = time.time()
        self.world.announce("GUILD_CREATE", self.payload(), intent=1 << 0)

    @property
    def premium_tier(self) -> int:
        # Mirrors the upload limit so discord.py's guild.filesize_limit agrees with ours.
        if self.upload_limit >= 100 * MIB:
            return 3
        return 2 if self.upload_limit >= 50 * MIB else 0

    def payload(self) -> dict[str, Any]:
        """GUILD_CREATE: the guild with channels, roles and members (the bot among them)."""
        members = list(self.all_members())
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "owner_id": str(self.owner_id),
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [self.everyone.payload()] + [r.payload() for r in self.roles],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "premium_tier": self.premium_tier,
            "premium_subscription_count": 0,
            "preferred_locale": self.locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": iso(self.bot_member.joined_at),
            "large": False,
            "member_count": len(members),
            "voice_states": [],
            "members": [m.payload() for m in members],
            "channels": [c.payload() for c in self.channels if not c.deleted],
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }
