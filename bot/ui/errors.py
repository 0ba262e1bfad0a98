"""The command tree's one error handler: what a member reads when a command fails.

Errors written for members (`UserFacingError`) are shown as they are; discord.py's own check
failures get a line each from the table; anything else is logged with a short code the member
can hand to an admin, and no traceback reaches Discord.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands

from bot.core.errors import UserFacingError
from bot.ui.checks import reply_ephemeral

log = logging.getLogger(__name__)

PERMISSION_NAMES = {"manage_guild": "Manage Server", "manage_messages": "Manage Messages"}


def _missing_permissions(error: app_commands.AppCommandError) -> str:
    assert isinstance(error, app_commands.MissingPermissions)
    names = [PERMISSION_NAMES.get(p, p) for p in error.missing_permissions]
    return f"You need the {' and '.join(names)} permission for that."


def _bad_value(error: app_commands.AppCommandError) -> str:
    assert isinstance(error, app_commands.TransformerError)
    return f"The value `{str(error.value)[:40]}` can't be used for that option."


# Checked in order; the first class the error is an instance of decides the reply.
STALE = "This command was just updated. Reload Discord (Ctrl+R) and try again."
EXPLAINED: tuple[tuple[type[app_commands.AppCommandError], Callable[[Any], str]], ...] = (
    (app_commands.NoPrivateMessage, lambda _: "This command only works in a server."),
    (app_commands.CommandSignatureMismatch, lambda _: STALE),
    (app_commands.CommandNotFound, lambda _: STALE),
    (app_commands.MissingPermissions, _missing_permissions),
    (app_commands.TransformerError, _bad_value),
)


def explain(interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> str:
    original = getattr(error, "original", error)
    if isinstance(original, UserFacingError):
        return original.message
    for kind, text in EXPLAINED:
        if isinstance(error, kind):
            return text(error)
    code = uuid.uuid4().hex[:8]
    log.error("error %s in /%s", code, interaction.command, exc_info=original)
    return (
        "Something went wrong on our side. If it keeps happening, "
        f"give a server admin this code: `{code}`."
    )


class SeedanceTree(app_commands.CommandTree[Any]):
    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        await reply_ephemeral(interaction, explain(interaction, error))
