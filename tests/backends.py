"""The repository tests run on both engines: `backend` (and `sql_db`, a handle from it) is
parametrized over a sqlite file in tmp_path and a fresh database on a throwaway PostgreSQL
cluster (tests/pgcluster.py), started once per session and only when a test asks for it.

Without PostgreSQL's programs the postgresql cases are skipped with the reason, except in CI
(the CI variable set), where they fail: CI must run them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from db.database import Database
from db.postgres import PgDatabase
from db.sql import SqlDatabase
from tests.pgcluster import Cluster, find_bin

ENGINES = ["sqlite", "postgresql"]
TEMPLATE = "seedance_template"


class PgServer:
    """The session's cluster, started on first use; hands out fresh databases."""

    def __init__(self) -> None:
        self._cluster: Cluster | None = None
        self._names = itertools.count(1)
        self._template_ready = False

    def _started(self) -> Cluster:
        if self._cluster is None:
            bindir = find_bin()
            if bindir is None:
                reason = "PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin)"
                if os.environ.get("CI"):
                    pytest.fail(f"{reason}; .ci/run installs it", pytrace=False)
                pytest.skip(reason)
            cluster = Cluster(bindir)
            cluster.start()
            self._cluster = cluster
        return self._cluster

    async def new_database(self, *, migrated: bool = True) -> str:
        """The URL of a new, empty database (`migrated`: with the schema already applied,
        copied from a template that was migrated once)."""
        cluster = self._started()
        if migrated and not self._template_ready:
            await self._admin(f"CREATE DATABASE {TEMPLATE}")
            await (await PgDatabase.open(cluster.url(TEMPLATE))).close()
            self._template_ready = True
        name = f"test_{next(self._names)}"
        template = TEMPLATE if migrated else "template0"
        # FILE_COPY: copies the files (a checkpoint, cheap with fsync off) rather than logging
        # every block, which is 7 times slower here.
        await self._admin(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        return cluster.url(name)

    async def drop(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        await self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self._started().url())
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def stop(self) -> None:
        if self._cluster is not None:
            self._cluster.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer()
    yield server
    server.stop()


@dataclass
class Backend:
    """One database on one engine; `open()` gives another handle on it (another process)."""

    engine: str
    path: Path
    url: str | None = None
    handles: list[SqlDatabase] = field(default_factory=list)

    async def open(self) -> SqlDatabase:
        db: SqlDatabase
        if self.url is not None:
            db = await PgDatabase.open(self.url)
        else:
            db = await Database.open(self.path)
        self.handles.append(db)
        return db


@pytest.fixture(params=ENGINES)
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, pg_server: PgServer
) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        found = Backend("sqlite", tmp_path / "bot.db")
    else:
        found = Backend("postgresql", tmp_path, await pg_server.new_database())
    yield found
    for db in found.handles:
        await db.close()
    if found.url is not None:
        await pg_server.drop(found.url)


@pytest.fixture
async def sql_db(backend: Backend) -> SqlDatabase:
    return await backend.open()
