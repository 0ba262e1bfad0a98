"""The log redaction filter, fed genuine aiohttp errors from a local server on 127.0.0.1: webhook
and interaction tokens, authorization values and the configured secrets never reach the output,
and everything else in the record still does."""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from bot.config import Secret, Settings
from bot.logs import REDACTED, RedactingFilter, install_redaction

# An interaction token has this shape: long, URL-safe, good for 15 minutes of posting as the bot.
TOKEN = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
BOT_TOKEN = "MTExMjIyMzMzNDQ0NTU1NjY2.GhIjKl." + secrets.token_urlsafe(27)
RUNCOMFY_TOKEN = "rc-" + secrets.token_hex(16)
FORMAT = "%(levelname)s %(name)s: %(message)s"
log = logging.getLogger("bot.ui.sink")


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """A real handler on the root logger writing to a StringIO, redaction installed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    logging.root.addHandler(handler)
    install_redaction(Secret(BOT_TOKEN), Secret(RUNCOMFY_TOKEN), None)
    yield stream
    logging.root.removeHandler(handler)
    for each in logging.root.handlers:  # pytest's own capture handlers got the filter too
        for found in [f for f in each.filters if isinstance(f, RedactingFilter)]:
            each.removeFilter(found)


@dataclass
class DiscordLike:
    """A server on 127.0.0.1 that never answers a webhook edit and has no interaction routes."""

    url: str
    arrived: asyncio.Event


@pytest.fixture
async def discord_like() -> AsyncIterator[DiscordLike]:
    arrived, release = asyncio.Event(), asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        arrived.set()
        await release.wait()
        return web.Response(text="too late")

    app = web.Application()
    app.router.add_route("*", "/api/v10/webhooks/{id}/{token}/messages/@original", hang)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield DiscordLike(f"http://{host}:{port}", arrived)
    release.set()
    await runner.cleanup()


async def connection_timeout(server: DiscordLike) -> aiohttp.ClientError:
    """A genuine ConnectionTimeoutError: the only pooled connection is busy, so acquiring one for
    the second request runs past `connect` (aiohttp counts waiting for the pool as connecting,
    and raises the same error, URL and all, as for a slow TCP connect)."""
    url = f"{server.url}/api/v10/webhooks/123456789012345678/{TOKEN}/messages/@original"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        busy = asyncio.create_task(session.patch(url, json={"content": "first"}))
        await asyncio.wait_for(server.arrived.wait(), 10)  # it holds the one connection now
        try:
            await session.patch(url, json={}, timeout=aiohttp.ClientTimeout(connect=0.2, total=10))
        except aiohttp.ConnectionTimeoutError as exc:
            return exc
        finally:
            busy.cancel()
            await asyncio.gather(busy, return_exceptions=True)
        raise AssertionError("the second request did not time out")


async def not_found(server: DiscordLike) -> aiohttp.ClientResponseError:
    """A genuine ClientResponseError, whose text carries the interaction callback URL."""
    url = f"{server.url}/api/v10/interactions/987654321098765432/{TOKEN}/callback"
    async with aiohttp.ClientSession() as session, session.post(url, json={"type": 5}) as resp:
        try:
            resp.raise_for_status()
        except aiohttp.ClientResponseError as exc:
            return exc
    raise AssertionError("the callback did not fail")


def log_failure(exc: BaseException) -> None:
    try:
        raise exc
    except BaseException:
        log.exception("job %d: card update failed", 42)


# --- real aiohttp errors -------------------------------------------------------------------------


async def test_a_connection_timeout_logs_without_the_interaction_token(
    discord_like: DiscordLike, output: io.StringIO
):
    exc = await connection_timeout(discord_like)
    assert TOKEN in str(exc)  # what aiohttp really puts in the message
    log_failure(exc)
    text = output.getvalue()
    assert TOKEN not in text
    assert text.startswith("ERROR bot.ui.sink: job 42: card update failed\nTraceback")
    assert "aiohttp.client_exceptions.ConnectionTimeoutError: Connection timeout to host " in text
    webhook = (
        f"{discord_like.url}/api/v10/webhooks/123456789012345678/{REDACTED}/messages/@original"
    )
    assert webhook in text
    assert "TimeoutError" in text and "log_failure" in text  # the chain and the frames are kept


async def test_a_failed_interaction_callback_logs_without_the_token(
    discord_like: DiscordLike, output: io.StringIO
):
    exc = await not_found(discord_like)
    assert TOKEN in str(exc)
    log.error("error %s in /%s: %s", "E1234", "video", exc, exc_info=exc)
    text = output.getvalue()
    assert TOKEN not in text
    assert "ERROR bot.ui.sink: error E1234 in /video: 404, message='Not Found'" in text
    assert f"/api/v10/interactions/987654321098765432/{REDACTED}/callback" in text
    assert text.count("Traceback") == 1  # the formatter reused the redacted exception text


# --- authorization values and configured secrets -------------------------------------------------


def test_configured_secrets_are_redacted_in_messages_args_and_exceptions(output: io.StringIO):
    log.warning("token is %s", RUNCOMFY_TOKEN)
    try:
        raise RuntimeError(f"login failed with {BOT_TOKEN} at gateway")
    except RuntimeError:
        log.exception("could not log in")
    text = output.getvalue()
    assert BOT_TOKEN not in text and RUNCOMFY_TOKEN not in text
    assert f"token is {REDACTED}" in text
    assert f"RuntimeError: login failed with {REDACTED} at gateway" in text


@pytest.mark.parametrize(
    "header",
    [
        "Authorization: Bot {}",
        "{{'Authorization': 'Bearer {}', 'Accept': 'application/json'}}",
        "authorization=bearer {}",
    ],
)
def test_authorization_values_are_redacted_even_when_not_configured(
    output: io.StringIO, header: str
):
    unknown = "xoxb." + secrets.token_urlsafe(30)
    log.error("request headers: %s", header.format(unknown))
    text = output.getvalue()
    assert unknown not in text and REDACTED in text and "request headers: " in text


def test_the_stack_is_redacted_too(output: io.StringIO):
    log.error("stack follows", stack_info=True)  # /webhooks/1/not-a-real-but-secret-token
    text = output.getvalue()
    assert "not-a-real-but-secret-token" not in text
    assert f"/webhooks/1/{REDACTED}" in text and "test_the_stack_is_redacted_too" in text


# --- everything else is untouched ----------------------------------------------------------------

ORDINARY = [
    ("Bot restarted after %d crashes", (3,)),
    ("Bearer of bad news: %s", ("the queue is full",)),
    ("job %d: delivered to <#%d> in %.1fs (100%% done)", (7, 1234567890123, 12.25)),
    ("see https://discord.com/developers/docs/resources/webhook for %s", ("limits",)),
    ("webhooks/abc/def and /webhooks/ are not tokens", ()),
    ("prompt was %r", ("a robot dancing — 東京 🏳️\u200d🌈",)),
    ("%s", ({"a": 1},)),
]


@pytest.mark.parametrize(("msg", "args"), ORDINARY)
def test_ordinary_records_come_out_as_without_the_filter(
    output: io.StringIO, msg: str, args: tuple[object, ...]
):
    log.warning(msg, *args)
    expected = logging.Formatter(FORMAT).format(
        logging.LogRecord(log.name, logging.WARNING, __file__, 1, msg, args, None)
    )
    assert output.getvalue() == expected + "\n"


def test_bad_arguments_still_log_and_are_redacted(output: io.StringIO):
    log.error("%d credits for %s", "many", f"https://x/webhooks/5/{TOKEN}")
    text = output.getvalue()
    assert TOKEN not in text and "%d credits for %s" in text and "webhooks/5/" in text


# --- installing -----------------------------------------------------------------------------------


def test_install_is_idempotent_and_adds_secrets(output: io.StringIO):
    first = install_redaction(Secret(BOT_TOKEN))
    second = install_redaction("another-configured-secret", "short")
    assert first is second
    for handler in logging.root.handlers:
        assert [f for f in handler.filters if isinstance(f, RedactingFilter)] == [first]
    assert "another-configured-secret" in first.secrets and BOT_TOKEN in first.secrets
    assert "short" not in first.secrets  # would blank out ordinary words
    logging.getLogger("discord.http").error("sent another-configured-secret")
    assert output.getvalue() == f"ERROR discord.http: sent {REDACTED}\n"


def test_a_second_handler_sees_the_same_redacted_record(output: io.StringIO):
    stream = io.StringIO()
    other = logging.StreamHandler(stream)
    logging.root.addHandler(other)
    try:
        install_redaction()
        log.error("posting to /interactions/1/%s/callback", TOKEN)
    finally:
        logging.root.removeHandler(other)
    assert stream.getvalue() == f"posting to /interactions/1/{REDACTED}/callback\n"
    assert TOKEN not in output.getvalue()


def test_the_bot_installs_the_redaction_for_every_command(caplog: pytest.LogCaptureFixture):
    from bot.__main__ import configure_logging

    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.configured-discord-token-0123456789"
    configure_logging(Settings(discord_token=Secret(token)), "INFO")
    try:
        logging.getLogger("bot.anything").error("posting with %s failed", token)
        assert token not in caplog.text and "posting with" in caplog.text
    finally:
        for handler in logging.root.handlers:
            for found in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
                handler.removeFilter(found)
