"""Load benchmark: many /video jobs at once through the real bot. Prints figures, asserts nothing.

    python bench/jobs.py [--poller fixed|adaptive|both] [--short] [--jobs 1000] [--channels 50]
                         [--burst 200] [--rate 50] [--poll 3] [--max-rps R] [--end-burst B]
                         [--queue-seconds 5] [--run-seconds 20] [--concurrency 100]
                         [--settle 1] [--timeout S] [--keep]
                         [--processes N] [--database postgres|postgresql://...]

Run from the repository root; about 3.5 minutes per poller at full size on 2 cores, 40 s for
`--jobs 100 --channels 10 --burst 50`. Progress goes to stderr every 15 s, figures to stdout.
`--poller both` runs the fixed poller and then the adaptive one on the same load (each with a
fresh sandbox, fake Discord and bot) and ends with the ratio adaptive/fixed of the main figures.
`--short` is a load of short jobs: queue_seconds and run_seconds 2.5 (unless given).

What runs: the fake Discord (tests/fakediscord, every rule on with Discord's own values: 3 s
deadline, rate limits, token lifetime...) and the RunComfy sandbox (bot/sandbox) in this process;
the real bot as a subprocess (`python -m bot`, through tests/e2e/harness.py) pointed at both, with
the product's defaults (RUNCOMFY_POLL_INTERVAL=3, CARD_EDIT_INTERVAL=5, default quotas: one member
per job, so no quota refuses anything) and RUNCOMFY_POLLER set per run. The fixed poller runs
with RUNCOMFY_MAX_RPS=0 (no cap: the poller as it was before the cap existed); the adaptive one
with `--max-rps` (default: the product's default). One guild, `--channels` text channels,
`--jobs` members.

Several processes (`--processes N`, on PostgreSQL only: `--database postgres` starts a throwaway
cluster, a `postgresql://` URL is used as is and must be empty or the bench's own): N bot
processes, shards 0..N-1 of N (SHARD_COUNT, SHARD_IDS), each in its own work folder `p<i>/`, all
on the one database; one guild per shard, the channels and members dealt out between them (job n
is member n's, in guild n % N), and the burst waits until every guild's shard is identified and
has the commands. The figures are the processes taken together (the fake and the sandbox see
them all); CPU and RSS are also given per process, with the jobs each delivered
(bench/processes.py).

Phases:
1. a burst of `--burst` simultaneous /video invocations (asyncio.gather of `fake.invoke`);
2. the rest up to `--jobs`, round-robin over the channels at `--rate` per second;
3. waiting until every job has ended (its result message posted, or its card says it failed).

How each figure is measured:
- acknowledgement latency: the fake's `InteractionRecord.sent_at` (INTERACTION_CREATE queued to
  the gateway) to the first callback's `Callback.at` (the fake received it); same clock.
- RunComfy requests: the sandbox's request log (`state.log`), by route; per job split into the
  submit, the looks (status, result, cancel) and the download (video, redirect). The poll rate is
  the status+result requests of each job divided by its sandbox lifetime (submit to finish) in
  3 s units, averaged over all jobs (total polls / total lifetime).
- stage changes: the sandbox's start (monotonic) and finish of each job to the first status or
  result request for it at or after that moment (the look that told the bot).
- Discord requests: the fake's call log (`fake.calls`), split by `via` (bot token or interaction
  token) and by route; 429s are calls the fake answered 429.
- delivery delay: sandbox `finished_at` (wall clock) to the creation time of the result message
  in the fake (wall clock); jobs mapped through the bot's own jobs table (request_id,
  result_message_id), read after the run.
- delivery split: the sandbox log also shows when the bot's poll first saw the job finished and
  when it fetched the video, so the delay splits into poll lag, fetch, and posting (which
  includes the bot's own per-channel pacing of bot-token writes).
- memory/CPU: psutil on the bot process, RSS sampled every 0.2 s (the peak and how many jobs had
  a card and no result yet at that moment, and the RSS while the most jobs were active); CPU
  user+system at the end divided by jobs; this process's CPU (fake + sandbox) for comparison.
- a result message is one from the bot saying "your video #N is ready"; a failure is a card
  whose Status starts with ❌ or 🚫; an ephemeral answer is a refusal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # type: ignore[import-untyped]  # noqa: E402

from bench.processes import (  # noqa: E402
    DATABASE_HELP,
    Databases,
    check_args,
    describe,
    dump_jobs,
    report_processes,
    shard_env,
)
from bot.config import DEFAULT_END_BURST, DEFAULT_MAX_RPS  # noqa: E402
from bot.sandbox import Sandbox, SandboxConfig  # noqa: E402
from db.connect import open_database  # noqa: E402
from db.database import Database  # noqa: E402
from db.sql import SqlDatabase  # noqa: E402
from tests.e2e.harness import BOT_TOKEN, BotProcess, bot_env  # noqa: E402
from tests.fakediscord import EPHEMERAL, FakeDiscord, InteractionHandle, Rules  # noqa: E402
from tests.fakediscord.model import Channel, Guild, Member  # noqa: E402

SANDBOX_TOKEN = "bench-sandbox-token"
SAMPLE_SECONDS = 0.2
SCAN_SECONDS = 0.25
POLL_UNIT = 3.0  # the target is stated per 3 s of job lifetime
PROGRESS_SECONDS = 15.0
SHORT_SECONDS = 2.5  # --short: queue and run seconds of each job
SAME_MOMENT = 0.005  # a request this close before a stage change was the one that caused it
POLLERS = ("fixed", "adaptive")
Print = Callable[[str], None]


@dataclass
class Tracked:
    """One invocation as the member sees it."""

    n: int
    handle: InteractionHandle
    ack_ms: float | None = None
    job_id: int | None = None
    ended: str | None = None  # delivered, failed, refused, no-ack


class Tracker:
    """Follows every invocation through the fake's state: card, result message, failure."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.items: list[Tracked] = []
        self._scanned = 0
        self.results: dict[int, int] = {}  # job id -> result message id (from the channel)
        self.posted: Counter[int] = Counter()  # job id -> result messages seen (duplicates)

    def add(self, tracked: Tracked) -> None:
        self.items.append(tracked)

    @property
    def active(self) -> int:
        """Jobs with a card and no result (or failure) yet."""
        return sum(1 for t in self.items if t.job_id is not None and t.ended is None)

    @property
    def ended(self) -> int:
        return sum(1 for t in self.items if t.ended is not None)

    def _end(self, tracked: Tracked, how: str) -> None:
        if tracked.ended is None:
            tracked.ended = how

    def scan(self) -> None:
        world = self.fake.world
        bot_id = world.bot_user.id
        for message in itertools.islice(world.messages.values(), self._scanned, None):
            self._scanned += 1
            if message.author.id != bot_id or message.flags & EPHEMERAL:
                continue
            marker = message.content.find("your video #")
            if marker >= 0:
                number = message.content[marker + 12 :].split(" ", 1)[0].rstrip(".")
                if number.isdigit():
                    self.results[int(number)] = message.id
                    self.posted[int(number)] += 1
        for tracked in self.items:
            if tracked.ended is not None:
                continue
            record = tracked.handle.record
            if record.callbacks and record.callbacks[0].status != 200:
                self._end(tracked, "no-ack")
                continue
            if tracked.job_id is None:
                card = tracked.handle.original
                if card is None:
                    continue
                if card.flags & EPHEMERAL or not card.embeds:
                    self._end(tracked, "refused")
                    continue
                tracked.job_id = int(card.embeds[0]["title"].split("#")[1])
            if tracked.job_id in self.results:
                self._end(tracked, "delivered")
                continue
            card = tracked.handle.original
            if card is not None and card.embeds and card_status(card.embeds[0])[:1] in "❌🚫":
                self._end(tracked, "failed")


def card_status(embed: dict[str, object]) -> str:
    fields = embed.get("fields") or []
    assert isinstance(fields, list)
    return next((str(f["value"]) for f in fields if f.get("name") == "Status"), "?")


@dataclass
class Peak:
    rss: int = 0
    active: int = 0
    provider_active: int = 0
    samples: int = 0
    max_active: int = 0
    rss_at_max_active: int = 0  # the highest RSS sampled while max_active jobs were active
    each: list[int] = field(default_factory=list)  # the peak of every bot process on its own


async def sample(
    procs: Sequence[psutil.Process], tracker: Tracker, sandbox: Sandbox, peak: Peak
) -> None:
    """RSS of the bot processes (their sum) every SAMPLE_SECONDS; remember the peak and the
    load at that moment, and each process's own peak."""
    peak.each = [0] * len(procs)
    while True:
        with contextlib.suppress(psutil.Error):
            each = [proc.memory_info().rss for proc in procs]
            peak.each = [max(a, b) for a, b in zip(peak.each, each, strict=True)]
            rss = sum(each)
            active = tracker.active
            peak.samples += 1
            if active > peak.max_active:
                peak.max_active, peak.rss_at_max_active = active, rss
            elif active == peak.max_active:
                peak.rss_at_max_active = max(peak.rss_at_max_active, rss)
            if rss > peak.rss:
                provider = sum(
                    1
                    for j in sandbox.state.jobs.values()
                    if j.status in ("in_queue", "in_progress")
                )
                peak.rss, peak.active, peak.provider_active = rss, active, provider
        await asyncio.sleep(SAMPLE_SECONDS)


def progress(t0: float, tracker: Tracker, peak: Peak, fake: FakeDiscord, sandbox: Sandbox) -> None:
    """A line on stderr while waiting, so a stall shows (stdout keeps only the figures)."""
    states = Counter(j.status for j in sandbox.state.jobs.values())
    print(
        f"[{time.monotonic() - t0:6.1f} s] ended {tracker.ended}/{len(tracker.items)}, "
        f"active {tracker.active}, provider {dict(states)}, discord calls {len(fake.calls)}, "
        f"peak rss {peak.rss / 2**20:.0f} MB",
        file=sys.stderr,
        flush=True,
    )


def busiest_second(times: Sequence[float]) -> int:
    """The most timestamps (sorted) falling in any window of one second."""
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


async def invoke(
    fake: FakeDiscord, tracker: Tracker, n: int, member: Member, channel: Channel
) -> Tracked:
    options: dict[str, object] = {
        "prompt": f"bench job {n}: a paper boat on a stormy sea",
        "resolution": "480p",
        "duration": 5,
    }
    handle = await fake.invoke(member, channel, "video", options)
    tracked = Tracked(n, handle)
    tracker.add(tracked)
    return tracked


async def acknowledged(tracked: Tracked) -> None:
    try:
        answer = await tracked.handle.response(timeout=15.0)
    except TimeoutError:
        return
    tracked.ack_ms = (answer.at - tracked.handle.record.sent_at) * 1000


def build_world(
    fake: FakeDiscord, jobs: int, channels: int
) -> tuple[Guild, list[Channel], list[Member]]:
    guild = fake.add_guild("Bench Club")
    made = [guild.add_text_channel(f"videos-{i}") for i in range(channels)]
    members = [guild.add_member(f"member-{i}") for i in range(jobs)]
    return guild, made, members


def build_shards(
    fake: FakeDiscord, jobs: int, channels: int, shards: int
) -> tuple[list[Guild], list[tuple[Member, Channel]]]:
    """One guild per shard (of `shards`); channel c goes to guild c % shards, member n to guild
    n % shards. Returns the guilds and, for every job n, member n and a channel of its guild
    (round-robin over that guild's channels)."""
    guilds = [fake.add_guild(f"Bench Club {i}", shard=(i, shards)) for i in range(shards)]
    made = [guilds[c % shards].add_text_channel(f"videos-{c}") for c in range(channels)]
    by_guild = [made[i::shards] for i in range(shards)]
    places = []
    for n in range(jobs):
        mine = by_guild[n % shards]
        places.append((guilds[n % shards].add_member(f"member-{n}"), mine[n // shards % len(mine)]))
    return guilds, places


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--jobs", type=int, default=1000, help="videos in total (default 1000)")
    p.add_argument("--channels", type=int, default=50, help="text channels (default 50)")
    p.add_argument("--burst", type=int, default=200, help="simultaneous first wave (default 200)")
    p.add_argument("--rate", type=float, default=50.0, help="invocations/s after the burst")
    p.add_argument("--poller", choices=[*POLLERS, "both"], default="both", help="RUNCOMFY_POLLER")
    p.add_argument("--short", action="store_true", help="short jobs: 2.5 s queue + 2.5 s run")
    p.add_argument("--poll", type=float, default=3.0, help="RUNCOMFY_POLL_INTERVAL (default 3)")
    p.add_argument(
        "--max-rps", type=float, default=DEFAULT_MAX_RPS, help="RUNCOMFY_MAX_RPS (adaptive run)"
    )
    p.add_argument(
        "--end-burst", type=int, default=DEFAULT_END_BURST,
        help="RUNCOMFY_END_BURST (adaptive run)",
    )  # fmt: skip
    p.add_argument("--card-interval", type=float, default=5.0, help="CARD_EDIT_INTERVAL")
    p.add_argument("--queue-seconds", type=float, help="sandbox wait before start (5)")
    p.add_argument("--run-seconds", type=float, help="sandbox generation time (20)")
    p.add_argument("--concurrency", type=int, default=100, help="sandbox jobs generating at once")
    p.add_argument("--timeout", type=float, default=None, help="give up waiting after (s)")
    p.add_argument(
        "--settle", type=float, default=1.0, help="idle seconds between bot ready and the burst"
    )
    p.add_argument("--keep", action="store_true", help="keep the work folder (bot log, db)")
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="bot processes, shards 0..N-1 of N with a guild each (above 1: PostgreSQL only)",
    )
    p.add_argument("--database", metavar="postgres|URL", help=DATABASE_HELP)
    args = p.parse_args(argv)
    check_args(args, p)
    if args.queue_seconds is None:
        args.queue_seconds = SHORT_SECONDS if args.short else 5.0
    if args.run_seconds is None:
        args.run_seconds = SHORT_SECONDS if args.short else 20.0
    return args


async def start_bots(
    fake: FakeDiscord,
    sandbox: Sandbox,
    guilds: Sequence[Guild],
    workdir: Path,
    args: argparse.Namespace,
    poller: str,
    url: str | None,
) -> list[BotProcess]:
    """`args.processes` bot processes (one: in the work folder itself, not sharded; more: each
    in `p<i>/`, shard i); returns once each has logged in and its commands are synced."""
    count = args.processes
    bots = []
    for i in range(count):
        folder = workdir if count == 1 else workdir / f"p{i}"
        folder.mkdir(exist_ok=True)
        env = bot_env(
            api_base=fake.api_base,
            gateway_url=fake.gateway_url,
            runcomfy_url=sandbox.url,
            runcomfy_token=SANDBOX_TOKEN,
            database=folder / "data" / "bot.db",
            guild_ids=[guild.id for guild in guilds],
            RUNCOMFY_POLL_INTERVAL=str(args.poll),
            RUNCOMFY_POLLER=poller,
            RUNCOMFY_MAX_RPS=str(max_rps(args, poller)),
            RUNCOMFY_END_BURST=str(args.end_burst),
            CARD_EDIT_INTERVAL=str(args.card_interval),
            PYTHONPATH=str(ROOT),
            **({"DATABASE_URL": url} if url else {}),
            **shard_env(i, count),
        )
        bots.append(BotProcess(env, folder))
    await asyncio.gather(*(bot.start() for bot in bots))
    try:
        await fake.wait_for(lambda: fake.gateway.identify_count > 0 or None, timeout=60)
        for guild in guilds:
            await fake.wait_for(partial(fake.gateway.ready_for, guild.id), timeout=60)
            await fake.wait_for(partial(has_commands, fake, guild), timeout=60)
    except TimeoutError:
        await asyncio.gather(*(stop_bot(bot) for bot in bots))
        logs = "\n".join(bot.logs() for bot in bots)
        raise SystemExit("the bot did not log in / sync:\n" + logs) from None
    return bots


def has_commands(fake: FakeDiscord, guild: Guild) -> bool:
    return any(c["name"] == "video" for c in fake.commands(guild))


async def stop_bot(bot: BotProcess) -> None:
    try:
        await bot.stop(timeout=30)
    except TimeoutError:
        await bot.kill()


def max_rps(args: argparse.Namespace, poller: str) -> float:
    return args.max_rps if poller == "adaptive" else 0.0


async def run(args: argparse.Namespace, poller: str, databases: Databases) -> dict[str, float]:
    """One run with one poller: prints its figures, returns the ones compared."""
    figures: dict[str, float] = {}
    jobs, burst = args.jobs, min(args.burst, args.jobs)
    count = args.processes
    url = await databases.fresh(poller)
    workdir = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    config = SandboxConfig(
        token=SANDBOX_TOKEN,
        queue_seconds=args.queue_seconds,
        run_seconds=args.run_seconds,
        concurrency=args.concurrency,
    )
    drain = args.queue_seconds + math.ceil(jobs / args.concurrency) * args.run_seconds
    timeout = args.timeout or (drain + (jobs - burst) / args.rate + 4 * args.poll + 90)
    out = print
    out("# bench/jobs.py: /video at scale through the real bot")
    out(f"code: {args.revision}")
    out(f"jobs: {jobs}")
    out(f"channels: {args.channels}")
    out(f"burst: {burst}")
    out(f"invocation rate after the burst: {args.rate:g}/s")
    out(f"RUNCOMFY_POLLER: {poller}")
    out(f"RUNCOMFY_POLL_INTERVAL: {args.poll:g} s")
    out(f"RUNCOMFY_MAX_RPS: {max_rps(args, poller):g} (0: no cap)")
    if max_rps(args, poller):
        out(f"RUNCOMFY_END_BURST: {args.end_burst}")
    out(f"CARD_EDIT_INTERVAL: {args.card_interval:g} s")
    out("quotas: product defaults, one member per job (480p, 5 s = 5 credits each)")
    out(
        f"sandbox: queue_seconds={args.queue_seconds:g} run_seconds={args.run_seconds:g} "
        f"concurrency={args.concurrency} (drains in about {drain:.0f} s)"
    )
    out("fake Discord rules: defaults (3 s deadline, rate limits as Discord)")
    out(f"wait timeout: {timeout:.0f} s")
    out(f"cpu cores: {psutil.cpu_count()}")
    if url is not None:
        shards = f": shards 0..{count - 1} of {count}, one guild each" if count > 1 else ""
        out(f"bot processes: {count}{shards}")
        out(f"database: {describe(args.database)}")

    me = psutil.Process()
    me_cpu0 = me.cpu_times()
    async with FakeDiscord(token=BOT_TOKEN, rules=Rules()) as fake, Sandbox(config) as sandbox:
        if count == 1:
            guild, channels, members = build_world(fake, jobs, args.channels)
            guilds = [guild]
            places = [(members[n], channels[n % len(channels)]) for n in range(jobs)]
        else:
            guilds, places = build_shards(fake, jobs, args.channels, count)
        t0 = time.monotonic()
        bots = await start_bots(fake, sandbox, guilds, workdir, args, poller, url)
        pids = ", ".join(str(bot.pid) for bot in bots)
        out(
            f"bot start-up to commands synced: {time.monotonic() - t0:.1f} s "
            f"(pid{'s' if count > 1 else ''} {pids})"
        )
        await asyncio.sleep(args.settle)
        procs = [psutil.Process(bot.pid) for bot in bots]
        tracker = Tracker(fake)
        peak = Peak()
        sampler = asyncio.create_task(sample(procs, tracker, sandbox, peak))
        delivered_ok = False
        try:
            # Phase 1: the burst.
            bot_cpu0, me_cpu_b0 = [cpu_seconds(p) for p in procs], cpu_seconds(me)
            t1 = time.monotonic()
            wave = await asyncio.gather(
                *(invoke(fake, tracker, n, *places[n]) for n in range(burst))
            )
            await asyncio.gather(*(acknowledged(t) for t in wave))
            burst_s = time.monotonic() - t1
            burst_each = [cpu_seconds(p) - c for p, c in zip(procs, bot_cpu0, strict=True)]
            burst_cpu = (sum(burst_each), cpu_seconds(me) - me_cpu_b0)
            # Phase 2: the rest, paced.
            t2 = time.monotonic()
            rest: list[Tracked] = []
            acks: list[asyncio.Task[None]] = []
            for i, n in enumerate(range(burst, jobs)):
                due = t2 + i / args.rate
                if (wait := due - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                tracked = await invoke(fake, tracker, n, *places[n])
                rest.append(tracked)
                acks.append(asyncio.create_task(acknowledged(tracked)))
                if i % 50 == 0:
                    tracker.scan()
            await asyncio.gather(*acks)
            rest_s = time.monotonic() - t2
            # Phase 3: wait for everything to end.
            t3 = time.monotonic()
            deadline = t3 + timeout
            shown = 0.0
            while time.monotonic() < deadline:
                tracker.scan()
                if tracker.ended == jobs:
                    delivered_ok = True
                    break
                if time.monotonic() - shown >= PROGRESS_SECONDS:
                    shown = time.monotonic()
                    progress(t1, tracker, peak, fake, sandbox)
                await asyncio.sleep(SCAN_SECONDS)
            wait_s = time.monotonic() - t3
            total_s = time.monotonic() - t1
            cpu_each = [cpu_seconds(p) for p in procs]
            bot_cpu = sum(cpu_each)
            rss_each = [p.memory_info().rss for p in procs]
            bot_rss_end = sum(rss_each)
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            await asyncio.gather(*(stop_bot(bot) for bot in bots))
        me_cpu1 = me.cpu_times()

        db: SqlDatabase
        if url is None:
            db = await Database.open(workdir / "data" / "bot.db")
        else:
            db = await open_database(workdir / "data" / "bot.db", url, migrate=False)
        try:
            rows = await db.fetchall(
                "SELECT id, status, request_id, result_message_id, guild_id, lease_owner"
                " FROM jobs ORDER BY id"
            )
        finally:
            await db.close()

        out("")
        out("## timing")
        out(f"phase 1 (burst of {burst}, until all acknowledged): {burst_s:.1f} s")
        out(f"phase 2 ({jobs - burst} more at {args.rate:g}/s, until acknowledged): {rest_s:.1f} s")
        out(
            f"phase 3 (until every job ended): {wait_s:.1f} s"
            + ("" if delivered_ok else " (TIMEOUT)")
        )
        out(f"total from first invocation: {total_s:.1f} s")

        out("")
        out("## acknowledgement (INTERACTION_CREATE sent -> first callback received)")
        burst_acks = [t.ack_ms for t in wave if t.ack_ms is not None]
        rest_acks = [t.ack_ms for t in rest if t.ack_ms is not None]
        out(f"burst acknowledged: {len(burst_acks)}/{burst}")
        out(f"burst ack p50: {percentile(burst_acks, 50):.0f} ms")
        out(f"burst ack p99: {percentile(burst_acks, 99):.0f} ms   (target: < 500 ms at 200)")
        figures["burst ack p99 (ms)"] = percentile(burst_acks, 99)
        out(f"burst ack min: {min(burst_acks, default=math.nan):.0f} ms")
        out(f"burst ack max: {max(burst_acks, default=math.nan):.0f} ms")
        out(
            f"CPU while the burst was acknowledged ({burst_s * 1000:.0f} ms wall): "
            f"bot {burst_cpu[0] * 1000:.0f} ms{each_ms(burst_each)}, "
            f"this process (fake Discord + sandbox) {burst_cpu[1] * 1000:.0f} ms"
        )
        if rest:
            out(f"paced ack p50: {percentile(rest_acks, 50):.0f} ms")
            out(f"paced ack p99: {percentile(rest_acks, 99):.0f} ms")
        late = sum(1 for t in tracker.items if t.ack_ms is not None and t.ack_ms > 3000)
        out(f"acks later than Discord's 3 s deadline: {late}")

        out("")
        out("## RunComfy (sandbox request log)")
        log = sandbox.state.log
        by_route = Counter(e.route for e in log)
        out(f"requests total: {len(log)} = {len(log) / jobs:.2f} per job")
        for route_name, count in sorted(by_route.items()):
            out(f"  {route_name}: {count} = {count / jobs:.2f} per job")
        split = {
            part: sum(by_route.get(r, 0) for r in routes) / jobs
            for part, routes in (
                ("submit", ("submit",)),
                ("looks", ("status", "result", "cancel")),
                ("download", ("video", "redirect")),
            )
        }
        per_job = sum(split.values())
        out(
            f"RunComfy requests per job: {per_job:.2f} (submit {split['submit']:.2f}, "
            f"looks {split['looks']:.2f}, download {split['download']:.2f})"
        )
        figures["RunComfy requests per job"] = per_job
        figures["looks per job"] = split["looks"]
        limited = sum(1 for e in log if e.status == 429)
        out(f"429s from RunComfy: {limited}   (target: 0)")
        figures["RunComfy 429s"] = limited
        polls = Counter(e.request_id for e in log if e.route in ("status", "result"))
        lifetimes = [
            (j.finished_at - j.created_at, polls.get(rid, 0))
            for rid, j in sandbox.state.jobs.items()
            if j.finished_at is not None
        ]
        life_total = sum(life for life, _ in lifetimes)
        polls_total = sum(p for _, p in lifetimes)
        per_unit = polls_total / (life_total / POLL_UNIT) if life_total else math.nan
        out(f"sandbox jobs: {len(sandbox.state.jobs)}, finished: {len(lifetimes)}")
        mean_life = life_total / max(len(lifetimes), 1)
        out(f"mean provider lifetime (submit -> finished): {mean_life:.1f} s")
        out(f"status/result polls per job: {polls_total / max(len(lifetimes), 1):.2f}")
        out(f"polls per job per 3 s of lifetime: {per_unit:.2f}   (target: <= 1)")
        over = sum(1 for life, p in lifetimes if life > 0 and p / (life / POLL_UNIT) > 1.5)
        out(f"jobs polled faster than 1.5 per 3 s: {over}")
        poll_times: dict[str, list[float]] = {}
        for entry in log:
            if entry.route in ("status", "result") and entry.request_id:
                poll_times.setdefault(entry.request_id, []).append(entry.at)
        intervals = [b - a for ts in poll_times.values() for a, b in itertools.pairwise(ts)]
        out(
            f"interval between two polls of a job: p1 {percentile(intervals, 1):.2f} s, "
            f"p50 {percentile(intervals, 50):.2f} s, p99 {percentile(intervals, 99):.2f} s"
        )

        figures.update(stage_changes(sandbox, poll_times, out))

        out("")
        out("## Discord (fake's call log)")
        calls = fake.calls
        via = Counter(c.via for c in calls)
        out(f"requests total: {len(calls)} = {len(calls) / jobs:.2f} per job")
        for name in ("interaction", "bot", "none"):
            out(f"  via {name}: {via.get(name, 0)} = {via.get(name, 0) / jobs:.2f} per job")
        for route_name, count in Counter(c.route for c in calls).most_common(8):
            out(f"  {route_name}: {count} = {count / jobs:.2f} per job")
        statuses = Counter(c.status for c in calls)
        out(f"answers by status: {dict(sorted(statuses.items()))}")
        out(f"429s received: {fake.count_429s()}   (target: 0)")
        figures["Discord 429s"] = fake.count_429s()
        bot_times = sorted(c.at for c in calls if c.via == "bot")
        out(
            f"most bot-token requests in any 1 s: {busiest_second(bot_times)}   (Discord's "
            "global limit is 50/s; the fake does not enforce it)"
        )
        out(f"invalid requests (401/403/429): {fake.count_invalid_requests()}")
        out(f"calls to routes the fake does not know: {len(fake.unhandled)}")

        out("")
        out("## delivery (provider finished -> result message created)")
        # Sandbox log times are monotonic, job and message times are wall clock: one offset.
        wall = time.time() - time.monotonic()
        seen_at: dict[str, float] = {}
        fetched_at: dict[str, float] = {}
        for entry in log:
            job = sandbox.state.jobs.get(entry.request_id or "")
            if job is None or job.finished_at is None:
                continue
            at = entry.at + wall
            if entry.route == "result" and at >= job.finished_at:
                seen_at.setdefault(entry.request_id or "", at)
            elif entry.route == "video":
                fetched_at.setdefault(entry.request_id or "", at)
        delays, lags, fetches, posts = [], [], [], []
        results_by_channel: dict[int, list[float]] = {}
        for row in rows:
            rid = row["request_id"] or ""
            job = sandbox.state.jobs.get(rid)
            message = fake.world.messages.get(row["result_message_id"] or 0)
            if job is None or job.finished_at is None or message is None:
                continue
            delays.append(message.created_at - job.finished_at)
            results_by_channel.setdefault(message.channel.id, []).append(message.created_at)
            if rid in seen_at and rid in fetched_at:
                lags.append(seen_at[rid] - job.finished_at)
                fetches.append(fetched_at[rid] - seen_at[rid])
                posts.append(message.created_at - fetched_at[rid])
        out(f"measured: {len(delays)} jobs")
        out(f"delivery delay p50: {percentile(delays, 50):.2f} s")
        out(f"delivery delay p99: {percentile(delays, 99):.2f} s   (target: <= 1.5 s)")
        out(f"delivery delay max: {max(delays, default=math.nan):.2f} s")
        figures["delivery p50 (s)"] = percentile(delays, 50)
        figures["delivery p99 (s)"] = percentile(delays, 99)
        out("delivery delay split (p50 / p99):")
        out(
            f"  finished -> bot's poll saw it: {percentile(lags, 50):.2f} / "
            f"{percentile(lags, 99):.2f} s"
        )
        out(
            f"  poll saw it -> video download started: {percentile(fetches, 50):.2f} / "
            f"{percentile(fetches, 99):.2f} s"
        )
        out(
            f"  download started -> result message created: {percentile(posts, 50):.2f} / "
            f"{percentile(posts, 99):.2f} s"
        )
        gaps = [
            b - a
            for times in results_by_channel.values()
            for a, b in itertools.pairwise(sorted(times))
        ]
        out(
            f"gap between consecutive results in one channel: min {min(gaps, default=math.nan):.2f}"
            f" s, p50 {percentile(gaps, 50):.2f} s"
        )

        out("")
        out("## bot process" if count == 1 else f"## bot processes ({count}, taken together)")
        out(
            f"peak RSS: {peak.rss / 2**20:.0f} MB with {peak.active} jobs active "
            f"({peak.provider_active} queued/generating at the provider)   "
            f"(target: < 200 MB for 1,000 active)"
        )
        out(
            f"most jobs active at once: {peak.max_active}, RSS then (highest sample): "
            f"{peak.rss_at_max_active / 2**20:.0f} MB ({peak.samples} samples in all)"
        )
        out(f"RSS at the end: {bot_rss_end / 2**20:.0f} MB")
        out(f"CPU (user+system): {bot_cpu:.1f} s = {bot_cpu / jobs * 1000:.1f} ms per job")
        me_cpu = (me_cpu1.user + me_cpu1.system) - (me_cpu0.user + me_cpu0.system)
        out(f"bench process CPU (fake Discord + sandbox): {me_cpu:.1f} s")
        text = "\n".join(bot.logs() for bot in bots)
        lines = text.splitlines()
        warnings = [ln for ln in lines if " WARNING " in ln and "voice will NOT" not in ln]
        errors = [ln for ln in lines if " ERROR " in ln or " CRITICAL " in ln]
        out(
            f"bot log: {len(lines)} lines, {len(errors)} ERROR, {len(warnings)} WARNING "
            f"(voice notices left out), {text.count('Traceback')} tracebacks"
        )
        for line in (errors + warnings)[:5]:
            out(f"  {line[:160]}")

        out("")
        out("## outcome")
        ends = Counter(t.ended or "unfinished" for t in tracker.items)
        out(f"jobs delivered: {ends.get('delivered', 0)}")
        out(f"jobs failed: {ends.get('failed', 0)}")
        for how in ("refused", "no-ack", "unfinished"):
            if ends.get(how):
                out(f"jobs {how}: {ends[how]}")
        out(f"bot's table: {dict(Counter(r['status'] for r in rows))}")
        if url is not None:
            twice = sum(1 for posted in tracker.posted.values() if posted > 1)
            out(f"jobs with more than one result message: {twice}   (target: 0)")
            out(f"sandbox submits per job: {len(sandbox.state.jobs) / jobs:.2f}   (target: 1)")
            report_processes(out, bots, cpu_each, peak.each, rss_each, rows, jobs)
        if args.keep or not delivered_ok or ends.get("delivered", 0) != jobs:
            if url is not None:
                await keep_database(url, databases, workdir, out)
            out(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        figures["jobs delivered"] = ends.get("delivered", 0)
        figures["wall time (s)"] = total_s
    return figures


def each_ms(seconds: Sequence[float]) -> str:
    """Per process, for several: " (a + b ms)"."""
    if len(seconds) < 2:
        return ""
    return " (" + " + ".join(f"{s * 1000:.0f}" for s in seconds) + " ms)"


async def keep_database(url: str, databases: Databases, workdir: Path, out: Print) -> None:
    """With the work folder: the jobs table as CSV, and the throwaway cluster's server log."""
    with contextlib.suppress(Exception):
        await dump_jobs(url, workdir / "jobs.csv")
        out(f"jobs table: {workdir / 'jobs.csv'}")
    if databases.cluster is not None:
        with contextlib.suppress(OSError):
            shutil.copy(databases.cluster.root / "server.log", workdir / "postgres.log")


def stage_changes(
    sandbox: Sandbox, poll_times: dict[str, list[float]], out: Callable[[str], None]
) -> dict[str, float]:
    """Provider stage change (start, finish) -> the bot's first look at or after it."""
    wall = time.time() - time.monotonic()
    started: list[float] = []
    finished: list[float] = []
    for rid, job in sandbox.state.jobs.items():
        times = poll_times.get(rid, [])
        changes = (
            (started, job.started_mono if job.started_at is not None else None),
            (finished, job.finished_at - wall if job.finished_at is not None else None),
        )
        for found, at in changes:
            if at is None:
                continue
            seen = next((t for t in times if t >= at - SAME_MOMENT), None)
            if seen is not None:
                found.append(max(seen - at, 0.0))
    both = started + finished
    slowest_ends(sandbox, poll_times, wall, out)
    out("")
    out("## stage changes (provider changed stage -> the bot's next look at the job)")
    for name, values in (("queued -> generating", started), ("generating -> done", finished)):
        out(
            f"{name}: {len(values)} seen, p50 {percentile(values, 50):.2f} s, "
            f"p99 {percentile(values, 99):.2f} s, max {max(values, default=math.nan):.2f} s"
        )
    out(f"either: p50 {percentile(both, 50):.2f} s, p99 {percentile(both, 99):.2f} s")
    return {
        "stage change p50 (s)": percentile(both, 50),
        "stage change p99 (s)": percentile(both, 99),
    }


def slowest_ends(
    sandbox: Sandbox, poll_times: dict[str, list[float]], wall: float, out: Callable[[str], None]
) -> None:
    """The three ends seen latest, with every look at them (seconds after the job started):
    where a poller's plan went wrong."""
    lags = []
    for rid, job in sandbox.state.jobs.items():
        if job.finished_at is None or job.started_at is None:
            continue
        end = job.finished_at - wall
        seen = next((t for t in poll_times.get(rid, []) if t >= end - SAME_MOMENT), None)
        if seen is not None:
            lags.append((seen - end, rid, job.started_mono, end))
    out("")
    out("## the three ends seen latest (looks, in seconds after the job started)")
    for lag, rid, start, end in sorted(lags)[-3:]:
        looks = " ".join(f"{t - start:.1f}" for t in poll_times.get(rid, []))
        out(f"seen {lag:.2f} s late; ran {end - start:.1f} s; looks: {looks}")


def compare(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    fixed, adaptive = results["fixed"], results["adaptive"]
    load = "short jobs" if args.short else "default load"
    print("")
    print(f"# adaptive vs fixed ({load}: {args.jobs} jobs, queue {args.queue_seconds:g} s, ")
    print(f"#   run {args.run_seconds:g} s, concurrency {args.concurrency})")
    print(f"{'figure':<28} {'fixed':>10} {'adaptive':>10} {'adaptive/fixed':>15}")
    for name in fixed:
        a, f = adaptive.get(name, math.nan), fixed[name]
        ratio = a / f if f else math.nan
        print(f"{name:<28} {f:>10.2f} {a:>10.2f} {ratio:>15.2f}")


def revision() -> str:
    """The commit measured, and whether bot/, cogs/ or db/ had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot", "cogs", "db"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head or 'unknown'}" + (" + uncommitted changes in bot/cogs/db" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.revision = revision()
    pollers = POLLERS if args.poller == "both" else (args.poller,)
    results: dict[str, dict[str, float]] = {}
    databases = Databases(args.database)
    try:
        for n, poller in enumerate(pollers):
            if n:
                print("\n")
            results[poller] = asyncio.run(run(args, poller, databases))
    finally:
        databases.close()
    if len(results) == 2:
        compare(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
