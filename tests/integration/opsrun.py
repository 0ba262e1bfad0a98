"""Running the operator's commands (`python -m bot check|sync|backup`) as an operator does: a
subprocess with a clean environment, while the fake Discord and the sandbox answer in the
test's own event loop (hence asyncio subprocesses, not blocking ones)."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.sandbox import Sandbox, SandboxConfig
from tests.e2e.harness import BOT_TOKEN
from tests.fakediscord import FakeDiscord, Rules
from tests.integration.test_cli import clean_env

RUNCOMFY_TOKEN = "ops-runcomfy-token-never-printed-5521"
WRONG_DISCORD_TOKEN = "wrong-discord-token.never-printed-7730"
WRONG_RUNCOMFY_TOKEN = "wrong-runcomfy-token-never-printed-9914"
SECRETS = (BOT_TOKEN, RUNCOMFY_TOKEN, WRONG_DISCORD_TOKEN, WRONG_RUNCOMFY_TOKEN)
MIGRATIONS = Path(__file__).resolve().parents[2] / "db" / "migrations"


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err

    @property
    def problems(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("problem: ")]

    def assert_no_secret(self) -> None:
        for secret in SECRETS:
            assert secret not in self.both
            assert secret[:12] not in self.both  # not even a prefix


async def bot_cli(cwd: Path, env: dict[str, str], *args: str, timeout: float = 60) -> Run:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=clean_env(**env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        pytest.fail(f"timed out; stdout={out!r} stderr={err!r}")
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


def ops_env(fake: FakeDiscord, sandbox: Sandbox, database: Path, **extra: str) -> dict[str, str]:
    guild_ids = ",".join(str(g.id) for g in fake.world.guilds)
    return {
        "DISCORD_TOKEN": BOT_TOKEN,
        "DISCORD_API_BASE": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "RUNCOMFY_BASE_URL": sandbox.url,
        "RUNCOMFY_API_TOKEN": RUNCOMFY_TOKEN,
        "DATABASE_PATH": str(database),
        "DISCORD_GUILD_IDS": guild_ids,
        **extra,
    }


def database_at_version(path: Path, version: int) -> None:
    """A database as another version of the bot left it: the first `version` migrations (all
    of them, with a version number past them, for a newer bot) and a meta row to look for."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = sqlite3.connect(path)
    for sql in sorted(MIGRATIONS.glob("*.sql"))[:version]:
        raw.executescript(sql.read_text(encoding="utf-8"))
    raw.execute(f"PRAGMA user_version = {version}")
    raw.execute("INSERT INTO meta (key, value) VALUES ('kept', 'from the old version')")
    raw.commit()
    raw.close()


def user_version(path: Path) -> int:
    raw = sqlite3.connect(path)
    try:
        return int(raw.execute("PRAGMA user_version").fetchone()[0])
    finally:
        raw.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(token=BOT_TOKEN, rules=Rules()) as server:
        server.add_guild("Ops Club").add_text_channel("videos")
        yield server


@pytest.fixture
async def generator() -> AsyncIterator[Sandbox]:
    config = SandboxConfig(token=RUNCOMFY_TOKEN, queue_seconds=0.2, run_seconds=0.3)
    async with Sandbox(config) as sandbox:
        yield sandbox
