"""World state shared by the REST server, the gateway and the test's hands.

Every change goes through here so that `wait_for` can wake on it and so that the gateway can
announce it (MESSAGE_CREATE, MESSAGE_DELETE, CHANNEL_DELETE...) to the connected client.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .message import EPHEMERAL, Attachment, Message
from .model import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_MEMBER_PERMISSIONS,
    MIB,
    Channel,
    Guild,
    Member,
    Role,
    User,
    shard_of,
    snowflake_at,
    valid_shard,
)

T = TypeVar("T")
Announcer = Callable[[str, dict[str, Any], int | None], None]

GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12


@dataclass(frozen=True)
class Callback:
    """One interaction callback the bot sent, and what the fake answered."""

    type: int
    data: dict[str, Any] | None
    status: int
    at: float  # time.monotonic()
    files: tuple[tuple[str, int], ...] = ()


@dataclass(eq=False)
class InteractionRecord:
    id: int
    token: str
    type: int
    user: User
    member: Member | None
    channel: Channel
    payload: dict[str, Any]
    lifetime: float  # Rules.token_lifetime when it was created
    attachment_size_limit: int
    source_message_id: int | None = None  # the message whose component was used
    sent_at: float = 0.0  # time.monotonic() when dispatched
    callbacks: list[Callback] = field(default_factory=list)
    response_type: int | None = None
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    first_callback: asyncio.Future[Callback] | None = None

    @property
    def acknowledged(self) -> bool:
        return self.response_type is not None

    @property
    def expires_at(self) -> float:
        return self.sent_at + self.lifetime

    def owns(self, message_id: int) -> bool:
        return message_id == self.original_id or message_id in self.followup_ids


class World:
    def __init__(self, *, bot_name: str) -> None:
        self._low_bits = itertools.count(1)
        self._last_id = 0
        self.users: dict[int, User] = {}
        self.guilds: list[Guild] = []
        self.channels: dict[int, Channel] = {}
        self.dm_channels: dict[int, Channel] = {}  # by recipient user id
        self.messages: dict[int, Message] = {}
        self.attachments: dict[int, Attachment] = {}  # served at {cdn}/attachments/...
        # Synced commands by scope: None for global, else the guild id.
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interactions: dict[int, InteractionRecord] = {}
        self.by_token: dict[str, InteractionRecord] = {}
        self.bot_user = self.add_user(bot_name, bot=True)
        self.owner = self.add_user("app-owner")
        self.application_id = self.bot_user.id  # as for every modern Discord bot
        self.cdn = ""
        self.announcer: Announcer | None = None
        self._changed: asyncio.Event | None = None

    # ids and notification

    def new_id(self, at: float | None = None) -> int:
        """A snowflake for now (strictly increasing), or backdated to `at` (unix seconds)."""
        if at is not None:
            return snowflake_at(at, next(self._low_bits))
        self._last_id = max(snowflake_at(time.time(), 0), self._last_id + 1)
        return self._last_id

    def guild_id_on_shard(self, shard_id: int, shard_count: int) -> int:
        """A new snowflake (as `new_id`) with `(id >> 22) % shard_count == shard_id`."""
        if not valid_shard(shard_id, shard_count):
            raise ValueError(f"no shard {shard_id} among {shard_count}")
        snowflake = self.new_id()
        # The shard is picked by the id's millisecond: move on to the next one that fits, which
        # keeps ids increasing (at most shard_count - 1 ms ahead of the clock).
        ahead = (shard_id - shard_of(snowflake, shard_count)) % shard_count
        if ahead:
            snowflake = ((snowflake >> 22) + ahead) << 22
            self._last_id = snowflake
        return snowflake

    def changed(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def announce(self, event: str, data: dict[str, Any], *, intent: int | None = None) -> None:
        self.changed()
        guild_id = data.get("guild_id")
        if guild_id is not None and not self.bot_in(int(guild_id)):
            return  # a guild the bot was removed from sends it nothing
        if self.announcer is not None:
            self.announcer(event, data, intent)

    def guild(self, guild_id: int) -> Guild | None:
        return next((g for g in self.guilds if g.id == guild_id), None)

    def bot_in(self, guild_id: int) -> bool:
        guild = self.guild(guild_id)
        return guild is not None and guild.bot_present

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            if self._changed is None:
                self._changed = asyncio.Event()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue  # loop once more: check, then raise

    # the world

    def add_user(self, name: str, *, bot: bool = False, age: float = 0.0) -> User:
        """A user whose account is `age` seconds old (its id is a snowflake of then)."""
        user = User(self.new_id(at=time.time() - age) if age else self.new_id(), name, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        upload_limit: int = 10 * MIB,
        locale: str = "en-US",
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: int = DEFAULT_MEMBER_PERMISSIONS,
        *,
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """A guild the bot is in; `shard=(i, n)` gives it an id on shard i of n."""
        guild_id = self.new_id() if shard is None else self.guild_id_on_shard(*shard)
        guild = Guild(guild_id, name, upload_limit, locale, self)
        # @everyone shares the guild's id, as on Discord.
        guild.everyone = Role(guild.id, guild, "@everyone", everyone_permissions)
        guild.bot_role = Role(
            self.new_id(), guild, self.bot_user.name, bot_permissions, 1, True, self.bot_user.id
        )
        guild.roles.append(guild.bot_role)
        guild.bot_member = Member(self.bot_user, guild, [guild.bot_role], time.time())
        self.guilds.append(guild)
        self.announce("GUILD_CREATE", guild.payload(), intent=1 << 0)
        return guild

    def register_channel(self, channel: Channel) -> None:
        self.channels[channel.id] = channel
        self.changed()

    def dm_channel(self, user: User) -> Channel:
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = Channel(self.new_id(), "", 1, recipient=user)
            self.dm_channels[user.id] = channel
            self.register_channel(channel)
        return channel

    def find_command(self, name: str, guild: Guild | None) -> dict[str, Any]:
        scopes: list[int | None] = [guild.id, None] if guild is not None else [None]
        for scope in scopes:
            for command in self.commands.get(scope, []):
                if command["name"] == name and command.get("type", 1) == 1:
                    return command
        synced = {scope: [c["name"] for c in cmds] for scope, cmds in self.commands.items()}
        raise LookupError(f"/{name} is not synced (synced: {synced})")

    # messages

    def message_payload(self, message: Message) -> dict[str, Any]:
        return message.payload(self.cdn, self.users)

    def _event_payload(self, message: Message) -> dict[str, Any]:
        payload = self.message_payload(message)
        guild = message.channel.guild
        if guild is not None:
            payload["guild_id"] = str(guild.id)
            member = guild.member(message.author.id)
            if member is not None:
                payload["member"] = {k: v for k, v in member.payload().items() if k != "user"}
        return payload

    def _intent(self, message: Message) -> int:
        return DIRECT_MESSAGES if message.channel.guild is None else GUILD_MESSAGES

    def add_message(self, message: Message) -> Message:
        message.snapshot()
        self.messages[message.id] = message
        if not message.flags & EPHEMERAL:
            self.announce(
                "MESSAGE_CREATE", self._event_payload(message), intent=self._intent(message)
            )
        self.changed()
        return message

    def message_edited(self, message: Message) -> None:
        message.edited_at = time.time()
        message.snapshot()
        if not message.flags & EPHEMERAL:
            self.announce(
                "MESSAGE_UPDATE", self._event_payload(message), intent=self._intent(message)
            )
        self.changed()

    def delete_message(self, message: Message) -> None:
        if message.deleted:
            return
        message.deleted = True
        data: dict[str, Any] = {"id": str(message.id), "channel_id": str(message.channel.id)}
        if message.channel.guild is not None:
            data["guild_id"] = str(message.channel.guild.id)
        if not message.flags & EPHEMERAL:
            self.announce("MESSAGE_DELETE", data, intent=self._intent(message))
        self.changed()

    def delete_channel(self, channel: Channel) -> None:
        if channel.deleted:
            return
        channel.deleted = True
        self.announce("CHANNEL_DELETE", channel.payload(), intent=1 << 0)

    def channel_messages(self, channel: Channel) -> list[Message]:
        return sorted(
            (m for m in self.messages.values() if m.channel is channel), key=lambda m: m.id
        )
