"""A fake Discord (REST + gateway) that the unmodified discord.py client connects to.

See server.FakeDiscord for the API; rules.Rules for the Discord rules it enforces.
"""

from .hands import InteractionHandle, Upload
from .message import EPHEMERAL, LOADING, Attachment, Message, MessageVersion
from .model import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_MEMBER_PERMISSIONS,
    MIB,
    VIEW_CHANNEL,
    Channel,
    Guild,
    Member,
    Overwrite,
    Role,
    User,
    shard_of,
)
from .router import Call
from .rules import DiscordError, Rules
from .server import FakeDiscord
from .state import Callback, InteractionRecord

__all__ = [
    "ADMINISTRATOR",
    "ALL_PERMISSIONS",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_MEMBER_PERMISSIONS",
    "EPHEMERAL",
    "LOADING",
    "MIB",
    "VIEW_CHANNEL",
    "Attachment",
    "Call",
    "Callback",
    "Channel",
    "DiscordError",
    "FakeDiscord",
    "Guild",
    "InteractionHandle",
    "InteractionRecord",
    "Member",
    "Message",
    "MessageVersion",
    "Overwrite",
    "Role",
    "Rules",
    "Upload",
    "User",
    "shard_of",
]
