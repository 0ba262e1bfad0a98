"""The client's download allow-list (its SSRF guard) against the sandbox over real HTTP.

The sandbox listens on 127.0.0.1, the client's API host and so always allowed; `localhost` names
the same server under a host the client must refuse unless told otherwise. That shows whether a
refused file was fetched at all: the sandbox logs every request it gets.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest

from bot.config import Secret
from bot.core.schema import MODEL
from bot.runcomfy import BadResponse, RunComfyClient, UntrustedHost
from bot.runcomfy.hosts import host_allowed, parse_patterns
from bot.sandbox import Sandbox, SandboxConfig
from bot.sandbox.video import sample_mp4

TOKEN = "sk-test-guard-81d2"
PAYLOAD = {"text": "a cat", "resolution": "480p", "ratio": "16:9", "duration": 5}
SIGNED = "sig=c2lnbmVkLXNlY3JldA"  # stands for a signed link's query: never logged
MakeClient = Callable[..., RunComfyClient]


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig(token=TOKEN, paused=True)) as sandbox:
        yield sandbox


@pytest.fixture
async def make_client(sb: Sandbox) -> AsyncIterator[MakeClient]:
    async with aiohttp.ClientSession() as session:

        def make(**kwargs: object) -> RunComfyClient:
            options: dict[str, object] = {
                "base_url": sb.url,
                "token": Secret(TOKEN),
                "timeout": 2.0,
                "max_attempts": 3,
                "backoff_base": 0.01,
            }
            return RunComfyClient(session, **(options | kwargs))  # type: ignore[arg-type]

        yield make


def on_localhost(sb: Sandbox) -> str:
    """The sandbox's URL under the name `localhost` (same server, another host)."""
    return sb.url.replace("127.0.0.1", "localhost")


async def finished_video(sb: Sandbox, client: RunComfyClient) -> str:
    sub = await client.submit(MODEL.path, PAYLOAD)
    sb.state.set_status(sub.request_id, "completed")
    url = (await client.result(sub.request_id)).video_url
    assert url is not None
    return url


def redirect(sb: Sandbox, to: str, *, times: int = 1, status: int = 302) -> str:
    return f"{sb.url}/_sandbox/redirect?to={quote(to, safe='')}&times={times}&status={status}"


# -- the patterns ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("runcomfy.net", True),
        ("cdn.runcomfy.net", True),
        ("a.b.runcomfy.com", True),
        ("evilruncomfy.net", False),
        ("runcomfy.net.evil.com", False),
        ("cdn.example.com", True),
        ("www.cdn.example.com", False),  # a plain name matches exactly
        ("example.com", False),
        ("", False),
    ],
)
def test_host_patterns(host: str, allowed: bool) -> None:
    patterns = parse_patterns(["*.RunComfy.net", " *.runcomfy.com. ", "CDN.example.com", ""])
    assert patterns == ("*.runcomfy.net", "*.runcomfy.com", "cdn.example.com")
    assert host_allowed(host, patterns) is allowed


@pytest.mark.parametrize("bad", ["*", "*.com", "http://x.com", "x.com:443", "a b.com", "x..com"])
def test_malformed_patterns_are_refused(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_patterns([bad])
    assert len(bad) < 3 or bad not in str(info.value)  # a token pasted here stays hidden


def test_a_single_string_is_not_read_as_patterns() -> None:
    with pytest.raises(TypeError):
        parse_patterns("localhost")


# -- the first URL --------------------------------------------------------------------------------


async def test_video_on_another_host_is_refused_unfetched(
    sb: Sandbox, make_client: MakeClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sb.config.video_base_url = on_localhost(sb)
    client = make_client()
    url = await finished_video(sb, client)
    assert url.startswith("http://localhost:")
    dest = tmp_path / "v.mp4"
    with pytest.raises(UntrustedHost) as info:
        await client.download(f"{url}?{SIGNED}", dest, max_bytes=10_000_000)
    assert sb.state.count("video") == client.requests_sent["download"] == 0
    assert not dest.exists()
    assert "localhost" in str(info.value) and "unexpected address" in info.value.user_message
    assert "try again" not in info.value.user_message
    for shown in (str(info.value), caplog.text):
        assert SIGNED not in shown and "/_sandbox/videos/" not in shown


async def test_allowed_hosts_match_without_case_or_port(
    sb: Sandbox, make_client: MakeClient, tmp_path: Path
) -> None:
    sb.config.video_base_url = on_localhost(sb).replace("localhost", "LocalHost")
    client = make_client(download_hosts=["LOCALHOST"])
    url = await finished_video(sb, client)
    dest = tmp_path / "v.mp4"
    assert await client.download(url, dest, max_bytes=10_000_000) == len(sample_mp4())
    assert dest.read_bytes() == sample_mp4()


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/v.mp4", "/_sandbox/videos/x.mp4", "http://"]
)
async def test_other_schemes_and_non_urls_are_refused(
    sb: Sandbox, make_client: MakeClient, tmp_path: Path, url: str
) -> None:
    client = make_client(download_hosts=[])  # only the API host itself
    with pytest.raises(UntrustedHost):
        await client.download(url, tmp_path / "v.mp4", max_bytes=1000)
    assert client.requests_sent["download"] == 0 and sb.state.count("other") == 0


def test_constructor_refuses_malformed_patterns(sb: Sandbox) -> None:
    with pytest.raises(ValueError):
        RunComfyClient(None, base_url=sb.url, token=None, download_hosts=["*"])  # type: ignore[arg-type]


# -- redirects ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_relative_redirect_on_an_allowed_host_is_followed(
    sb: Sandbox, make_client: MakeClient, tmp_path: Path, status: int
) -> None:
    client = make_client()
    video = await finished_video(sb, client)
    path = video.removeprefix(sb.url)
    dest = tmp_path / "v.mp4"
    size = await client.download(redirect(sb, path, status=status), dest, max_bytes=10_000_000)
    assert size == len(sample_mp4()) and dest.read_bytes() == sample_mp4()
    assert (sb.state.count("redirect"), sb.state.count("video")) == (1, 1)
    assert client.requests_sent["download"] == 2


async def test_redirect_to_another_host_is_refused_unfetched(
    sb: Sandbox, make_client: MakeClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client()
    video = await finished_video(sb, client)
    elsewhere = video.replace(sb.url, on_localhost(sb)) + "?" + SIGNED
    dest = tmp_path / "v.mp4"
    with pytest.raises(UntrustedHost) as info:
        await client.download(redirect(sb, elsewhere, times=2), dest, max_bytes=10_000_000)
    assert "redirect" in str(info.value) and "localhost" in str(info.value)
    assert (sb.state.count("redirect"), sb.state.count("video")) == (2, 0)
    assert not dest.exists()
    assert SIGNED not in str(info.value) and SIGNED not in caplog.text
    # Once that host is allowed, the same chain is followed to the end.
    allowed = make_client(download_hosts=["localhost"])
    assert await allowed.download(redirect(sb, elsewhere), dest, max_bytes=10_000_000) > 0
    assert sb.state.count("video") == 1


@pytest.mark.parametrize("to", ["file:///etc/passwd", "ftp://127.0.0.1/v.mp4"])
async def test_redirect_to_another_scheme_is_refused(
    sb: Sandbox, make_client: MakeClient, tmp_path: Path, to: str
) -> None:
    with pytest.raises(UntrustedHost):
        await make_client().download(redirect(sb, to), tmp_path / "v.mp4", max_bytes=1000)


async def test_at_most_five_redirects(sb: Sandbox, make_client: MakeClient, tmp_path: Path) -> None:
    client = make_client()
    path = (await finished_video(sb, client)).removeprefix(sb.url)
    dest = tmp_path / "v.mp4"
    assert await client.download(redirect(sb, path, times=5), dest, max_bytes=10_000_000) > 0
    sb.state.reset()
    path = (await finished_video(sb, client)).removeprefix(sb.url)
    with pytest.raises(BadResponse) as info:
        await client.download(redirect(sb, path, times=6), dest, max_bytes=10_000_000)
    assert "redirects" in str(info.value) and "redirecting" in info.value.user_message
    assert (sb.state.count("redirect"), sb.state.count("video")) == (6, 0)  # not retried
    assert not dest.exists()


async def test_a_retry_starts_again_from_the_first_url(
    sb: Sandbox, make_client: MakeClient, tmp_path: Path
) -> None:
    client = make_client()
    path = (await finished_video(sb, client)).removeprefix(sb.url)
    sb.state.add_fault("video", status=503)
    dest = tmp_path / "v.mp4"
    assert await client.download(redirect(sb, path), dest, max_bytes=10_000_000) > 0
    assert (sb.state.count("redirect"), sb.state.count("video")) == (2, 2)
