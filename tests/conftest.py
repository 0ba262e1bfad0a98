"""Shared fixtures: the sandbox generator and real sqlite files, all on 127.0.0.1 / tmp_path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Secret, Settings
from bot.sandbox import Sandbox, SandboxConfig
from bot.services import Services, build_services
from db.database import Database
from tests.backends import backend, pg_server, sql_db  # noqa: F401 (fixtures)

SANDBOX_TOKEN = "sandbox-test-token"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(
        SandboxConfig(token=SANDBOX_TOKEN, queue_seconds=0.2, run_seconds=0.3, concurrency=2)
    ) as sb:
        yield sb


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.db")
    yield database
    await database.close()


def make_settings(tmp_path: Path, sandbox_url: str, **overrides: Any) -> Settings:
    base = Settings(
        runcomfy_base_url=sandbox_url,
        runcomfy_api_token=Secret(SANDBOX_TOKEN),
        database_path=tmp_path / "bot.db",
        poll_interval=0.1,
        http_timeout=5.0,
    )
    return replace(base, **overrides)


@pytest.fixture
async def services(tmp_path: Path, sandbox: Sandbox, db: Database) -> AsyncIterator[Services]:
    async with aiohttp.ClientSession() as session:
        yield build_services(make_settings(tmp_path, sandbox.url), session, db)
