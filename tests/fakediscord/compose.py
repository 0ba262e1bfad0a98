"""Building and editing messages from request bodies: attachments, flags, mentions, limits.

Shared by the bot-token channel routes and the interaction-token webhook routes, which differ
only in who may do what (see rest.py and interactions.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .message import (
    EPHEMERAL,
    IS_COMPONENTS_V2,
    SUPPRESS_EMBEDS,
    SUPPRESS_NOTIFICATIONS,
    Attachment,
    Message,
)
from .model import Channel, User
from .rules import Rules, too_large
from .state import World
from .validate import validate_message

CREATE_FLAGS = SUPPRESS_EMBEDS | EPHEMERAL | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2
EDIT_FLAGS = SUPPRESS_EMBEDS | IS_COMPONENTS_V2
USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")


@dataclass(frozen=True)
class UploadedFile:
    """A `files[n]` part of a multipart request."""

    index: int
    filename: str
    content: bytes
    content_type: str | None


def check_upload(files: list[UploadedFile], limit: int, rules: Rules) -> None:
    """Discord's limit applies per file (`attachment_size_limit`)."""
    if rules.enforce_upload_limit and any(len(f.content) > limit for f in files):
        raise too_large()


def _new_attachments(
    world: World, payload: dict[str, Any], files: list[UploadedFile]
) -> list[Attachment]:
    # discord.py describes each upload in `attachments` with id = its files[n] index.
    meta = {str(a.get("id")): a for a in payload.get("attachments") or []}
    attachments = []
    for upload in files:
        info = meta.get(str(upload.index), {})
        attachment = Attachment(
            world.new_id(),
            info.get("filename") or upload.filename,
            upload.content,
            upload.content_type,
            info.get("description"),
        )
        world.attachments[attachment.id] = attachment
        attachments.append(attachment)
    return attachments


def compute_mentions(message: Message) -> None:
    """Who gets pinged: what the content mentions, filtered by allowed_mentions."""
    allowed = message.allowed_mentions
    parse = ["users", "roles", "everyone"] if allowed is None else allowed.get("parse", [])
    listed_users = {int(u) for u in (allowed or {}).get("users", [])}
    listed_roles = {int(r) for r in (allowed or {}).get("roles", [])}
    users = [int(u) for u in USER_MENTION.findall(message.content)]
    roles = [int(r) for r in ROLE_MENTION.findall(message.content)]
    message.mentioned_user_ids = tuple(
        dict.fromkeys(u for u in users if "users" in parse or u in listed_users)
    )
    message.mentioned_role_ids = tuple(
        dict.fromkeys(r for r in roles if "roles" in parse or r in listed_roles)
    )
    message.mention_everyone = "everyone" in parse and (
        "@everyone" in message.content or "@here" in message.content
    )


def new_message(
    world: World,
    channel: Channel,
    author: User,
    payload: dict[str, Any],
    files: list[UploadedFile],
    rules: Rules,
    **extra: Any,
) -> Message:
    """A Message from a create payload (not yet added to the world)."""
    if rules.validate_payloads:
        validate_message(payload, creating=True, file_count=len(files))
    reference = (payload.get("message_reference") or {}).get("message_id")
    message = Message(
        world.new_id(),
        channel,
        author,
        content=str(payload.get("content") or ""),
        embeds=list(payload.get("embeds") or []),
        components=list(payload.get("components") or []),
        attachments=_new_attachments(world, payload, files),
        allowed_mentions=payload.get("allowed_mentions"),
        flags=int(payload.get("flags") or 0) & CREATE_FLAGS,
        type=19 if reference else 0,
        reference_id=int(reference) if reference else None,
        **extra,
    )
    compute_mentions(message)
    return message


def apply_edit(
    world: World,
    message: Message,
    payload: dict[str, Any],
    files: list[UploadedFile],
    rules: Rules,
) -> None:
    """Apply an edit payload: only the fields present change (Discord's PATCH semantics)."""
    if rules.validate_payloads:
        merged = {"flags": message.flags} | payload
        validate_message(merged, creating=False, file_count=len(files))
    if "content" in payload:
        message.content = str(payload["content"] or "")
    if "embeds" in payload:
        message.embeds = list(payload["embeds"] or [])
    if "components" in payload:
        message.components = list(payload["components"] or [])
    if "allowed_mentions" in payload:
        message.allowed_mentions = payload["allowed_mentions"]
    if payload.get("flags") is not None:
        # Only some flags are editable; ephemeral and loading are kept as they were.
        message.flags = (message.flags & ~EDIT_FLAGS) | (int(payload["flags"]) & EDIT_FLAGS)
    if "attachments" in payload:
        keep = {str(a.get("id")) for a in payload["attachments"] or []}
        kept = [a for a in message.attachments if str(a.id) in keep]
        message.attachments = kept + _new_attachments(world, payload, files)
    elif files:
        message.attachments = message.attachments + _new_attachments(world, payload, files)
    compute_mentions(message)
    world.message_edited(message)
