"""Soak: tens of thousands of short jobs through the real bot at a steady rate, to see whether
memory grows with the number of finished jobs. Prints figures, asserts nothing.

    python bench/soak.py [--jobs 10000] [--rate 12] [--active 100] [--every 1000]
                         [--members 200] [--channels 20] [--queue-seconds 0.2] [--run-seconds 0.5]
                         [--trace DIR] [--settle 10] [--quiesce] [--trim] [--bot-env NAME=VALUE ...]

Same set-up as bench/jobs.py (whose pieces it reuses): the fake Discord with every rule on and
the sandbox in this process, the real bot (`python -m bot`) as a subprocess, here with
METRICS_PORT set and quotas out of the way. Invocations go out at `--rate` per second while
fewer than `--active` jobs are open. After every `--every` finished jobs it prints a line: the
bot's RSS (psutil), its open asyncio tasks, the sqlite file's size (with its WAL), discord.py's
cached views and messages, and the per-job records the bot keeps (cards, runner, poller),
all but RSS and the file read from the bot's own /metrics.

`--trace DIR` starts the bot through bench/traced_bot.py (tracemalloc on, the same entry point)
and, at every line, has it write a heap snapshot `DIR/<finished>.snap` (with `<finished>.json`:
traced size, an object census, glibc's, pymalloc's and sqlite's figures); the line then also
shows them (TRACED_COLUMNS). After the last line it waits `--settle` seconds for the last cards
and writes `DIR/idle.snap`. With `--bot-env SEEDANCE_TRACE_FRAMES=0` the bot runs untraced at
full speed and only the `.json` is written. Compare two snapshots with
`python bench/tracediff.py DIR/001000.snap DIR/004000.snap`.

`--quiesce` takes every line at rest: sending stops at the line's count, every open job
finishes, `--settle` seconds pass (not counted toward `--rate`), so two lines differ only by
what finished jobs left behind. `--trim` (with `--trace`) ends with glibc's `malloc_trim(0)` in
the bot and prints its RSS before and after: how much of RSS was free memory malloc kept.
`--bot-env` adds variables to the bot's environment (`PYTHONMALLOC=malloc`,
`MALLOC_ARENA_MAX=2`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import psutil  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from bench.jobs import SANDBOX_TOKEN, build_world, cpu_seconds  # noqa: E402
from bot.sandbox import Sandbox, SandboxConfig  # noqa: E402
from tests.e2e.harness import (  # noqa: E402
    BOT_TOKEN,
    BotProcess,
    bot_env,
)
from tests.fakediscord import FakeDiscord, Rules  # noqa: E402

FINAL = ("delivered", "failed", "cancelled")
COLUMNS = (
    ("finished", 8),
    ("minutes", 7),
    ("rss MB", 7),
    ("tasks", 6),
    ("sqlite MB", 9),
    ("views", 6),
    ("messages", 8),
    ("cards", 6),
    ("runner", 6),
    ("watches", 7),
    ("failed", 6),
    ("cancelled", 9),
)

# With --trace (MB): the traced Python heap, pymalloc's blocks in use and its arenas, glibc
# malloc's bytes in use (sqlite's page cache, tracemalloc's own tables...) and free inside it,
# and what sqlite holds of malloc's bytes in use.
TRACED_COLUMNS = ("traced", "py used", "py arenas", "malloc used", "malloc free", "sqlite")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--jobs", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=12.0, help="invocations per second")
    p.add_argument("--active", type=int, default=100, help="most open jobs at once")
    p.add_argument("--every", type=int, default=1000, help="a line per this many finished")
    p.add_argument("--members", type=int, default=200)
    p.add_argument("--channels", type=int, default=20)
    p.add_argument("--queue-seconds", type=float, default=0.2)
    p.add_argument("--run-seconds", type=float, default=0.5)
    p.add_argument("--trace", type=Path, metavar="DIR", help="tracemalloc snapshots go here")
    p.add_argument("--settle", type=float, default=10.0, help="seconds idle before the last")
    p.add_argument("--trim", action="store_true", help="with --trace: malloc_trim(0) at the end")
    p.add_argument(
        "--quiesce", action="store_true", help="every line at rest: no job open, --settle after"
    )
    p.add_argument(
        "--bot-env", action="append", default=[], metavar="NAME=VALUE", help="for the bot"
    )
    return p.parse_args(argv)


class TracedBot(BotProcess):
    """The bot through bench/traced_bot.py: `python -m bot` with tracemalloc, and snapshots."""

    def __init__(self, env: dict[str, str], workdir: Path, folder: Path) -> None:
        super().__init__({**env, "SEEDANCE_TRACE_DIR": str(folder)}, workdir)
        self.folder = folder

    def command(self) -> list[str]:
        return [sys.executable, str(ROOT / "bench" / "traced_bot.py")]

    async def snapshot(self, name: str, *, trim: bool = False) -> dict[str, object]:
        """Ask for `DIR/<name>.snap`; returns its `<name>.json` once both are written. `trim`:
        then glibc's `malloc_trim(0)`, and the RSS after it (`after_trim`)."""
        timeout = 300.0
        info = self.folder / f"{name}.json"
        with contextlib.suppress(FileNotFoundError):
            info.unlink()
        (self.folder / "request").write_text(name + (" trim" if trim else ""))
        os.kill(self.pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while not info.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no snapshot {name} after {timeout} s")
            await asyncio.sleep(0.1)
        facts: dict[str, object] = json.loads(info.read_text())
        return facts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def scrape(http: aiohttp.ClientSession, port: int) -> dict[str, float]:
    """The bot's metrics, keyed `name` or `name{value of its one label}`."""
    async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
        text = await resp.text()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = s.name + ("{" + ",".join(s.labels.values()) + "}" if s.labels else "")
            out[key] = s.value
    return out


def finished(m: dict[str, float]) -> int:
    return int(sum(m.get(f"seedance_job_transitions_total{{{s}}}", 0) for s in FINAL))


def sqlite_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())


def row(values: list[object]) -> str:
    return " ".join(str(v).rjust(width) for v, (_, width) in zip(values, COLUMNS, strict=True))


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    port = free_port()
    config = SandboxConfig(
        token=SANDBOX_TOKEN,
        queue_seconds=args.queue_seconds,
        run_seconds=args.run_seconds,
        concurrency=args.active,
    )
    async with (
        FakeDiscord(token=BOT_TOKEN, rules=Rules()) as fake,
        Sandbox(config) as sandbox,
        aiohttp.ClientSession() as http,
    ):
        guild, channels, members = build_world(fake, args.members, args.channels)
        database = workdir / "data" / "bot.db"
        env = bot_env(
            api_base=fake.api_base,
            gateway_url=fake.gateway_url,
            runcomfy_url=sandbox.url,
            runcomfy_token=SANDBOX_TOKEN,
            database=database,
            guild_ids=[guild.id],
            METRICS_PORT=str(port),
            QUOTA_CREDITS_PER_DAY=str(10**9),
            QUOTA_MAX_ACTIVE_JOBS=str(args.active),
            RUNCOMFY_POLL_INTERVAL="3",
            CARD_EDIT_INTERVAL="5",
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
            **dict(kv.split("=", 1) for kv in args.bot_env),
        )
        bot: BotProcess
        if args.trace is not None:
            args.trace.mkdir(parents=True, exist_ok=True)
            bot = TracedBot(env, workdir, args.trace.resolve())
        else:
            bot = BotProcess(env, workdir)
        await bot.start()
        await fake.wait_for(
            lambda: any(c["name"] == "video" for c in fake.commands(guild)) or None, timeout=60
        )
        proc = psutil.Process(bot.pid)
        print(f"work folder {workdir}", file=sys.stderr)
        header = row([name for name, _ in COLUMNS])
        print(header + (" " + " ".join(TRACED_COLUMNS) if isinstance(bot, TracedBot) else ""))
        t0 = time.monotonic()
        sent, next_line, m = 0, 0, await scrape(http, port)
        paused = 0.0  # seconds spent quiescing, which do not count toward the rate
        try:
            while True:
                m = await scrape(http, port)
                done = finished(m)
                if args.quiesce and sent >= next_line and done < sent:
                    waited = time.monotonic()
                    while done < sent:  # let every open job finish before the line
                        await asyncio.sleep(0.25)
                        done = finished(m := await scrape(http, port))
                    await asyncio.sleep(args.settle)
                    m = await scrape(http, port)
                    done = finished(m)
                    paused += time.monotonic() - waited
                if done >= next_line:
                    print(await report(bot, done, t0, proc, m, database), flush=True)
                    next_line += args.every
                if done >= args.jobs:
                    break
                due = int((time.monotonic() - t0 - paused) * args.rate)
                cap = min(args.jobs, next_line) if args.quiesce else args.jobs
                while sent < min(due, cap) and sent - done < args.active:
                    member = members[sent % len(members)]
                    channel = channels[sent % len(channels)]
                    prompt = f"soak job {sent}: a paper boat"
                    await fake.invoke(member, channel, "video", {"prompt": prompt, "duration": 2})
                    sent += 1
                await asyncio.sleep(0.25)
            if isinstance(bot, TracedBot) and not args.quiesce:
                await asyncio.sleep(args.settle)
                m = await scrape(http, port)
                print(await report(bot, finished(m), t0, proc, m, database, "idle"), flush=True)
            if isinstance(bot, TracedBot) and args.trim:
                print(await trimmed(bot), flush=True)
            cpu = cpu_seconds(proc)
            print(
                f"bot CPU per job: {cpu / max(done, 1) * 1000:.1f} ms; 429s: "
                f"{fake.count_429s()}; sent {sent}",
                file=sys.stderr,
            )
        finally:
            with contextlib.suppress(Exception):
                await bot.stop()


async def report(
    bot: BotProcess,
    done: int,
    t0: float,
    proc: psutil.Process,
    m: dict[str, float],
    db: Path,
    name: str | None = None,
) -> str:
    """A line; with a traced bot, first a snapshot, and its traced heap and malloc's free bytes."""
    if not isinstance(bot, TracedBot):
        return line_for(done, t0, proc, m, db)
    facts = await bot.snapshot(name or f"{done:06d}")
    malloc = facts.get("mallinfo2")
    malloc = malloc if isinstance(malloc, dict) else {}
    pymalloc = facts.get("pymalloc")
    pymalloc = pymalloc if isinstance(pymalloc, dict) else {}
    sqlite = facts.get("sqlite")
    sqlite = sqlite if isinstance(sqlite, dict) else {}
    figures = (
        float(str(facts["traced_bytes"])),
        float(pymalloc.get("bytes in allocated blocks", 0)),
        float(pymalloc.get("arenas allocated current", 0)) * 2**20,  # 1 MiB arenas (3.10+)
        float(malloc.get("uordblks", 0)) + float(malloc.get("hblkhd", 0)),
        float(malloc.get("fordblks", 0)),
        float(sqlite.get("used", 0)),
    )
    cells = [f"{n / 2**20:.2f}".rjust(len(c)) for n, c in zip(figures, TRACED_COLUMNS, strict=True)]
    return line_for(done, t0, proc, m, db) + " " + " ".join(cells) + (f"  ({name})" if name else "")


async def trimmed(bot: TracedBot) -> str:
    """Has glibc hand its free pages back (`malloc_trim(0)`): how much of RSS was those."""
    facts = await bot.snapshot("trim", trim=True)
    after = facts.get("after_trim")
    after = after if isinstance(after, dict) else {}
    before_mb, after_mb = float(str(facts["rss_bytes"])) / 2**20, after.get("rss_bytes", 0) / 2**20
    free = after.get("mallinfo2", {}).get("fordblks", 0) / 2**20
    return (
        f"malloc_trim(0): RSS {before_mb:.1f} -> {after_mb:.1f} MB "
        f"(malloc free {free:.2f} MB after)"
    )


def line_for(done: int, t0: float, proc: psutil.Process, m: dict[str, float], db: Path) -> str:
    return row(
        [
            done,
            f"{(time.monotonic() - t0) / 60:.1f}",
            f"{proc.memory_info().rss / 2**20:.1f}",
            int(m.get("seedance_asyncio_tasks", 0)),
            f"{sqlite_bytes(db) / 2**20:.1f}",
            int(m.get("seedance_tracked{discord_views}", 0)),
            int(m.get("seedance_tracked{discord_messages}", 0)),
            int(m.get("seedance_tracked{cards}", 0)),
            int(m.get("seedance_tracked{runner_jobs}", 0)),
            int(m.get("seedance_tracked{poller_watches}", 0)),
            int(m.get("seedance_job_transitions_total{failed}", 0)),
            int(m.get("seedance_job_transitions_total{cancelled}", 0)),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    asyncio.run(run(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
