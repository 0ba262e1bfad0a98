"""A member's hands: slash commands, button presses, autocomplete typing, modal submits.

Interactions are built from the commands the bot SYNCED (option types come from the stored
JSON), as Discord builds them. A normal client cannot send a value outside the declared
choices or bounds, so `options=` refuses those; `raw_options=` sends anything at all.
"""

from __future__ import annotations

import asyncio
import datetime
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .message import Attachment, Message
from .model import (
    ADMINISTRATOR,
    DEFAULT_BOT_PERMISSIONS,
    VIEW_CHANNEL,
    Channel,
    Member,
    Role,
    User,
    snowflake_time,
)
from .state import Callback, InteractionRecord

if TYPE_CHECKING:
    from .server import FakeDiscord

DISCORD_TOKEN_MINUTES = 15  # discord.py's expires_at: snowflake time + 15 minutes
SELECTS = (3, 5, 6, 7, 8)
USE_APPLICATION_COMMANDS = 1 << 31


@dataclass(frozen=True)
class Upload:
    """A file a member attaches to an attachment option."""

    filename: str
    content: bytes
    content_type: str | None = None


class InteractionHandle:
    """What a test holds after a member acted: the callback, the original, the followups."""

    def __init__(self, fake: FakeDiscord, record: InteractionRecord) -> None:
        self._fake = fake
        self.record = record

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def token(self) -> str:
        return self.record.token

    @property
    def payload(self) -> dict[str, Any]:
        return self.record.payload

    @property
    def callbacks(self) -> list[Callback]:
        return list(self.record.callbacks)

    @property
    def expires_at(self) -> datetime.datetime:
        """When the fake expires the token; equals discord.py's `interaction.expires_at`."""
        created = datetime.datetime.fromtimestamp(snowflake_time(self.id), datetime.UTC)
        return created + datetime.timedelta(minutes=DISCORD_TOKEN_MINUTES)

    async def response(self, timeout: float = 5.0) -> Callback:
        """The first callback the bot sent (even a refused one: see `.status`)."""
        assert self.record.first_callback is not None
        return await asyncio.wait_for(asyncio.shield(self.record.first_callback), timeout)

    @property
    def original(self) -> Message | None:
        return self._fake.world.messages.get(self.record.original_id or 0)

    @property
    def followups(self) -> list[Message]:
        return [self._fake.world.messages[i] for i in self.record.followup_ids]

    async def wait_original(
        self, predicate: Callable[[Message], bool] = lambda m: True, timeout: float = 10.0
    ) -> Message:
        """The original response once it exists and satisfies `predicate`."""

        def check() -> Message | None:
            message = self.original
            return message if message is not None and predicate(message) else None

        return await self._fake.wait_for(check, timeout)


def _member_and_user(actor: Member | User, channel: Channel) -> tuple[Member | None, User]:
    user = actor.user if isinstance(actor, Member) else actor
    if channel.guild is None:
        return None, user
    if not channel.guild.bot_present:
        raise ValueError(
            f"the bot is not in {channel.guild.name}: no interaction can come from there"
        )
    member = channel.guild.member(user.id)
    if member is None:
        raise ValueError(f"{user.name} is not a member of {channel.guild.name}")
    return member, user


def new_record(
    fake: FakeDiscord,
    kind: int,
    actor: Member | User,
    channel: Channel,
    data: dict[str, Any],
    *,
    locale: str = "en-US",
    source: Message | None = None,
) -> InteractionRecord:
    """An interaction payload as Discord sends it, with its id backdated to the token lifetime."""
    world, lifetime = fake.world, fake.rules.token_lifetime
    member, user = _member_and_user(actor, channel)
    guild = channel.guild
    # In a guild: the member's and the bot's permissions IN this channel (overwrites included).
    perms = member.permissions_in(channel) if member else 0
    if member is not None and not perms & VIEW_CHANNEL:
        raise PermissionError(f"{member.name} cannot see #{channel.name}: nothing to interact with")
    # discord.py computes expires_at = snowflake time + 15 min; make that the fake's expiry.
    interaction_id = world.new_id(at=time.time() - (DISCORD_TOKEN_MINUTES * 60 - lifetime))
    limit = guild.upload_limit if guild else fake.rules.dm_upload_limit
    app_perms = guild.bot_member.permissions_in(channel) if guild else DEFAULT_BOT_PERMISSIONS
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(world.application_id),
        "type": kind,
        "token": f"fake-itk-{secrets.token_urlsafe(32)}",
        "version": 1,
        "data": data,
        "channel_id": str(channel.id),
        "channel": channel.payload() | {"permissions": str(perms)},
        "app_permissions": str(app_perms),
        "locale": locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": limit,
        "authorizing_integration_owners": {"0": str(guild.id) if guild else "0"},
        "context": 0 if guild else 1,
    }
    if guild is not None and member is not None:
        payload["guild_id"] = str(guild.id)
        payload["guild_locale"] = guild.locale
        payload["guild"] = {"id": str(guild.id), "locale": guild.locale, "features": []}
        payload["member"] = member.payload(permissions=perms)
    else:
        payload["user"] = user.payload()
    if source is not None:
        payload["message"] = world.message_payload(source)
    return InteractionRecord(
        interaction_id,
        payload["token"],
        kind,
        user,
        member,
        channel,
        payload,
        lifetime,
        limit,
        source_message_id=source.id if source else None,
    )


async def deliver(
    fake: FakeDiscord, record: InteractionRecord, timeout: float
) -> InteractionHandle:
    guild = record.channel.guild
    gateway = fake.gateway
    # Sharded clients identify one by one: wait for the one with this guild's shard, not just
    # any, or a test that acts right after the first READY would fail by chance.
    try:
        await fake.world.wait_for(lambda: gateway.ready_for(guild.id if guild else None), timeout)
    except TimeoutError:
        if not gateway.ready:
            raise
        shards = [s.shard for s in gateway.sessions if s.identified]
        where = f"guild {guild.id}" if guild else "a DM (shard 0)"
        raise RuntimeError(f"no identified gateway session has {where}; shards: {shards}") from None
    record.first_callback = asyncio.get_running_loop().create_future()
    record.sent_at = time.monotonic()
    fake.world.interactions[record.id] = record
    fake.world.by_token[record.token] = record
    if not fake.gateway.dispatch("INTERACTION_CREATE", record.payload):
        raise RuntimeError("no identified gateway session to deliver the interaction to")
    fake.world.changed()
    return InteractionHandle(fake, record)


def ensure_usable(command: dict[str, Any], actor: Member | User, channel: Channel) -> None:
    """Discord hides a command from who may not use it there; a client cannot invoke it.

    In a guild that is decided on the member's permissions in THAT channel (overwrites
    included): Use Application Commands, and the command's `default_member_permissions`."""
    contexts = command.get("contexts")
    if channel.guild is None:
        if command.get("dm_permission") is False or (contexts and 1 not in contexts):
            raise PermissionError(f"/{command['name']} is not available in DMs")
        return
    if contexts and 0 not in contexts:
        raise PermissionError(f"/{command['name']} is not available in guilds")
    required = command.get("default_member_permissions")
    member, _ = _member_and_user(actor, channel)
    if member is None:
        return
    have = member.permissions_in(channel)
    if not have & USE_APPLICATION_COMMANDS:
        raise PermissionError(f"{member.name} may not use application commands here")
    if required is None:
        return
    # "0" means: administrators only.
    needed = int(required) or ADMINISTRATOR
    if have & needed != needed:
        raise PermissionError(f"{member.name} lacks the permissions /{command['name']} requires")


def leaf_schema(
    command: dict[str, Any], subcommand: str | None
) -> tuple[list[tuple[str, int]], list[dict[str, Any]]]:
    """The (name, type) path through groups/subcommands and the leaf's option schema."""
    options: list[dict[str, Any]] = command.get("options") or []
    path: list[tuple[str, int]] = []
    for part in subcommand.split() if subcommand else []:
        found = next((o for o in options if o["name"] == part and o["type"] in (1, 2)), None)
        if found is None:
            raise LookupError(f"/{command['name']} has no subcommand {part!r}")
        path.append((part, found["type"]))
        options = found.get("options") or []
    if any(o["type"] in (1, 2) for o in options):
        raise ValueError(f"/{command['name']} {subcommand or ''}: name a subcommand")
    return path, options


def nest(path: list[tuple[str, int]], leaf: list[dict[str, Any]]) -> list[dict[str, Any]]:
    options = leaf
    for name, kind in reversed(path):
        options = [{"name": name, "type": kind, "options": options}]
    return options


def _check_bounds(schema: dict[str, Any], value: Any) -> None:
    name = schema["name"]
    choices = schema.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise ValueError(f"{name}={value!r} is not a declared choice (use raw_options=)")
    low, high = schema.get("min_value"), schema.get("max_value")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name}={value!r} is outside [{low}, {high}] (use raw_options=)")
    low, high = schema.get("min_length"), schema.get("max_length")
    if isinstance(value, str) and (
        (low is not None and len(value) < low) or (high is not None and len(value) > high)
    ):
        raise ValueError(f"{name}={value!r} length is outside [{low}, {high}]")


def _resolve(
    fake: FakeDiscord,
    channel: Channel,
    value: Any,
    resolved: dict[str, dict[str, Any]],
    actor: Member | None,
) -> str:
    """Snowflake options: the id as value plus the object in `resolved`, as Discord sends.

    A resolved member carries their permissions in the interaction's channel; a resolved
    channel the invoking member's permissions in that channel."""
    if isinstance(value, Member):
        resolved.setdefault("users", {})[str(value.id)] = value.user.payload()
        in_channel = value.permissions_in(channel) if channel.guild is value.guild else 0
        member = value.payload(permissions=in_channel)
        del member["user"]
        resolved.setdefault("members", {})[str(value.id)] = member
        return str(value.id)
    if isinstance(value, User):
        resolved.setdefault("users", {})[str(value.id)] = value.payload()
        return str(value.id)
    if isinstance(value, Role):
        resolved.setdefault("roles", {})[str(value.id)] = value.payload()
        return str(value.id)
    if isinstance(value, Channel):
        seen = actor.permissions_in(value) if actor and value.guild is actor.guild else 0
        entry = value.payload() | {"permissions": str(seen)}
        resolved.setdefault("channels", {})[str(value.id)] = entry
        return str(value.id)
    if isinstance(value, Upload):
        attachment = Attachment(
            fake.world.new_id(), value.filename, value.content, value.content_type
        )
        fake.world.attachments[attachment.id] = attachment
        entry = attachment.payload(fake.world.cdn, channel.id) | {"ephemeral": True}
        resolved.setdefault("attachments", {})[str(attachment.id)] = entry
        return str(attachment.id)
    return str(int(value))


def _invoker(actor: Member | User | None, channel: Channel) -> Member | None:
    if actor is None or channel.guild is None:
        return None
    return channel.guild.member(actor.id)


def convert_options(
    fake: FakeDiscord,
    channel: Channel,
    schema: list[dict[str, Any]],
    values: Mapping[str, Any],
    resolved: dict[str, dict[str, Any]],
    *,
    focused: str | None = None,
    actor: Member | User | None = None,
) -> list[dict[str, Any]]:
    """Typed option values; `actor` (who invokes) sets the permissions of resolved channels."""
    invoker = _invoker(actor, channel)
    by_name = {o["name"]: o for o in schema}
    unknown = set(values) - set(by_name)
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)} (declared: {sorted(by_name)})")
    missing = [o["name"] for o in schema if o.get("required") and o["name"] not in values]
    if missing and focused is None:
        raise ValueError(f"required options missing: {missing}")
    options = []
    for name, value in values.items():
        kind = by_name[name]["type"]
        if name == focused:
            # The focused option carries the raw text being typed, whatever its type.
            options.append({"name": name, "type": kind, "value": str(value), "focused": True})
            continue
        if kind == 3:
            value = str(value)
        elif kind == 4:
            value = int(value)
        elif kind == 10:
            value = value if isinstance(value, int | float) else float(value)
        elif kind == 5:
            value = bool(value)
        else:
            value = _resolve(fake, channel, value, resolved, invoker)
        if kind in (3, 4, 10) and not by_name[name].get("autocomplete") and focused is None:
            _check_bounds(by_name[name], value)
        options.append({"name": name, "type": kind, "value": value})
    return options
