"""Soak: tens of thousands of short jobs through the real bot at a steady rate, to see whether
memory grows with the number of finished jobs. Prints figures, asserts nothing.

    python bench/soak.py [--jobs 10000] [--rate 12] [--active 100] [--every 1000]
                         [--members 200] [--channels 20] [--queue-seconds 0.2] [--run-seconds 0.5]

Same set-up as bench/jobs.py (whose pieces it reuses): the fake Discord with every rule on and
the sandbox in this process, the real bot (`python -m bot`) as a subprocess, here with
METRICS_PORT set and quotas out of the way. Invocations go out at `--rate` per second while
fewer than `--active` jobs are open. After every `--every` finished jobs it prints a line: the
bot's RSS (psutil), its open asyncio tasks, the sqlite file's size (with its WAL), discord.py's
cached views and messages, and the per-job records the bot keeps (cards, runner, poller),
all but RSS and the file read from the bot's own /metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
)


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
    return p.parse_args(argv)


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
        )
        bot = BotProcess(env, workdir)
        await bot.start()
        await fake.wait_for(
            lambda: any(c["name"] == "video" for c in fake.commands(guild)) or None, timeout=60
        )
        proc = psutil.Process(bot.pid)
        print(f"work folder {workdir}", file=sys.stderr)
        print(row([name for name, _ in COLUMNS]))
        t0 = time.monotonic()
        sent, next_line, m = 0, 0, await scrape(http, port)
        try:
            while True:
                m = await scrape(http, port)
                done = finished(m)
                if done >= next_line:
                    print(line_for(done, t0, proc, m, database), flush=True)
                    next_line += args.every
                if done >= args.jobs:
                    break
                due = int((time.monotonic() - t0) * args.rate)
                while sent < min(due, args.jobs) and sent - done < args.active:
                    member = members[sent % len(members)]
                    channel = channels[sent % len(channels)]
                    prompt = f"soak job {sent}: a paper boat"
                    await fake.invoke(member, channel, "video", {"prompt": prompt, "duration": 2})
                    sent += 1
                await asyncio.sleep(0.25)
            cpu = cpu_seconds(proc)
            print(
                f"bot CPU per job: {cpu / max(done, 1) * 1000:.1f} ms; 429s: "
                f"{fake.count_429s()}; sent {sent}",
                file=sys.stderr,
            )
        finally:
            with contextlib.suppress(Exception):
                await bot.stop()


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
        ]
    )


def main(argv: list[str] | None = None) -> int:
    asyncio.run(run(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
