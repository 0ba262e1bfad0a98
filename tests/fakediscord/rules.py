"""Discord's rules that the fake enforces, each switchable, and the errors it answers with.

Values default to what Discord really does (see /work/shared/discord-notes.md); tests shrink
them (e.g. a 0.3 s deadline) to show a rule biting without waiting for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Rules:
    """Mutable at run time: the fake reads these on every request."""

    # First response to an interaction: later than this -> 404 / 10062 "Unknown interaction".
    enforce_deadline: bool = True
    response_deadline: float = 3.0
    # Interaction token lifetime: webhook calls after it -> 401 / 50027. The interaction id is
    # backdated so that discord.py's `expires_at` (snowflake time + 15 min) agrees.
    enforce_token_lifetime: bool = True
    token_lifetime: float = 900.0
    # Ephemeral messages are unreachable through /channels/... (404 / 10008).
    enforce_ephemeral_access: bool = True
    # Rate limits: fixed windows per bucket, real X-RateLimit-* headers, 429 with Via.
    enforce_rate_limits: bool = True
    message_bucket_limit: int = 5  # bot-token message create/edit, per channel
    message_bucket_window: float = 5.0
    webhook_bucket_limit: int = 5  # interaction-token webhook calls, per token
    webhook_bucket_window: float = 2.0
    default_bucket_limit: int = 50  # every other route, per route and major parameter
    default_bucket_window: float = 1.0
    # Discord's global limit: every bot-token request on any route counts (interaction-token
    # webhook and callback calls do not); over it -> 429 with "global": true. Independent of
    # enforce_rate_limits, and checked first: a globally limited request uses no route bucket.
    enforce_global_limit: bool = True
    global_limit: int = 50
    global_window: float = 1.0
    # Attachments larger than the guild's (or the interaction's) limit -> 413 / 40005. In DMs
    # the limit is Discord's default whatever the boost level of any server (bots have no Nitro).
    enforce_upload_limit: bool = True
    dm_upload_limit: int = 10 * 1024 * 1024
    # Bot-token channel routes check the bot's permissions IN that channel (roles, then the
    # channel's overwrites): no View Channel -> 403 / 50001; no Send Messages, Attach Files,
    # Add Reactions, or Manage Messages (deleting others' messages) -> 403 / 50013.
    enforce_permissions: bool = True
    # A guild the bot was removed from (FakeDiscord.remove_bot): its bot-token channel,
    # message, guild and guild-command routes answer 403 / 50001 "Missing Access".
    enforce_guild_membership: bool = True
    # Bot-token edits of messages older than this (fake clock) -> 400 / 30046.
    enforce_edit_age: bool = True
    edit_age_limit: float = 3600.0
    # Discord's payload limits (2000 chars, 25 choices, 10 embeds...) -> 400 / 50035.
    validate_payloads: bool = True


class DiscordError(Exception):
    """An error answer: HTTP status plus Discord's JSON error body."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


def not_found_route() -> DiscordError:
    return DiscordError(404, 0, "404: Not Found")


def unauthorized() -> DiscordError:
    return DiscordError(401, 0, "401: Unauthorized")


def unknown_channel() -> DiscordError:
    return DiscordError(404, 10003, "Unknown Channel")


def unknown_message() -> DiscordError:
    return DiscordError(404, 10008, "Unknown Message")


def unknown_webhook() -> DiscordError:
    return DiscordError(404, 10015, "Unknown Webhook")


def unknown_interaction() -> DiscordError:
    return DiscordError(404, 10062, "Unknown interaction")


def unknown_command() -> DiscordError:
    return DiscordError(404, 10063, "Unknown application command")


def invalid_webhook_token() -> DiscordError:
    return DiscordError(401, 50027, "Invalid Webhook Token")


def already_acknowledged() -> DiscordError:
    return DiscordError(400, 40060, "Interaction has already been acknowledged.")


def too_large() -> DiscordError:
    return DiscordError(413, 40005, "Request entity too large")


def old_message_edit() -> DiscordError:
    return DiscordError(
        400, 30046, "Maximum number of edits to messages older than 1 hour reached. Try again later"
    )


def missing_access() -> DiscordError:
    return DiscordError(403, 50001, "Missing Access")


def missing_permissions() -> DiscordError:
    return DiscordError(403, 50013, "Missing Permissions")


def not_author() -> DiscordError:
    return DiscordError(403, 50005, "Cannot edit a message authored by another user")


def cannot_dm() -> DiscordError:
    return DiscordError(403, 50007, "Cannot send messages to this user")


def empty_message() -> DiscordError:
    return DiscordError(400, 50006, "Cannot send an empty message")


def invalid_form(field: str, problem: str) -> DiscordError:
    """Discord's 50035 with the offending field named, as its `errors` tree does."""
    return DiscordError(
        400,
        50035,
        "Invalid Form Body",
        {field: {"_errors": [{"code": "BASE_TYPE_INVALID", "message": problem}]}},
    )
