"""/botstatus, the Prometheus endpoint and the liveness check, end to end: the real bot process
with METRICS_PORT set, the fake Discord and the sandbox; the endpoint scraped over HTTP and read
with prometheus-client's own text parser."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from collections.abc import Callable

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import Bot, World
from tests.e2e.test_quotas import command, start_video
from tests.e2e.test_video import card_status, result_message
from tests.fakediscord import EPHEMERAL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def bot_settings() -> dict[str, str]:
    # Chosen just before the bot starts: other servers of the run take ephemeral ports too.
    return {"METRICS_PORT": str(free_port()), "QUOTA_CREDITS_PER_DAY": "100"}


def port_of(bot: Bot) -> int:
    return int(bot.env["METRICS_PORT"])


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(bot: Bot) -> Samples:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port_of(bot)}/metrics") as resp,
    ):
        assert resp.status == 200
        text = await resp.text()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def healthz(bot: Bot) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port_of(bot)}/healthz") as resp,
    ):
        return resp.status, await resp.json()


async def delivered(world: World, job_id: int) -> None:
    await world.fake.wait_for(lambda: result_message(world, job_id), timeout=30)


async def test_botstatus_is_for_server_managers_and_shows_the_day(world: World, bot: Bot):
    with pytest.raises(PermissionError):  # Discord hides it from members without the right
        await world.fake.invoke(world.alice, world.channel, "botstatus", {})
    job_id, _card = await start_video(world, world.alice, resolution="720p", duration=4)
    await delivered(world, job_id)
    reply = await command(world, world.admin, "botstatus")
    assert reply.flags & EPHEMERAL
    text = reply.content
    assert text.startswith("**Seedance Bot 0.1.0**, up ")
    # One submit and at least one look at RunComfy, none failed.
    assert "RunComfy, last hour: " in text and " 0 failed (0.0 %)" in text
    assert "ms median" in text
    assert "Jobs here: 0 queued, 0 running. All servers: 0 queued, 0 running." in text
    assert "Oldest open job: none open." in text
    assert "Credits spent today in this server: 8." in text  # 4 s at 720p
    assert f"rate limits hit: 0 in the last hour, {world.fake.count_429s()} since start" in text


async def test_a_job_moves_the_counters_on_the_metrics_endpoint(world: World, bot: Bot):
    before = await scrape(bot)
    assert value(before, "seedance_build_info", version="0.1.0") == 1
    job_id, card = await start_video(world, world.alice, resolution="480p", duration=4)
    await delivered(world, job_id)
    await world.fake.wait_for(
        lambda: card_status(card_now(world, card.id)).startswith("✅") or None, timeout=15
    )
    after = await scrape(bot)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    for state in ("accepted", "submitting", "queued", "delivering", "delivered"):
        assert moved("seedance_job_transitions_total", state=state) == 1, state
    assert moved("seedance_credits_total", kind="reserved") == 4
    assert moved("seedance_credits_total", kind="committed") == 4
    assert moved("seedance_credits_total", kind="refunded") == 0
    assert moved("seedance_deliveries_total", path="attachment") == 1
    submit = {"route": "submit", "outcome": "ok"}
    assert moved("seedance_provider_request_seconds_count", **submit) == 1
    assert moved("seedance_provider_request_seconds_bucket", le="+Inf", **submit) == 1
    assert moved("seedance_polls_total", outcome="ok") >= 1
    assert value(after, "seedance_jobs", state="delivered") == 1  # from the database
    assert value(after, "seedance_jobs", state="queued") == 0
    assert value(after, "seedance_gateway_connected") == 1
    assert value(after, "seedance_runner_alive") == 1
    assert value(after, "process_resident_memory_bytes") > 10 * 2**20
    assert value(after, "seedance_tracked", kind="cards") == 0  # the settled card is forgotten
    assert value(after, "seedance_tracked", kind="runner_jobs") == 0
    assert value(after, "seedance_discord_429_total") == world.fake.count_429s()


def card_now(world: World, message_id: int):  # type: ignore[no-untyped-def]
    return world.fake.message(message_id)


async def test_liveness_turns_unhealthy_while_the_gateway_is_down(world: World, bot: Bot):
    _status, body = await wait_health(bot, lambda s, b: s == 200 or None)  # READY takes a moment
    assert (body["ok"], body["gateway"], body["runner"]) == (True, True, True)
    world.fake.gateway.refusing = True  # the reconnect fails until the outage ends
    await world.fake.drop_gateway()
    down = await wait_health(bot, lambda s, b: s == 503 or None)
    assert down[1]["gateway"] is False and down[1]["runner"] is True
    code, output = await check_health(bot)  # what the Dockerfile's HEALTHCHECK runs
    assert code == 1 and "gateway is not connected" in output, output
    world.fake.gateway.refusing = False
    up = await wait_health(bot, lambda s, b: s == 200 or None, timeout=60)
    assert up[1]["ok"] is True
    code, output = await check_health(bot)
    assert code == 0, output


async def check_health(bot: Bot) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "check",
        "--health",
        env=bot.env,
        cwd=bot.workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def wait_health(
    bot: Bot, check: Callable[[int, dict[str, object]], bool | None], timeout: float = 20.0
) -> tuple[int, dict[str, object]]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = await healthz(bot)
        if check(status, body):
            return status, body
        if time.monotonic() > deadline:
            raise AssertionError(f"/healthz still says {status} {body}")
        await asyncio.sleep(0.2)


async def test_discord_429s_are_counted_on_the_metrics_endpoint(world: World, bot: Bot):
    await bot.stop()
    world.fake.rules.global_limit = 1  # the log-in's few bot-token calls now meet 429s
    world.fake.limiter.reset()
    await bot.start()
    await world.fake.wait_for(lambda: world.fake.count_429s() or None, timeout=15)
    world.fake.rules.global_limit = 50
    counted = -1.0
    for _ in range(100):  # the metrics port comes up with the bot; a 429 in flight lands
        with contextlib.suppress(aiohttp.ClientConnectionError):
            counted = value(await scrape(bot), "seedance_discord_429_total")
        if counted == world.fake.count_429s():
            break
        await asyncio.sleep(0.1)
    assert counted == world.fake.count_429s() >= 1
