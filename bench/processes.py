"""bench/jobs.py's pieces for `--processes N` and `--database`: several bot processes (Discord
shards 0..N-1 of N, one guild each) on one PostgreSQL database, and that database.

`--database postgres` starts a throwaway cluster (tests/pgcluster.py) for the run, with a new
database per poller run; a `postgresql://` URL is used as is, after a check: it must be empty,
or a database this bench used before (it has the `bench_jobs_marker` table), which is emptied
(its `public` schema dropped and made again) before every run. The URL is never printed.

Per process: its own work folder (`p<i>/`, its log and its videos in transit), `SHARD_COUNT=N`,
`SHARD_IDS=i`, the same DISCORD_GUILD_IDS (every guild) and DATABASE_URL. Which process
delivered a job is read from the jobs table (`lease_owner` is `host:pid:xxxx`) and, as a
cross-check, counted in each process's log (`-> delivered` state changes).
"""

from __future__ import annotations

import argparse
import asyncio
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from db.connect import URL_SCHEMES
from db.sql import Row
from tests.e2e.harness import BotProcess
from tests.pgcluster import Cluster, find_bin

POSTGRES = "postgres"  # --database postgres: a throwaway cluster for the run
MARKER = "bench_jobs_marker"  # the table that says a database is this bench's to empty

DATABASE_HELP = (
    "where the bot keeps its data: not given, the sqlite file in the work folder (one process);"
    " 'postgres', a throwaway PostgreSQL cluster started for the run; or a postgresql:// URL,"
    " used as is: it must be EMPTY or a database this bench used before, because the bench"
    " drops everything in its public schema before each run"
)


def check_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Refuse what cannot run: --processes above 1 on sqlite, an unknown --database."""
    if args.processes < 1:
        parser.error("--processes: at least 1")
    if args.processes > args.channels:
        parser.error("--processes: at most --channels (every shard's guild needs a channel)")
    spec = args.database
    if spec is not None and spec != POSTGRES and not spec.startswith(URL_SCHEMES):
        parser.error("--database: 'postgres' or a postgresql:// URL (without it: sqlite)")
    if args.processes > 1 and spec is None:
        parser.error(
            f"--processes {args.processes} needs a PostgreSQL database (the sqlite file is one"
            " process's): add --database postgres (a throwaway cluster) or"
            " --database postgresql://..."
        )


def describe(spec: str | None) -> str:
    if spec is None:
        return "sqlite file in the work folder"
    if spec == POSTGRES:
        return "PostgreSQL, a throwaway cluster (tests/pgcluster.py), a new database per run"
    return "PostgreSQL at the given URL (emptied before the run)"


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


class Databases:
    """A fresh database for each run of the bench (None: the sqlite file)."""

    def __init__(self, spec: str | None) -> None:
        self.spec = spec
        self.cluster: Cluster | None = None
        self._made = 0

    async def fresh(self, label: str) -> str | None:
        if self.spec is None:
            return None
        if self.spec != POSTGRES:
            await _empty(self.spec)
            return self.spec
        if self.cluster is None:
            bindir = find_bin()
            if bindir is None:
                raise SystemExit(
                    "--database postgres: PostgreSQL is not installed (no initdb in"
                    " /usr/lib/postgresql/*/bin, none on the PATH; PG_BIN names the folder)"
                )
            cluster = Cluster(bindir)
            await asyncio.to_thread(cluster.start)
            self.cluster = cluster
        self._made += 1
        name = f"bench_{self._made}_{label}"
        await _admin(self.cluster.url(), f"CREATE DATABASE {name}")
        return self.cluster.url(name)

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None


async def _empty(url: str) -> None:
    """Empty a bench database for a run, or refuse one that is not empty and not the bench's."""
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
        )
        marked = await conn.fetchval("SELECT to_regclass($1)", MARKER)
        if tables and marked is None:
            raise SystemExit(
                f"--database: the database at that URL has tables ({tables}) and is not a bench"
                " database; give an empty database (the bench drops everything in it)"
            )
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
        await conn.execute(f"CREATE TABLE {MARKER} (made_at TIMESTAMPTZ DEFAULT now())")
        await conn.execute(f"INSERT INTO {MARKER} DEFAULT VALUES")
    finally:
        await conn.close()


async def dump_jobs(url: str, path: Path) -> None:
    """The jobs table as CSV (kept with the work folder: the cluster itself goes)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_from_query(
            "SELECT * FROM jobs ORDER BY id", output=path, format="csv", header=True
        )
    finally:
        await conn.close()


def shard_env(index: int, count: int) -> dict[str, str]:
    return {} if count == 1 else {"SHARD_COUNT": str(count), "SHARD_IDS": str(index)}


@dataclass
class LogSummary:
    lines: int
    errors: list[str]
    warnings: list[str]
    tracebacks: int
    delivered: int  # "-> delivered" state changes


def summarize_log(text: str) -> LogSummary:
    lines = text.splitlines()
    return LogSummary(
        lines=len(lines),
        errors=[ln for ln in lines if " ERROR " in ln or " CRITICAL " in ln],
        warnings=[ln for ln in lines if " WARNING " in ln and "voice will NOT" not in ln],
        tracebacks=text.count("Traceback"),
        delivered=sum(1 for ln in lines if "-> delivered" in ln),
    )


def owner_pid(owner: str | None) -> int | None:
    """`host:pid:xxxx` -> pid."""
    parts = (owner or "").split(":")
    return int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else None


def report_processes(
    out: Callable[[str], None],
    bots: Sequence[BotProcess],
    cpu: Sequence[float],
    rss_peak: Sequence[int],
    rss_end: Sequence[int],
    rows: Sequence[Row],
    jobs: int,
) -> None:
    """Per process: its shard, RSS and CPU, the jobs it delivered (table and log) and what its
    log complained of; then the load split."""
    count = len(bots)
    pids = {bot.pid: i for i, bot in enumerate(bots)}
    delivered_by: Counter[int | None] = Counter()
    guild_jobs: Counter[int] = Counter()
    foreign = Counter[int]()  # delivered by a process that is not its guild's shard
    for row in rows:
        shard = (int(row["guild_id"]) >> 22) % count
        guild_jobs[shard] += 1
        if row["status"] != "delivered":
            continue
        index = pids.get(owner_pid(row["lease_owner"]) or -1)
        delivered_by[index] += 1
        if index is not None and index != shard:
            foreign[index] += 1
    out("")
    out("## per process")
    for i, bot in enumerate(bots):
        log = summarize_log(bot.logs())
        where = f"shard {i} of {count}" if count > 1 else "not sharded"
        split = (
            f", jobs of its guild {guild_jobs[i]}, delivered for another shard's guild {foreign[i]}"
            if count > 1
            else ""
        )
        out(
            f"process {i} (pid {bot.pid}, {where}): delivered {delivered_by[i]}"
            f" (jobs table; its log: {log.delivered} '-> delivered'){split}"
        )
        out(
            f"  peak RSS {rss_peak[i] / 2**20:.0f} MB, RSS at the end {rss_end[i] / 2**20:.0f} MB,"
            f" CPU {cpu[i]:.1f} s = {cpu[i] / max(delivered_by[i], 1) * 1000:.1f} ms per job"
            f" it delivered"
        )
        out(
            f"  log: {log.lines} lines, {len(log.errors)} ERROR, {len(log.warnings)} WARNING,"
            f" {log.tracebacks} tracebacks"
        )
        for line in (log.errors + log.warnings)[:5]:
            out(f"    {line[:160]}")
    if delivered_by.get(None):
        out(f"delivered by no process of this run (owner unknown): {delivered_by[None]}")
    shares = [delivered_by[i] / jobs for i in range(count)] if jobs else [math.nan]
    out("load split (delivered): " + " / ".join(f"{s:.0%}" for s in shares))
