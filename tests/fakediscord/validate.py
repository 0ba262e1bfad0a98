"""Discord's payload limits, answered with 400 / 50035 as Discord does (Rules.validate_payloads).

These are the limits a bot meets in production and not in a mock: 2000-character content
(prompts echoed back), 25 choices per option (sync fails), 100-character custom ids.
"""

from __future__ import annotations

import re
from typing import Any

from .message import IS_COMPONENTS_V2
from .rules import empty_message, invalid_form

NAME = re.compile(r"^[-_\w]{1,32}$")
EMBED_LIMITS = {"title": 256, "description": 4096}


def _length(field: str, value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        raise invalid_form(field, f"Must be {limit} or fewer in length.")


def validate_embeds(embeds: list[dict[str, Any]]) -> None:
    if len(embeds) > 10:
        raise invalid_form("embeds", "Must be 10 or fewer in length.")
    for i, embed in enumerate(embeds):
        total = 0
        for key, limit in EMBED_LIMITS.items():
            _length(f"embeds.{i}.{key}", embed.get(key), limit)
            total += len(embed.get(key) or "")
        fields = embed.get("fields", [])
        if len(fields) > 25:
            raise invalid_form(f"embeds.{i}.fields", "Must be 25 or fewer in length.")
        for j, item in enumerate(fields):
            _length(f"embeds.{i}.fields.{j}.name", item.get("name"), 256)
            _length(f"embeds.{i}.fields.{j}.value", item.get("value"), 1024)
            total += len(item.get("name") or "") + len(item.get("value") or "")
        _length(f"embeds.{i}.footer.text", (embed.get("footer") or {}).get("text"), 2048)
        _length(f"embeds.{i}.author.name", (embed.get("author") or {}).get("name"), 256)
        total += len((embed.get("footer") or {}).get("text") or "")
        total += len((embed.get("author") or {}).get("name") or "")
        if total > 6000:
            raise invalid_form("embeds", "Embed size exceeds maximum size of 6000")


def validate_components(components: list[dict[str, Any]], flags: int) -> None:
    if not flags & IS_COMPONENTS_V2 and len(components) > 5:
        raise invalid_form("components", "Must be 5 or fewer in length.")
    for i, row in enumerate(components):
        children = row.get("components", [])
        if row.get("type") == 1 and len(children) > 5:
            raise invalid_form(f"components.{i}.components", "Must be 5 or fewer in length.")
        for j, child in enumerate(children):
            where = f"components.{i}.components.{j}"
            _length(f"{where}.custom_id", child.get("custom_id"), 100)
            _length(f"{where}.label", child.get("label"), 80)
            needs_id = child.get("type") == 2 and child.get("style") not in (5, 6)
            if needs_id and not child.get("custom_id"):
                raise invalid_form(f"{where}.custom_id", "A custom id is required")


def validate_message(payload: dict[str, Any], *, creating: bool, file_count: int) -> None:
    _length("content", payload.get("content"), 2000)
    validate_embeds(payload.get("embeds") or [])
    validate_components(payload.get("components") or [], int(payload.get("flags") or 0))
    has_body = (
        payload.get("content")
        or payload.get("embeds")
        or payload.get("components")
        or payload.get("poll")
        or payload.get("sticker_ids")
        or file_count
    )
    if creating and not has_body:
        raise empty_message()


def validate_choices(choices: list[dict[str, Any]], field: str = "choices") -> None:
    if len(choices) > 25:
        raise invalid_form(field, "Must be 25 or fewer in length.")
    for i, choice in enumerate(choices):
        name = choice.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise invalid_form(f"{field}.{i}.name", "Must be between 1 and 100 in length.")
        _length(f"{field}.{i}.value", choice.get("value"), 100)


def _validate_options(options: list[dict[str, Any]], where: str) -> None:
    if len(options) > 25:
        raise invalid_form(where, "Must be 25 or fewer in length.")
    seen_optional = False
    for i, option in enumerate(options):
        here = f"{where}.{i}"
        if not NAME.match(option.get("name", "")) or option["name"] != option["name"].lower():
            raise invalid_form(f"{here}.name", "Command name is invalid")
        if not 1 <= len(option.get("description", "")) <= 100:
            raise invalid_form(f"{here}.description", "Must be between 1 and 100 in length.")
        validate_choices(option.get("choices") or [], f"{here}.choices")
        if option.get("type") in (1, 2):
            _validate_options(option.get("options") or [], f"{here}.options")
        elif option.get("required"):
            if seen_optional:
                raise invalid_form(f"{here}.required", "Required options must be placed first")
        else:
            seen_optional = True


def validate_commands(commands: list[dict[str, Any]]) -> None:
    if len(commands) > 100:
        raise invalid_form("commands", "Must be 100 or fewer in length.")
    seen: set[tuple[str, int]] = set()
    for i, command in enumerate(commands):
        kind = int(command.get("type", 1))
        name = command.get("name", "")
        if (name, kind) in seen:
            raise invalid_form(f"{i}.name", "Application command names must be unique")
        seen.add((name, kind))
        if kind == 1:
            if not NAME.match(name) or name != name.lower():
                raise invalid_form(f"{i}.name", "Command name is invalid")
            if not 1 <= len(command.get("description", "")) <= 100:
                raise invalid_form(f"{i}.description", "Must be between 1 and 100 in length.")
            _validate_options(command.get("options") or [], f"{i}.options")
        elif not 1 <= len(name) <= 32:
            raise invalid_form(f"{i}.name", "Must be between 1 and 32 in length.")
