"""Bot-token REST routes: log-in, command sync, channel messages, DMs, members.

Interaction callbacks and interaction-token webhooks live in interactions.py.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .compose import apply_edit, check_upload, new_message
from .message import EPHEMERAL, Message
from .model import MIB, Channel
from .router import Reply, Req, route
from .rules import (
    DiscordError,
    cannot_dm,
    missing_access,
    not_author,
    old_message_edit,
    unknown_channel,
    unknown_command,
    unknown_message,
)
from .validate import validate_commands

if TYPE_CHECKING:
    from .server import FakeDiscord

DM_UPLOAD_LIMIT = 10 * MIB
SEND = (1 << 10) | (1 << 11)  # view channel, send messages
ATTACH_FILES = 1 << 15


def channel_of(fake: FakeDiscord, req: Req) -> Channel:
    channel = fake.world.channels.get(req.id("channel_id"))
    if channel is None or channel.deleted:
        raise unknown_channel()
    return channel


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


# command sync


def _scope(fake: FakeDiscord, req: Req) -> int | None:
    if req.id("application_id") != fake.world.application_id:
        raise DiscordError(403, 50001, "Missing Access")
    if "guild_id" not in req.params:
        return None
    guild_id = req.id("guild_id")
    if not any(g.id == guild_id for g in fake.world.guilds):
        raise missing_access()
    return guild_id


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
        limit = DM_UPLOAD_LIMIT
    else:
        perms = channel.guild.bot_member.resolved_permissions()
        needed = SEND | (ATTACH_FILES if req.files else 0)
        if perms & needed != needed:
            raise DiscordError(403, 50013, "Missing Permissions")
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
    message = channel_message(fake, channel_of(fake, req), req.id("message_id"))
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
    limit = channel.guild.upload_limit if channel.guild else DM_UPLOAD_LIMIT
    check_upload(req.files, limit, rules)
    apply_edit(fake.world, message, req.body, req.files, rules)
    return Reply(body=fake.world.message_payload(message))


@route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(fake: FakeDiscord, req: Req) -> Reply:
    message = channel_message(fake, channel_of(fake, req), req.id("message_id"))
    fake.world.delete_message(message)
    return Reply(204)


@route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
async def own_reaction(fake: FakeDiscord, req: Req) -> Reply:
    message = channel_message(fake, channel_of(fake, req), req.id("message_id"))
    who = message.reactions.setdefault(req.params["emoji"], set())
    if req.method == "PUT":
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
    guild = next((g for g in fake.world.guilds if g.id == req.id("guild_id")), None)
    if guild is None:
        raise DiscordError(404, 10004, "Unknown Guild")
    payload = guild.payload()
    for key in ("members", "channels", "threads", "presences", "voice_states"):
        payload.pop(key)
    return Reply(body=payload)


@route("GET", "/guilds/{guild_id}/channels")
async def get_guild_channels(fake: FakeDiscord, req: Req) -> Reply:
    guild = next((g for g in fake.world.guilds if g.id == req.id("guild_id")), None)
    if guild is None:
        raise DiscordError(404, 10004, "Unknown Guild")
    return Reply(body=[c.payload() for c in guild.channels if not c.deleted])


@route("GET", "/guilds/{guild_id}/members/{user_id}")
async def get_member(fake: FakeDiscord, req: Req) -> Reply:
    guild = next((g for g in fake.world.guilds if g.id == req.id("guild_id")), None)
    if guild is None:
        raise DiscordError(404, 10004, "Unknown Guild")
    member = guild.member(req.id("user_id"))
    if member is None:
        raise DiscordError(404, 10007, "Unknown Member")
    return Reply(body=member.payload())
