"""FakeDiscord: the server the unmodified discord.py client connects to, and the test's API.

    async with FakeDiscord() as fake:
        fake.patch_discord()            # or point the bot at fake.api_base / fake.gateway_url
        guild = fake.add_guild("Test")
        ...
        handle = await fake.invoke(member, channel, "video", {"prompt": "a cat"})

Everything runs on 127.0.0.1 in the caller's event loop; the bot may run in-process or as a
subprocess (it then sets Route.BASE and DEFAULT_GATEWAY itself from the two URLs).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Mapping
from typing import Any, Self, TypeVar

import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import web

from . import interactions as _interactions  # noqa: F401  (registers the routes)
from . import rest as _rest  # noqa: F401  (registers the routes)
from .compose import compute_mentions
from .gateway import Gateway
from .hands import (
    SELECTS,
    InteractionHandle,
    convert_options,
    deliver,
    ensure_usable,
    leaf_schema,
    nest,
    new_record,
)
from .message import Message
from .model import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_MEMBER_PERMISSIONS,
    MIB,
    Channel,
    Guild,
    Member,
    User,
)
from .ratelimit import RateLimiter
from .router import API_PREFIX, FAKE_KEY, Call, api_handler
from .rules import Rules
from .state import World

T = TypeVar("T")
log = logging.getLogger(__name__)


class FakeDiscord:
    """The server, its world, the rules it enforces, and a member's hands for tests."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        bot_name: str = "Seedance",
        rules: Rules | None = None,
        heartbeat_interval: float = 41.25,
    ) -> None:
        self.token = token
        self.rules = rules or Rules()
        self.heartbeat_interval = heartbeat_interval
        # GATEWAY_MESSAGE_CONTENT_LIMITED and APPLICATION_COMMAND_BADGE, as for a small bot.
        self.application_flags = (1 << 19) | (1 << 23)
        self.world = World(bot_name=bot_name)
        self.world.announcer = self._announce
        self.gateway = Gateway(self)
        self.limiter = RateLimiter()
        self.calls: list[Call] = []
        self.unhandled: list[Call] = []  # requests to routes the fake does not know
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._saved: tuple[str, yarl.URL] | None = None

    # lifecycle

    async def start(self) -> Self:
        app = web.Application(client_max_size=1024 * MIB)
        me: FakeDiscord = self  # the plain type: mypy cannot match Self to the key
        app[FAKE_KEY] = me
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._cdn)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", api_handler)
        self._runner = web.AppRunner(app, shutdown_timeout=2.0, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self.world.cdn = self.base_url
        return self

    async def stop(self) -> None:
        self.unpatch_discord()
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_base(self) -> str:
        """For discord.http.Route.BASE."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """For discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY (as a yarl.URL)."""
        return f"ws://127.0.0.1:{self._port}/gateway"

    def patch_discord(self) -> None:
        """Point discord.py (this process) at the fake; undone by unpatch_discord() or stop()."""
        if self._saved is None:
            self._saved = (
                discord.http.Route.BASE,
                discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
            )
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)

    def unpatch_discord(self) -> None:
        if self._saved is not None:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._saved
            self._saved = None

    # the world

    @property
    def bot_user(self) -> User:
        return self.world.bot_user

    @property
    def application_id(self) -> int:
        return self.world.application_id

    def add_guild(
        self,
        name: str,
        upload_limit: int = 10 * MIB,
        *,
        locale: str = "en-US",
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: int = DEFAULT_MEMBER_PERMISSIONS,
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """A guild the bot is in (announced with GUILD_CREATE if a client is connected).

        `bot_permissions` go to the bot's managed role, `everyone_permissions` to @everyone
        (which the bot has too, as every member); `shard=(i, n)`: an id on shard i of n."""
        return self.world.add_guild(
            name, upload_limit, locale, bot_permissions, everyone_permissions, shard=shard
        )

    def remove_bot(self, guild: Guild) -> None:
        """Kick the bot from `guild` (see Guild.remove_bot)."""
        guild.remove_bot()

    def add_bot(self, guild: Guild) -> None:
        """Invite the bot back into `guild` (see Guild.add_bot)."""
        guild.add_bot()

    def dm_channel(self, who: Member | User) -> Channel:
        return self.world.dm_channel(who.user if isinstance(who, Member) else who)

    def commands(self, guild: Guild | None = None) -> list[dict[str, Any]]:
        """The synced commands (stored JSON with ids) of a guild, or the global ones."""
        return list(self.world.commands.get(guild.id if guild else None, []))

    async def delete_message(self, message_id: int) -> None:
        self.world.delete_message(self.world.messages[message_id])

    async def delete_channel(self, channel_id: int) -> None:
        self.world.delete_channel(self.world.channels[channel_id])

    def age_message(self, message_id: int, seconds: float) -> None:
        """Make a message `seconds` older on the fake's clock (for Rules.edit_age_limit)."""
        message = self.world.messages[message_id]
        message.born -= seconds
        message.created_at -= seconds

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close the gateway connections as a network failure would."""
        await self.gateway.drop(code)

    # hands

    async def invoke(
        self,
        member: Member | User,
        channel: Channel,
        command: str,
        options: Mapping[str, Any] | None = None,
        subcommand: str | None = None,
        *,
        raw_options: list[dict[str, Any]] | None = None,
        locale: str = "en-US",
        timeout: float = 10.0,
    ) -> InteractionHandle:
        """A slash command. `subcommand` may be "sub" or "group sub"; `raw_options` replaces
        the leaf's options verbatim (wrong types, values outside choices, unknown names)."""
        stored = self.world.find_command(command, channel.guild)
        ensure_usable(stored, member, channel)
        path, schema = leaf_schema(stored, subcommand)
        resolved: dict[str, dict[str, Any]] = {}
        if raw_options is not None:
            leaf = raw_options
        else:
            leaf = convert_options(self, channel, schema, options or {}, resolved, actor=member)
        data: dict[str, Any] = {
            "id": stored["id"],
            "name": stored["name"],
            "type": 1,
            "options": nest(path, leaf),
        }
        if resolved:
            data["resolved"] = resolved
        if "guild_id" in stored:
            data["guild_id"] = stored["guild_id"]
        record = new_record(self, 2, member, channel, data, locale=locale)
        return await deliver(self, record, timeout)

    async def autocomplete(
        self,
        member: Member | User,
        channel: Channel,
        command: str,
        options: Mapping[str, Any],
        focused: str,
        subcommand: str | None = None,
        *,
        timeout: float = 5.0,
    ) -> list[dict[str, Any]]:
        """Type into `focused`; returns the choices the bot answered (callback type 8)."""
        stored = self.world.find_command(command, channel.guild)
        ensure_usable(stored, member, channel)
        path, schema = leaf_schema(stored, subcommand)
        leaf = convert_options(self, channel, schema, options, {}, focused=focused, actor=member)
        data: dict[str, Any] = {
            "id": stored["id"],
            "name": stored["name"],
            "type": 1,
            "options": nest(path, leaf),
        }
        if "guild_id" in stored:
            data["guild_id"] = stored["guild_id"]
        handle = await deliver(self, new_record(self, 4, member, channel, data), timeout)
        answer = await handle.response(timeout)
        if answer.status != 200 or answer.type != 8:
            raise AssertionError(f"autocomplete answered type {answer.type}, {answer.status}")
        return list((answer.data or {}).get("choices", []))

    async def press(
        self,
        member: Member | User,
        message: Message | int,
        custom_id: str,
        *,
        values: list[str] | None = None,
        timeout: float = 10.0,
    ) -> InteractionHandle:
        """Use a component (button, select) of a message the member can see."""
        if isinstance(message, int):
            message = self.world.messages[message]
        user = member.user if isinstance(member, Member) else member
        if message.deleted or not message.visible_for(user.id):
            raise ValueError(f"message {message.id} is not visible to {user.name}")
        component = next(
            (c for c in message.components_flat() if c.get("custom_id") == custom_id), None
        )
        if component is None:
            raise ValueError(f"no component {custom_id!r} on the message: {message.custom_ids()}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] in SELECTS:
            data["values"] = list(values or [])
        record = new_record(self, 3, member, message.channel, data, source=message)
        return await deliver(self, record, timeout)

    async def submit_modal(
        self,
        member: Member | User,
        shown: InteractionHandle,
        values: Mapping[str, str],
        *,
        timeout: float = 10.0,
    ) -> InteractionHandle:
        """Fill in and submit the modal the bot answered `shown` with (callback type 9)."""
        modal = next((c.data for c in shown.callbacks if c.type == 9 and c.status == 200), None)
        if modal is None:
            raise ValueError("the bot did not answer that interaction with a modal")
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": key, "value": value}]}
            for key, value in values.items()
        ]
        data = {"custom_id": modal["custom_id"], "components": rows}
        source = self.world.messages.get(shown.record.source_message_id or 0)
        record = new_record(self, 5, member, shown.record.channel, data, source=source)
        return await deliver(self, record, timeout)

    async def say(self, member: Member | User, channel: Channel, content: str) -> Message:
        """A member posts a plain message (MESSAGE_CREATE)."""
        user = member.user if isinstance(member, Member) else member
        message = Message(self.world.new_id(), channel, user, content=content)
        compute_mentions(message)
        return self.world.add_message(message)

    # reading

    def messages(self, channel: Channel, visible_to: Member | User | None = None) -> list[Message]:
        """Live messages in order; ephemeral ones only if `visible_to` is their recipient."""
        user_id = None if visible_to is None else visible_to.id
        return [
            m
            for m in self.world.channel_messages(channel)
            if not m.deleted and (m.visible_to is None or user_id in m.visible_to)
        ]

    def message(self, message_id: int) -> Message:
        """Any message by id, deleted or ephemeral ones included."""
        return self.world.messages[message_id]

    def dm_messages(self, who: Member | User) -> list[Message]:
        user = who.user if isinstance(who, Member) else who
        channel = self.world.dm_channels.get(user.id)
        return [] if channel is None else self.messages(channel, visible_to=user)

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 10.0) -> T:
        """Re-check `predicate` on every state change until it is truthy; returns its value."""
        try:
            return await self.world.wait_for(predicate, timeout)
        except TimeoutError:
            recent = "\n  ".join(f"{c.route} -> {c.status}" for c in self.calls[-10:])
            raise TimeoutError(f"not met within {timeout} s; last calls:\n  {recent}") from None

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Until a client has identified (READY and GUILD_CREATEs are on their way)."""
        await self.world.wait_for(lambda: self.gateway.ready, timeout)

    def calls_to(self, route: str) -> list[Call]:
        """Calls by discord.py route key: "PATCH /channels/{channel_id}/messages/{message_id}"."""
        return [c for c in self.calls if c.route == route]

    def count_429s(self) -> int:
        return sum(1 for c in self.calls if c.status == 429)

    def count_global_429s(self) -> int:
        """429s for the global limit (bot token, all routes): the body says "global": true."""
        return sum(1 for c in self.calls if c.status == 429 and c.reply.get("global") is True)

    def count_invalid_requests(self) -> int:
        """401, 403 and 429 answers: Discord bans a bot at 10,000 in 10 minutes."""
        return sum(1 for c in self.calls if c.status in (401, 403, 429))

    # internals

    def record_call(self, call: Call, *, unhandled: bool) -> None:
        self.calls.append(call)
        if unhandled:
            self.unhandled.append(call)
        self.world.changed()

    def _announce(self, event: str, data: dict[str, Any], intent: int | None) -> None:
        self.gateway.dispatch(event, data, intent)

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        attachment = self.world.attachments.get(int(request.match_info["attachment_id"]))
        if attachment is None:
            return web.Response(status=404)
        ctype = attachment.content_type or "application/octet-stream"
        return web.Response(body=attachment.content, headers={"Content-Type": ctype})
