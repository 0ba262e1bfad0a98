"""Messages as the fake keeps them: current state, who may see them, every version.

Tests read these (fake.messages(...), handle.original); `payload()` is what discord.py gets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .model import Channel, User, iso

EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_EMBEDS = 1 << 2
SUPPRESS_NOTIFICATIONS = 1 << 12
IS_COMPONENTS_V2 = 1 << 15


@dataclass(eq=False)
class Attachment:
    id: int
    filename: str
    content: bytes
    content_type: str | None = None
    description: str | None = None

    @property
    def size(self) -> int:
        return len(self.content)

    def payload(self, cdn: str, channel_id: int) -> dict[str, Any]:
        url = f"{cdn}/attachments/{channel_id}/{self.id}/{self.filename}"
        payload: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": url,
            "proxy_url": url,
            "content_type": self.content_type,
        }
        if self.description is not None:
            payload["description"] = self.description
        size = png_size(self.content)
        if size is not None:  # Discord measures images it can read, as here PNGs
            payload["width"], payload["height"] = size
        return payload


def png_size(content: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk, or None for anything else."""
    if content[:8] != b"\x89PNG\r\n\x1a\n" or content[12:16] != b"IHDR":
        return None
    return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")


@dataclass(frozen=True)
class MessageVersion:
    """One state of a message; `Message.history` lists them, first as created, last current."""

    content: str
    embeds: tuple[dict[str, Any], ...]
    components: tuple[dict[str, Any], ...]
    attachments: tuple[str, ...]
    flags: int
    at: float  # time.monotonic()


@dataclass(eq=False)
class Message:
    id: int
    channel: Channel
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    flags: int = 0
    type: int = 0
    visible_to: frozenset[int] | None = None  # None: everyone in the channel
    interaction: dict[str, Any] | None = None  # interaction_metadata
    webhook_id: int | None = None
    reference_id: int | None = None
    created_at: float = field(default_factory=time.time)
    born: float = field(default_factory=time.monotonic)  # the fake's clock, for edit age
    edited_at: float | None = None
    deleted: bool = False
    mention_everyone: bool = False
    mentioned_user_ids: tuple[int, ...] = ()
    mentioned_role_ids: tuple[int, ...] = ()
    reactions: dict[str, set[int]] = field(default_factory=dict)
    history: list[MessageVersion] = field(default_factory=list)

    @property
    def channel_id(self) -> int:
        return self.channel.id

    @property
    def author_id(self) -> int:
        return self.author.id

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """A deferred response still "thinking"."""
        return bool(self.flags & LOADING)

    def visible_for(self, user_id: int) -> bool:
        return self.visible_to is None or user_id in self.visible_to

    def components_flat(self) -> list[dict[str, Any]]:
        """Every component, nested ones included (action rows, containers, sections)."""
        found: list[dict[str, Any]] = []

        def walk(items: list[dict[str, Any]]) -> None:
            for item in items:
                found.append(item)
                walk(item.get("components", []))
                if "accessory" in item:
                    walk([item["accessory"]])

        walk(self.components)
        return found

    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in self.components_flat() if "custom_id" in c]

    def snapshot(self) -> None:
        self.history.append(
            MessageVersion(
                self.content,
                tuple(self.embeds),
                tuple(self.components),
                tuple(a.filename for a in self.attachments),
                self.flags,
                time.monotonic(),
            )
        )

    def payload(self, cdn: str, users: dict[int, User]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel.id),
            "author": self.author.payload(),
            "content": self.content,
            "timestamp": iso(self.created_at),
            "edited_timestamp": None if self.edited_at is None else iso(self.edited_at),
            "tts": False,
            "mention_everyone": self.mention_everyone,
            "mentions": [users[uid].payload() for uid in self.mentioned_user_ids if uid in users],
            "mention_roles": [str(rid) for rid in self.mentioned_role_ids],
            "attachments": [a.payload(cdn, self.channel.id) for a in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
        }
        if self.reactions:
            payload["reactions"] = [
                {"emoji": {"id": None, "name": name}, "count": len(who), "me": False}
                for name, who in self.reactions.items()
                if who
            ]
        if self.webhook_id is not None:
            payload["webhook_id"] = str(self.webhook_id)
            payload["application_id"] = str(self.webhook_id)
        if self.interaction is not None:
            payload["interaction_metadata"] = self.interaction
        if self.reference_id is not None:
            payload["message_reference"] = {
                "type": 0,
                "message_id": str(self.reference_id),
                "channel_id": str(self.channel.id),
            }
        return payload
