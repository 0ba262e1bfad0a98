"""The sandbox takes every model of its catalog, each checked against its own schema, over HTTP."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Secret
from bot.core.catalog import Catalog
from bot.core.model_meta import MediaInput
from bot.core.schema import ModelSpec, VideoRequest
from bot.runcomfy import InvalidInput, RunComfyClient, UnknownModel
from bot.sandbox import Sandbox, SandboxConfig

TOKEN = "sandbox-models-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CATALOG = Catalog.shipped()
SPECS = list(CATALOG)
IMAGE_URL = "https://cdn.discordapp.com/attachments/1/2/boat.png?ex=1&hm=2"
IMAGE = MediaInput(IMAGE_URL, "image/png", 400_000, 1280, 720, "boat.png")


def request_for(spec: ModelSpec, **options: object) -> VideoRequest:
    media = {name: IMAGE for name, key in spec.options.items() if key in spec.meta.media}
    result = spec.from_options({"prompt": "a paper boat", **media, **options})
    assert isinstance(result, VideoRequest), result
    return result


def minimal_body(spec: ModelSpec) -> dict[str, Any]:
    body: dict[str, Any] = {spec.prompt_key: "a paper boat"}
    body.update({k: IMAGE_URL for k in spec.required if k in spec.meta.media})
    return body


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    config = SandboxConfig(token=TOKEN, queue_seconds=0.05, run_seconds=0.05, paused=True)
    async with Sandbox(config) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(http: aiohttp.ClientSession, url: str, body: Any) -> tuple[int, Any]:
    async with http.post(url, json=body, headers=AUTH) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
async def test_a_submit_for_each_shipped_model_is_accepted_as_sent(
    sandbox: Sandbox, http: aiohttp.ClientSession, spec: ModelSpec
) -> None:
    for body in (request_for(spec).payload(), minimal_body(spec)):
        status, answer = await post(http, f"{sandbox.url}/v1/models/{spec.path}", body)
        assert status == 200, answer
        assert sandbox.state.jobs[answer["request_id"]].payload == body


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
async def test_the_client_submits_each_model_and_gets_a_video(
    sandbox: Sandbox, http: aiohttp.ClientSession, spec: ModelSpec
) -> None:
    client = RunComfyClient(http, base_url=sandbox.url, token=Secret(TOKEN), timeout=2.0)
    submission = await client.submit(spec.path, request_for(spec).payload())
    sandbox.state.set_status(submission.request_id, "completed")
    result = await client.result(submission.request_id)
    assert result.video_url and result.video_url.endswith(f"{submission.request_id}.mp4")


@pytest.mark.parametrize(
    "path",
    [
        "bytedance/seedance-2.5/text-to-video/4k",  # a real model, not in this catalog
        "wan-ai/wan-3.0/image-to-video/extra",
        "blackforestlabs/flux-3",
    ],
)
async def test_an_unknown_model_is_400001(
    sandbox: Sandbox, http: aiohttp.ClientSession, path: str
) -> None:
    status, answer = await post(http, f"{sandbox.url}/v1/models/{path}", {"prompt": "x"})
    assert status == 400 and answer["error_code"] == 400001
    assert not sandbox.state.jobs


FLUX = "blackforestlabs-flux-3-text-to-video"
S25I = "bytedance-seedance-2.5-image-to-video-720p"
WAN = "wan-ai-wan-3.0-image-to-video"
HH = "alibaba-happyhorse-1.1-image-to-video"


@pytest.mark.parametrize(
    ("key", "change", "field"),
    [
        (FLUX, {"text": "x"}, "text"),  # Seedance 1.0's prompt key, not FLUX's
        (FLUX, {"duration": 5}, "duration"),  # a string enum: "5"
        (FLUX, {"generate_audio": "true"}, "generate_audio"),
        (FLUX, {"safety_tolerance": 9}, "safety_tolerance"),
        (S25I, {"aspect_ratio": "16:9"}, "aspect_ratio"),
        (S25I, {"image": None}, "image"),
        (S25I, {"image": "ftp://host/boat.png"}, "image"),
        (WAN, {"enable_audio": 1}, "enable_audio"),
        (WAN, {"seed": 2**31}, "seed"),
        (WAN, {"end_image_url": "not a url"}, "end_image_url"),
        (HH, {"resolution": "720p"}, "resolution"),  # the schema says 720P
        (HH, {"image_url": " " + IMAGE_URL}, "image_url"),
    ],
)
async def test_a_wrong_field_is_422001(
    sandbox: Sandbox, http: aiohttp.ClientSession, key: str, change: dict[str, Any], field: str
) -> None:
    spec = CATALOG.get(key)
    assert spec is not None
    body = {**minimal_body(spec), **change}
    status, answer = await post(http, f"{sandbox.url}/v1/models/{spec.path}", body)
    assert status == 422 and answer["error_code"] == 422001, answer
    assert ["body", field] in [d["loc"] for d in answer["detail"]]
    assert not sandbox.state.jobs


async def test_a_missing_image_is_named(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    spec = CATALOG.get(WAN)
    assert spec is not None
    status, answer = await post(http, f"{sandbox.url}/v1/models/{spec.path}", {"prompt": "x"})
    assert status == 422
    assert {"loc": ["body", "image_url"], "msg": "Field required", "type": "missing"} in answer[
        "detail"
    ]


async def test_the_client_sees_unknown_model_and_invalid_input(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    client = RunComfyClient(http, base_url=sandbox.url, token=Secret(TOKEN), timeout=2.0)
    with pytest.raises(UnknownModel):
        await client.submit("acme/dream-1/text-to-video", {"prompt": "x"})
    with pytest.raises(InvalidInput):
        await client.submit(CATALOG.default.path, {"prompt": "x"})


async def test_a_sandbox_given_another_catalog_takes_its_models(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    folder = tmp_path / "models"
    shutil.copytree(Path(str(resources.files("bot.models"))), folder)
    schema = {"properties": {"prompt": {"type": "string"}}, "required": ["prompt"]}
    meta = {
        "model_id": "acme/dream-1/text-to-video",
        "display_name": "Acme Dream 1",
        "kind": "text-to-video",
        "prompt_key": "prompt",
        "fixed_seconds": 6,
        "credits_per_second": 2,
    }
    (folder / "acme-dream-1.input.json").write_text(json.dumps(schema))
    (folder / "acme-dream-1.meta.json").write_text(json.dumps(meta))
    catalog = Catalog.load(folder)
    path = "/v1/models/acme/dream-1/text-to-video"
    config = SandboxConfig(token=TOKEN, paused=True)
    async with Sandbox(config, catalog=catalog) as custom, Sandbox(config) as shipped:
        status, answer = await post(http, custom.url + path, {"prompt": "a fox"})
        assert status == 200 and custom.state.jobs[answer["request_id"]].payload == {
            "prompt": "a fox"
        }
        status, answer = await post(http, shipped.url + path, {"prompt": "a fox"})
        assert status == 400 and answer["error_code"] == 400001
        status, _ = await post(http, custom.url + path, {"prompt": "a fox", "seed": 1})
        assert status == 422
