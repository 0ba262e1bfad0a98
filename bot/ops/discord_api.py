"""Pointing discord.py at the Discord API to use: the real one, or a compatible server."""

from __future__ import annotations

import discord
import discord.gateway
import discord.http
import yarl

from bot.config import Settings

DISCORD_API = "https://discord.com/api/v10"


def point_discord_at(settings: Settings) -> None:
    """Redirect discord.py to a Discord-compatible server (tests, local tooling)."""
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def api_base(settings: Settings) -> str:
    """Where REST calls go, for messages that say which server answered."""
    return settings.discord_api_base or DISCORD_API


def no_voice_warnings() -> None:
    """The bot has no voice; discord.py's warnings about voice libraries would only confuse the
    output of a command a person reads."""
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
