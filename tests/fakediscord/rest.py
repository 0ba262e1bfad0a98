"""Bot-token REST routes: log-in, the gateway's address, command sync, messages, DMs, members.

Channel routes check the bot's permissions in THAT channel (Rules.enforce_permissions) and
its membership of the guild (Rules.enforce_guild_membership), as Discord does.

Interaction callbacks and interaction-token webhooks live in interactions.py.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .compose import apply_edit, check_upload, new_message
from .message import EPHEMERAL, Message
from .model import Channel, Guild
from .router import Reply, Req, route
from .rules import (
    DiscordError,
    cannot_dm,
    missing_access,
    missing_permissions,
    not_author,
    old_message_edit,
    unknown_channel,
    unknown_command,
    unknown_message,
)
from .validate import validate_commands

if TYPE_CHECKING:
    from .server import FakeDiscord

ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16


def bot_permissions(fake: FakeDiscord, channel: Channel) -> int | None:
    """The bot's permissions in a guild channel (its roles, then the channel's overwrites);
    None where they are not checked (DMs, or Rules.enforce_permissions off)."""
    if channel.guild is None or not fake.rules.enforce_permissions:
        return None
    return channel.guild.bot_member.permissions_in(channel)


def require(fake: FakeDiscord, channel: Channel, needed: int) -> None:
    """403 / 50013 unless the bot has every bit of `needed` in the channel."""
    perms = bot_permissions(fake, channel)
    if perms is not None and perms & needed != needed:
        raise missing_permissions()


def check_member_of(fake: FakeDiscord, guild: Guild) -> None:
    """A guild the bot was removed from: 403 / 50001, as for any guild the bot is not in."""
    if fake.rules.enforce_guild_membership and not guild.bot_present:
        raise missing_access()


def channel_of(fake: FakeDiscord, req: Req) -> Channel:
    """The channel of a bot-token route: it exists, and the bot is in its guild and sees it."""
    channel = fake.world.channels.get(req.id("channel_id"))
    if channel is None or channel.deleted:
        raise unknown_channel()
    if channel.guild is not None:
        check_member_of(fake, channel.guild)
        perms = bot_permissions(fake, channel)
        if perms is not None and not perms & VIEW_CHANNEL:
            raise missing_access()
    return channel


def guild_of(fake: FakeDiscord, req: Req) -> Guild:
    guild = fake.world.guild(req.id("guild_id"))
    if guild is None:
        raise DiscordError(404, 10004, "Unknown Guild")
    check_member_of(fake, guild)
    return guild


def channel_message(fake: FakeDiscord, channel: Channel, message_id: int) -> Message:
    """A message as the bot token sees it: ephemeral ones do not exist there."""
    message = fake.world.messages.get(message_id)
    if message is None or message.deleted or message.channel is not channel:
        raise unknown_message()
    if fake.rules.enforce_ephemeral_access and message.flags & EPHEMERAL:
        raise unknown_message()
    return message


# log-in


@route("GET", "/users/@me")
async def get_me(fake: FakeDiscord, req: Req) -> Reply:
    me = fake.world.bot_user.payload()
    return Reply(body=me | {"verified": True, "mfa_enabled": False, "flags": 0, "locale": "en-US"})


@route("GET", "/users/{user_id}")
async def get_user(fake: FakeDiscord, req: Req) -> Reply:
    user = fake.world.users.get(req.id("user_id"))
    if user is None:
        raise DiscordError(404, 10013, "Unknown User")
    return Reply(body=user.payload())


@route("GET", "/oauth2/applications/@me")
async def get_application(fake: FakeDiscord, req: Req) -> Reply:
    world = fake.world
    return Reply(
        body={
            "id": str(world.application_id),
            "name": world.bot_user.name,
            "description": "",
            "icon": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": world.owner.payload(),
            "verify_key": "0" * 64,
            "flags": fake.application_flags,
            "bot": world.bot_user.payload(),
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "tags": [],
        }
    )


@route("GET", "/gateway/bot")
async def get_bot_gateway(fake: FakeDiscord, req: Req) -> Reply:
    # discord.py's AutoShardedClient without shard_count takes both the shard count and the
    # gateway URL from here (not DEFAULT_GATEWAY), so the URL must be the fake's own.
    return Reply(body=fake.gateway.bot_gateway())


# command sync


def _scope(fake: FakeDiscord, req: Req) -> int | None:
    if req.id("application_id") != fake.world.application_id:
        raise DiscordError(403, 50001, "Missing Access")
    if "guild_id" not in req.params:
        return None
    guild = fake.world.guild(req.id("guild_id"))
    if guild is None:
        raise missing_access()
    check_member_of(fake, guild)
    return guild.id


def _store(
    fake: FakeDiscord, scope: int | None, command: dict[str, Any], old_id: int | None
) -> dict[str, Any]:
    stored: dict[str, Any] = {"type": 1, "description": "", "options": []} | command
    stored |= {
        "id": str(old_id or fake.world.new_id()),
        "application_id": str(fake.world.application_id),
        "version": str(fake.world.new_id()),
        "default_permission": True,
    }
    if scope is not None:
        stored["guild_id"] = str(scope)
    return stored


@route("PUT", "/applications/{application_id}/commands")
@route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
async def put_commands(fake: FakeDiscord, req: Req) -> Reply:
    scope = _scope(fake, req)
    commands = req.json if isinstance(req.json, list) else []
    if fake.rules.validate_payloads:
        validate_commands(commands)
    # Discord keeps a command's id across overwrites when its name and type are unchanged.
    old = {(c["name"], c.get("type", 1)): int(c["id"]) for c in fake.world.commands.get(scope, [])}
    stored = [_store(fake, scope, c, old.get((c["name"], c.get("type", 1)))) for c in commands]
    fake.world.commands[scope] = stored
    fake.world.changed()
    return Reply(body=stored)


@route("GET", "/applications/{application_id}/commands")
@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
async def get_commands(fake: FakeDiscord, req: Req) -> Reply:
    return Reply(body=fake.world.commands.get(_scope(fake, req), []))


@route("POST", "/applications/{application_id}/commands")
@route("POST", "/applications/{application_id}/guilds/{guild_id}/commands")
async def upsert_command(fake: FakeDiscord, req: Req) -> Reply:
    scope = _scope(fake, req)
    if fake.rules.validate_payloads:
        validate_commands([req.body])
    commands = fake.world.commands.setdefault(scope, [])
    key = (req.body.get("name"), req.body.get("type", 1))
    old = next((c for c in commands if (c["name"], c.get("type", 1)) == key), None)
    stored = _store(fake, scope, req.body, int(old["id"]) if old else None)
    commands[:] = [c for c in commands if c is not old] + [stored]
    fake.world.changed()
    return Reply(200 if old else 201, stored)


def _command(fake: FakeDiscord, req: Req) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    commands = fake.world.commands.get(_scope(fake, req), [])
    found = next((c for c in commands if c["id"] == req.params["command_id"]), None)
    if found is None:
        raise unknown_command()
    return commands, found


@route("GET", "/applications/{application_id}/commands/{command_id}")
@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def get_command(fake: FakeDiscord, req: Req) -> Reply:
    return Reply(body=_command(fake, req)[1])


@route("PATCH", "/applications/{application_id}/commands/{command_id}")
@route("PATCH", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def edit_command(fake: FakeDiscord, req: Req) -> Reply:
    _, found = _command(fake, req)
    found.update(req.body)
    fake.world.changed()
    return Reply(body=found)


@route("DELETE", "/applications/{application_id}/commands/{command_id}")
@route("DELETE", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def delete_command(fake: FakeDiscord, req: Req) -> Reply:
    commands, found = _command(fake, req)
    commands.remove(found)
    fake.world.changed()
    return Reply(204)


# channels and messages


@route("GET", "/channels/{channel_id}")
async def get_channel(fake: FakeDiscord, req: Req) -> Reply:
    return Reply(body=channel_of(fake, req).payload())


@route("POST", "/channels/{channel_id}/typing")
async def typing(fake: FakeDiscord, req: Req) -> Reply:
    channel_of(fake, req)
    return Reply(204)


@route("POST", "/channels/{channel_id}/messages")
async def create_message(fake: FakeDiscord, req: Req) -> Reply:
    channel = channel_of(fake, req)
    if channel.guild is None:
        assert channel.recipient is not None
        if not channel.recipient.accepts_dms:
            raise cannot_dm()
        limit = fake.rules.dm_upload_limit
    else:
        require(fake, channel, SEND_MESSAGES | (ATTACH_FILES if req.files else 0))
        limit = channel.guild.upload_limit
    check_upload(req.files, limit, fake.rules)
    body = dict(req.body)
    body["flags"] = int(body.get("flags") or 0) & ~EPHEMERAL  # only interactions are ephemeral
    message = new_message(fake.world, channel, fake.world.bot_user, body, req.files, fake.rules)
    fake.world.add_message(message)
    return Reply(body=fake.world.message_payload(message))


@route("GET", "/channels/{channel_id}/messages")
async def history(fake: FakeDiscord, req: Req) -> Reply:
    channel = channel_of(fake, req)
    perms = bot_permissions(fake, channel)
    if perms is not None and not perms & READ_MESSAGE_HISTORY:
        return Reply(body=[])  # Discord: no messages at all without Read Message History
    limit = max(1, min(100, int(req.query.get("limit", 50))))
    found = [
        m for m in fake.world.channel_messages(channel) if not m.deleted and not m.flags & EPHEMERAL
    ]
    if "before" in req.query:
        found = [m for m in found if m.id < int(req.query["before"])]
    if "after" in req.query:
        found = [m for m in found if m.id > int(req.query["after"])][:limit]
    newest_first = list(reversed(found))[:limit]
    return Reply(body=[fake.world.message_payload(m) for m in newest_first])


@route("GET", "/channels/{channel_id}/messages/{message_id}")
async def get_message(fake: FakeDiscord, req: Req) -> Reply:
    channel = channel_of(fake, req)
    perms = bot_permissions(fake, channel)
    if perms is not None and not perms & READ_MESSAGE_HISTORY:
        raise missing_access()
    message = channel_message(fake, channel, req.id("message_id"))
    return Reply(body=fake.world.message_payload(message))


@route("PATCH", "/channels/{channel_id}/messages/{message_id}")
async def edit_message(fake: FakeDiscord, req: Req) -> Reply:
    channel = channel_of(fake, req)
    message = channel_message(fake, channel, req.id("message_id"))
    if message.author is not fake.world.bot_user:
        raise not_author()
    rules = fake.rules
    if rules.enforce_edit_age and time.monotonic() - message.born > rules.edit_age_limit:
        raise old_message_edit()
    limit = channel.guild.upload_limit if channel.guild else rules.dm_upload_limit
    check_upload(req.files, limit, rules)
    apply_edit(fake.world, message, req.body, req.files, rules)
    return Reply(body=fake.world.message_payload(message))


@route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(fake: FakeDiscord, req: Req) -> Reply:
    channel = channel_of(fake, req)
    message = channel_message(fake, channel, req.id("message_id"))
    if message.author is not fake.world.bot_user:
        require(fake, channel, MANAGE_MESSAGES)  # others' messages need Manage Messages
    fake.world.delete_message(message)
    return Reply(204)


@route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
async def own_reaction(fake: FakeDiscord, req: Req) -> Reply:
    channel = channel_of(fake, req)
    message = channel_message(fake, channel, req.id("message_id"))
    who = message.reactions.setdefault(req.params["emoji"], set())
    if req.method == "PUT":
        # Read Message History, and Add Reactions unless someone already reacted so.
        require(fake, channel, READ_MESSAGE_HISTORY | (0 if who else ADD_REACTIONS))
        who.add(fake.world.bot_user.id)
    else:
        who.discard(fake.world.bot_user.id)
    fake.world.changed()
    return Reply(204)


# DMs, guilds, members


@route("POST", "/users/@me/channels")
async def open_dm(fake: FakeDiscord, req: Req) -> Reply:
    user = fake.world.users.get(int(req.body.get("recipient_id") or 0))
    if user is None:
        raise DiscordError(400, 50033, "Invalid Recipient(s)")
    return Reply(body=fake.world.dm_channel(user).payload())


@route("GET", "/guilds/{guild_id}")
async def get_guild(fake: FakeDiscord, req: Req) -> Reply:
    guild = guild_of(fake, req)
    payload = guild.payload()
    for key in ("members", "channels", "threads", "presences", "voice_states"):
        payload.pop(key)
    return Reply(body=payload)


@route("GET", "/guilds/{guild_id}/channels")
async def get_guild_channels(fake: FakeDiscord, req: Req) -> Reply:
    guild = guild_of(fake, req)
    return Reply(body=[c.payload() for c in guild.channels if not c.deleted])


@route("GET", "/guilds/{guild_id}/members/{user_id}")
async def get_member(fake: FakeDiscord, req: Req) -> Reply:
    guild = guild_of(fake, req)
    member = guild.member(req.id("user_id"))
    if member is None:
        raise DiscordError(404, 10007, "Unknown Member")
    return Reply(body=member.payload())
