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


async def test_video_choices_come_from_the_schemas(world: World, bot: Bot):
    """Every model's enums and ranges reach the options, read here from the files themselves."""
    models = Path(__file__).parents[2] / "bot/models"
    default = json.loads((models / "seedance-1-0-pro-fast-t2v.input.json").read_text())
    schemas = [json.loads(p.read_text()) for p in sorted(models.glob("*.input.json"))]
    metas = [json.loads(p.read_text()) for p in sorted(models.glob("*.meta.json"))]
    [video] = [c for c in world.fake.commands(world.guild) if c["name"] == "video"]
    options = {o["name"]: o for o in video["options"]}
    for name in ("resolution", "ratio"):
        offered = [c["value"] for c in options[name]["choices"]]
        schema_key = "ratio" if name == "ratio" else "resolution"
        # The default model's values come first, in its order; then every other model's.
        assert offered[: len(default["properties"][schema_key]["enum"])] == [
            str(v) for v in default["properties"][schema_key]["enum"]
        ]
        keys = [m.get("aspect_key") if name == "ratio" else m.get("resolution_key") for m in metas]
        every = {
            str(v).casefold()
            for schema, key in zip(schemas, keys, strict=True)
            if key
            for v in schema["properties"][key].get("enum", [])
        }
        assert {v.casefold() for v in offered} == every
    assert options["prompt"]["required"] and options["prompt"]["max_length"] >= 500
    durations = [
        n
        for schema in schemas
        for prop in [schema["properties"].get("duration", {})]
        for n in [*prop.get("enum", []), prop.get("minimum"), prop.get("maximum")]
        if isinstance(n, int)
    ]
    assert (options["duration"]["min_value"], options["duration"]["max_value"]) == (
        min(durations),
        max(durations),
    )
    picker = [c["name"] for c in options["model"]["choices"]]
    assert picker[0] == "Seedance 1.0 Pro Fast" and len(picker) == len(schemas)
