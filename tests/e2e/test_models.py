"""More than one video model, as members and admins meet them: picking a model, animating an
attached image, a model a server turned off, a bad attachment, and a model an operator added by
dropping two files into MODELS_DIR."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.catalog import Catalog
from bot.sandbox import Sandbox, SandboxConfig
from tests.e2e.conftest import SANDBOX_TOKEN, Bot, World
from tests.e2e.test_moderation import fields_of
from tests.e2e.test_quotas import ask_video, command, refusal, rows, start_video, used_by
from tests.e2e.test_video import result_message
from tests.fakediscord import Upload

WAN_I2V = "wan-ai-wan-3.0-image-to-video"
HAPPYHORSE = "alibaba-happyhorse-1.1-image-to-video"
FLUX = "blackforestlabs-flux-3-text-to-video"
ADDED = "acme-tiny-video"
ADDED_SCHEMA = {
    "type": "object",
    "properties": {
        "prompt": {"type": "string", "maxLength": 200},
        "length": {"type": "integer", "enum": [3, 6], "default": 3},
        "style": {"type": "string", "enum": ["clay", "ink"], "default": "clay"},
    },
    "required": ["prompt"],
}
ADDED_META = {
    "model_id": "acme/tiny-video/text-to-video",
    "display_name": "Acme Tiny Video",
    "kind": "text-to-video",
    "prompt_key": "prompt",
    "duration_key": "length",
    "credits_per_second": 3,
}


def png(width: int, height: int) -> bytes:
    """A real (grey) PNG of that size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / f"{ADDED}.input.json").write_text(json.dumps(ADDED_SCHEMA))
    (folder / f"{ADDED}.meta.json").write_text(json.dumps(ADDED_META))
    return folder


@pytest.fixture
async def generator(models_dir: Path) -> AsyncIterator[Sandbox]:
    config = SandboxConfig(token=SANDBOX_TOKEN, queue_seconds=0.6, run_seconds=1.0, concurrency=2)
    async with Sandbox(config, catalog=Catalog.load(extra=models_dir)) as sandbox:
        yield sandbox


@pytest.fixture
def bot_settings(models_dir: Path) -> dict[str, str]:
    return {"MODELS_DIR": str(models_dir), "QUOTA_CREDITS_PER_DAY": "1000"}


def submitted(generator: Sandbox, prompt: str) -> dict[str, object]:
    [job] = [j for j in generator.state.jobs.values() if j.payload.get("prompt") == prompt]
    return job.payload


async def test_an_image_to_video_job_sends_the_attached_image(
    world: World, bot: Bot, generator: Sandbox
):
    image = Upload("frame.png", png(640, 360), "image/png")
    options = {"model": WAN_I2V, "image": image, "resolution": "480p", "duration": 3}
    job_id, card = await start_video(world, world.alice, "the lighthouse comes alive", **options)
    assert fields_of(card)["Options"].startswith("Wan 3.0 image-to-video · 480p")
    await world.fake.wait_for(lambda: result_message(world, job_id), 30)
    payload = submitted(generator, "the lighthouse comes alive")
    assert str(payload["image_url"]).endswith("/frame.png") and "end_image_url" not in payload
    assert await used_by(bot, world.alice) == 3 * 4 * 1  # seconds x per second x 480p


async def test_a_bad_or_missing_attachment_is_refused_and_costs_nothing(
    world: World, bot: Bot, generator: Sandbox
):
    notes = Upload("notes.txt", b"not a picture", "text/plain")
    text = await refusal(await ask_video(world, world.alice, "x", model=WAN_I2V, image=notes))
    assert "`notes.txt` is not an image" in text and "Nothing was charged" in text
    text = await refusal(await ask_video(world, world.alice, "x", model=WAN_I2V))
    assert "needs an image" in text
    small = Upload("tiny.png", png(120, 120), "image/png")
    text = await refusal(await ask_video(world, world.alice, "x", model=HAPPYHORSE, image=small))
    assert "120×120 px" in text and "300 px" in text
    text = await refusal(await ask_video(world, world.alice, "x", image=small))
    assert "Seedance 1.0 Pro Fast has no image option" in text
    assert await rows(bot, "SELECT id FROM jobs") == []
    assert await used_by(bot, world.alice) == 0 and generator.state.count("submit") == 0


async def test_a_model_turned_off_in_a_server_is_refused_until_turned_on(
    world: World, bot: Bot, generator: Sandbox
):
    off = await command(
        world, world.admin, "quota-admin", "models", {"model": FLUX, "enabled": False}
    )
    assert off.content == "FLUX 3 is now off: /video refuses it, and nothing is charged."
    text = await refusal(await ask_video(world, world.alice, "neon rain", model=FLUX, duration=5))
    assert text.startswith("FLUX 3 is turned off in this server") and "Nothing was charged" in text
    assert await used_by(bot, world.alice) == 0 and generator.state.count("submit") == 0
    quota = (await command(world, world.alice, "quota", "show")).content
    assert "FLUX 3" not in quota and "Wan 3.0 image-to-video: 4 credits a second" in quota
    refused = await command(
        world,
        world.admin,
        "quota-admin",
        "models",
        {"model": "seedance-1-0-pro-fast-t2v", "enabled": False},
    )
    assert "can't be turned off" in refused.content

    await command(world, world.admin, "quota-admin", "models", {"model": FLUX, "enabled": True})
    job_id, card = await start_video(world, world.alice, "neon rain", model=FLUX, duration=5)
    assert fields_of(card)["Options"].startswith("FLUX 3 · ")
    await world.fake.wait_for(lambda: result_message(world, job_id), 30)
    assert submitted(generator, "neon rain")["duration"] == "5"  # FLUX takes it as text


async def test_a_model_added_as_two_files_is_offered_priced_made_and_delivered(
    world: World, bot: Bot, generator: Sandbox
):
    [video] = [c for c in world.fake.commands(world.guild) if c["name"] == "video"]
    options = {o["name"]: o for o in video["options"]}
    assert "Acme Tiny Video" in [c["name"] for c in options["model"]["choices"]]
    assert [c["value"] for c in options["style"]["choices"]] == ["clay", "ink"]
    raw = [  # a value outside the choices, as a modified client can send
        {"name": "prompt", "type": 3, "value": "a fox"},
        {"name": "model", "type": 3, "value": ADDED},
        {"name": "length", "type": 4, "value": 4},
    ]
    handle = await world.fake.invoke(world.alice, world.channel, "video", raw_options=raw)
    assert "must be one of 3, 6" in await refusal(handle)

    job_id, card = await start_video(
        world, world.alice, "a fox", model=ADDED, length=6, style="ink"
    )
    assert fields_of(card)["Cost"] == "18 credits"  # 6 s x 3 credits a second
    message = await world.fake.wait_for(lambda: result_message(world, job_id), 30)
    assert message.attachments
    assert submitted(generator, "a fox") == {"prompt": "a fox", "length": 6, "style": "ink"}
    [entry] = [e for e in generator.state.log if e.route == "submit"]
    assert "acme/tiny-video/text-to-video" in entry.path
