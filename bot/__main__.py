"""`python -m bot` (or `seedance-bot`): run the bot; `sandbox`, `demo`, and the operator's
`check`, `sync` and `backup` (bot/ops/) subcommands.

A bad setting prints one line naming the variable and exits with code 2, never a traceback
(`check` counts it as one of the problems it reports, and exits with code 1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

import aiohttp

from bot.config import ConfigError, Settings
from bot.core.catalog import Catalog
from bot.core.model_meta import PROMPT_OPTION
from bot.logs import TEXT_FORMAT, install_redaction, use_format
from bot.memory import release_free_memory
from bot.ops.discord_api import point_discord_at
from bot.ops.health import beat_forever, heartbeat_key
from bot.services import build_services, load_catalog
from db.connect import hints_for, open_database
from db.database import SchemaTooNew
from db.meta import MetaRepo
from db.postgres import DatabaseUnreachable

log = logging.getLogger("bot")
# Commands that print their own findings: their logs only matter when something goes wrong.
QUIET_COMMANDS = ("demo", "check", "sync", "backup")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        # The demo prints its own progress; its logs only matter when something goes wrong.
        # So do the operator's commands.
        quiet = args.command in QUIET_COMMANDS and "LOG_LEVEL" not in os.environ
        configure_logging(settings, level="WARNING" if quiet else settings.log_level)
        if args.command == "sandbox":
            return _run_sandbox(settings, args.host, args.port)
        if args.command == "demo":
            from bot.demo import run_demo

            options = {o.name: getattr(args, o.name) for o in Catalog.shipped().slash_options()}
            demo = run_demo(settings, args.model, options, live=args.live, out=Path(args.out))
            return asyncio.run(demo)
        if args.command in ("check", "sync", "backup"):
            return _run_ops(settings, args)
        settings.require_discord_token()
        asyncio.run(run_bot(settings, handle_signals=True))
        return 0
    except ConfigError as exc:
        if args.command == "check":  # a problem check reports, like the others it finds
            print(f"problem: {exc}", file=sys.stderr)
            return 1
        print(f"seedance-bot: configuration error: {exc}", file=sys.stderr)
        return 2
    except (SchemaTooNew, DatabaseUnreachable) as exc:
        print(f"seedance-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def configure_logging(settings: Settings, level: str) -> None:
    """Logging for every command, set once: tokens redacted, discord.py never below INFO."""
    logging.basicConfig(level=level, format=TEXT_FORMAT)
    use_format(settings.log_format)  # LOG_FORMAT=json: one JSON object a line
    # Error logs can carry URLs with interaction tokens, or the configured tokens themselves.
    install_redaction(settings.discord_token, settings.runcomfy_api_token, settings.database_url)
    # discord.py's DEBUG output contains interaction tokens (gateway payloads, webhook
    # URLs), which let anyone post as the bot for 15 minutes: never below INFO.
    logging.getLogger("discord").setLevel(max(logging.INFO, logging.root.level))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seedance-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the Discord bot (the default)")
    sandbox = sub.add_parser("sandbox", help="run the RunComfy-compatible sandbox generator")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8188)
    demo = sub.add_parser("demo", help="run one text-to-video job in the console")
    demo.add_argument("prompt")
    catalog = Catalog.shipped()
    keys = ", ".join(catalog.keys())
    demo.add_argument("--model", help=f"one of {keys} (or one of MODELS_DIR)")
    # The same options as /video, from the models' schemas (an image is given as a URL).
    for option in catalog.slash_options():
        if option.name != PROMPT_OPTION:
            flag = "--" + option.name.replace("_", "-")
            demo.add_argument(flag, dest=option.name, help=option.description.replace("%", "%%"))
    demo.add_argument("--live", action="store_true", help="use the real RunComfy API")
    demo.add_argument("--out", default="data/demo", help="folder for the video (default data/demo)")
    check = sub.add_parser("check", help="check the settings, database, commands and models")
    check.add_argument("--live", action="store_true", help="also try the tokens (harmless calls)")
    check.add_argument("--health", action="store_true", help="is the running bot alive? (0/1)")
    sync = sub.add_parser("sync", help="sync the slash commands now")
    sync.add_argument("--guild", type=int, action="append", default=[], metavar="ID")
    sync.add_argument("--global", dest="to_global", action="store_true", help="sync globally")
    backup = sub.add_parser("backup", help="copy the database safely, also while the bot runs")
    backup.add_argument("path", help="the new file, or a folder to put it in")
    return parser


def _run_ops(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.backup import run_backup
    from bot.ops.check import run_check, run_health
    from bot.ops.sync import run_sync

    if args.command == "check":
        checking = run_health(settings) if args.health else run_check(settings, live=args.live)
        return asyncio.run(checking)
    if args.command == "sync":
        return asyncio.run(run_sync(settings, guild_ids=args.guild, to_global=args.to_global))
    return asyncio.run(run_backup(settings, Path(args.path)))


def _run_sandbox(settings: Settings, host: str, port: int) -> int:
    from bot.sandbox import SandboxConfig, serve

    token = settings.runcomfy_api_token.reveal() if settings.runcomfy_api_token else None
    catalog = load_catalog(settings)  # the bot's models, and an operator's
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(SandboxConfig(token=token), host, port, catalog=catalog))
    return 0


async def run_bot(
    settings: Settings, *, stop: asyncio.Event | None = None, handle_signals: bool = False
) -> None:
    """Open everything in one `async with`, run until `stop` (or SIGINT/SIGTERM), close cleanly."""
    from bot.client import make_bot
    from bot.health import serving

    token = settings.require_discord_token()
    point_discord_at(settings)
    stop = stop or asyncio.Event()
    if handle_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    url = settings.database_url.reveal() if settings.database_url else None
    db = await open_database(settings.database_path, url)
    # What `check --health` reads (bot/ops/health.py).
    beat = beat_forever(MetaRepo(db), key=heartbeat_key(settings.shard_ids))
    heartbeat = asyncio.create_task(beat, name="heartbeat")
    try:
        async with aiohttp.ClientSession() as session, hints_for(db, url) as hints:
            services = build_services(settings, session, db, hints)
            assert services.retention is not None
            # RETENTION_DAYS: old prompts and log rows, leftover videos (bot/core/retention.py).
            pruning = asyncio.create_task(
                services.retention.run_forever(then=release_free_memory), name="retention"
            )
            async with make_bot(services) as bot, serving(bot, services, services.metrics):
                runner = asyncio.create_task(bot.start(token.reveal()), name="discord")
                stopper = asyncio.create_task(stop.wait(), name="stop")
                done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
                log.info("shutting down: finishing in-flight submits, saving state")
                # Within Docker's stop timeout; a submit still unanswered then is refunded at the
                # next start (never resent), an upload in progress is finished first.
                await services.jobs.shutdown(grace=settings.shutdown_grace)
                stopper.cancel()
                pruning.cancel()
                await bot.close()
                if runner in done:
                    runner.result()  # a login failure surfaces here
                else:
                    with contextlib.suppress(asyncio.CancelledError):
                        await runner
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        await db.close()
    log.info("stopped")


if __name__ == "__main__":
    sys.exit(main())
