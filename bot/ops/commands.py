"""Syncing the command tree to Discord only when it changed since the last sync.

Discord limits command syncs (the global ones by the day), so each scope's last synced tree is
kept as a digest in the meta table: `commands.global`, `commands.guild.<id>`. Start-up syncs a
scope whose digest differs; `python -m bot sync` syncs regardless and records the digest. A
tree removed on Discord's side (by hand, or by another program with the same token) is not
noticed by the digest: that is what `python -m bot sync` is for.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import discord
from discord import app_commands

from db.meta import MetaRepo

log = logging.getLogger(__name__)


def scope_name(guild_id: int | None) -> str:
    return "global" if guild_id is None else f"guild {guild_id}"


def digest_key(guild_id: int | None) -> str:
    return "commands.global" if guild_id is None else f"commands.guild.{guild_id}"


def tree_digest(tree: app_commands.CommandTree[Any], guild_id: int | None) -> str:
    """The digest of what `tree.sync` would send to this scope (global commands copied into a
    guild scope, as start-up syncs them)."""
    guild = None if guild_id is None else discord.Object(guild_id)
    if guild is not None:
        tree.copy_global_to(guild=guild)  # idempotent: the same copies again
    payload = [c.to_dict(tree) for c in tree.get_commands(guild=guild)]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


async def sync_due(
    tree: app_commands.CommandTree[Any], meta: MetaRepo, guild_id: int | None
) -> bool:
    return await meta.get(digest_key(guild_id)) != tree_digest(tree, guild_id)


async def sync_scope(
    tree: app_commands.CommandTree[Any],
    meta: MetaRepo,
    guild_id: int | None,
    *,
    force: bool = False,
) -> bool:
    """Sync one scope (a guild id, or None for global) if its tree changed, or `force`;
    return whether it was synced. Discord's errors (a guild the bot is not in) propagate."""
    digest = tree_digest(tree, guild_id)
    if not force and await meta.get(digest_key(guild_id)) == digest:
        log.info("commands unchanged since the last sync (%s); not syncing", scope_name(guild_id))
        return False
    await tree.sync(guild=None if guild_id is None else discord.Object(guild_id))
    await meta.set(digest_key(guild_id), digest)
    log.info("commands synced (%s)", scope_name(guild_id))
    return True
