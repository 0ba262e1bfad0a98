"""The public interface: the command tree the bot registers, checked against a reviewed snapshot.

A change to a name, option, choice, limit or permission fails here until the snapshot is
regenerated on purpose: `UPDATE_SNAPSHOTS=1 python -m pytest tests/e2e/test_commands.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Bot, World

SNAPSHOT = Path(__file__).with_name("command_tree.json")
# Assigned by Discord (here: the fake), not chosen by the bot.
VOLATILE = {"id", "application_id", "guild_id", "version"}


def normalise(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: normalise(v) for k, v in sorted(node.items()) if k not in VOLATILE}
    if isinstance(node, list):
        return [normalise(v) for v in node]
    return node


async def test_the_command_tree_matches_the_reviewed_snapshot(world: World, bot: Bot):
    synced = sorted(normalise(world.fake.commands(world.guild)), key=lambda c: c["name"])
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(synced, indent=2, ensure_ascii=False) + "\n")
    assert synced == json.loads(SNAPSHOT.read_text())


async def test_commands_are_synced_to_the_configured_guild_only(world: World, bot: Bot):
    names = [c["name"] for c in world.fake.commands(world.guild)]
    assert len(names) == len(set(names))
    assert {"video", "jobs", "quota", "quota-admin", "blocklist"} <= set(names)
    assert world.fake.commands(None) == []  # no global sync (a daily quota) when guilds are set


async def test_video_choices_come_from_the_schema(world: World, bot: Bot):
    schema = json.loads(
        (Path(__file__).parents[2] / "bot/models/seedance-1-0-pro-fast-t2v.input.json").read_text()
    )["properties"]
    [video] = [c for c in world.fake.commands(world.guild) if c["name"] == "video"]
    options = {o["name"]: o for o in video["options"]}
    for name in ("resolution", "ratio"):
        assert [c["value"] for c in options[name]["choices"]] == schema[name]["enum"]
    assert options["prompt"]["max_length"] == schema["text"]["maxLength"]
    assert (options["duration"]["min_value"], options["duration"]["max_value"]) == (
        min(schema["duration"]["enum"]),
        max(schema["duration"]["enum"]),
    )
