"""The fake's world: users, guilds, channels, roles, members, messages, and their Discord payloads.

Payloads carry every field discord.py 2.7.1 reads with `data[...]` (a missing one is a KeyError
deep inside the client), so the unmodified library builds real objects from them.
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
ALL_PERMISSIONS = discord.Permissions.all().value
# What a fresh server's @everyone gets (Discord's defaults, minus voice niceties).
DEFAULT_MEMBER_PERMISSIONS = discord.Permissions(
    create_instant_invite=True,
    add_reactions=True,
    view_channel=True,
    send_messages=True,
    embed_links=True,
    attach_files=True,
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


def iso(unix: float) -> str:
    return datetime.datetime.fromtimestamp(unix, datetime.UTC).isoformat()


def effective_permissions(base: int) -> int:
    return ALL_PERMISSIONS if base & ADMINISTRATOR else base


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
    """A user in a guild; `permissions` is the member's own grant, roles add to it."""

    user: User
    guild: Guild
    permissions: int
    roles: list[Role]
    joined_at: float

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.name

    def resolved_permissions(self) -> int:
        base = self.permissions
        for role in self.roles:
            base |= role.permissions
        return effective_permissions(base)

    def payload(self, *, with_permissions: bool = False) -> dict[str, Any]:
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
        if with_permissions:
            payload["permissions"] = str(self.resolved_permissions())
        return payload


@dataclass(eq=False)
class Channel:
    id: int
    name: str
    type: int  # 0 guild text, 1 DM
    guild: Guild | None = None
    position: int = 0
    recipient: User | None = None
    deleted: bool = False

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
            "permission_overwrites": [],
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
        permissions: int = DEFAULT_MEMBER_PERMISSIONS,
        roles: Sequence[Role] = (),
        *,
        user: User | None = None,
    ) -> Member:
        user = user or self.world.add_user(name)
        member = Member(user, self, permissions, list(roles), time.time())
        self.members.append(member)
        payload = member.payload() | {"guild_id": str(self.id)}
        self.world.announce("GUILD_MEMBER_ADD", payload, intent=1 << 1)
        return member

    def member(self, user_id: int) -> Member | None:
        return next((m for m in self.all_members() if m.id == user_id), None)

    def all_members(self) -> Iterator[Member]:
        yield self.bot_member
        yield from self.members

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
            "owner_id": str(self.world.owner.id),
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
