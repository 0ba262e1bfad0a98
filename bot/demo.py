"""`python -m bot demo`: one job through the bot's own job code, printed to the console.

Same validation, quota reservation, submit, poll and download as a Discord /video; only the
sink differs (it prints instead of editing a card). Runs against an in-process sandbox unless
`--live`, and keeps its bookkeeping in a throwaway sqlite file.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import aiohttp

from bot.config import ConfigError, Secret, Settings
from bot.core.domain import Job, JobStatus
from bot.core.errors import UserFacingError
from bot.services import build_services, load_catalog
from bot.ui.cards import status_line
from db.database import Database

DEMO_UPLOAD_LIMIT = 100 * 1024 * 1024


class ConsoleSink:
    """Prints each visible change, and keeps the video in `out_dir`."""

    def __init__(self, out_dir: Path) -> None:
        self._out_dir = out_dir
        self._started = time.monotonic()
        self.saved: Path | None = None

    def _say(self, text: str) -> None:
        print(f"[{time.monotonic() - self._started:6.1f}s] {text}", flush=True)

    async def progress(self, job: Job) -> None:
        self._say(_plain(status_line(job)))

    async def deliver(self, job: Job, video: Path | None, *, too_large: bool) -> int | None:
        if video is None:
            self._say(f"video too large to keep here; link: {job.video_url}")
            return None
        self._out_dir.mkdir(parents=True, exist_ok=True)
        self.saved = self._out_dir / f"video-{job.id}-{int(time.time())}.mp4"
        shutil.copyfile(video, self.saved)
        return None

    async def finished(self, job: Job) -> None:
        self._say(_plain(status_line(job)))
        if job.status is JobStatus.FAILED and job.error:
            self._say(job.error)
        if self.saved is not None:
            size = self.saved.stat().st_size
            self._say(f"video saved: {self.saved} ({size:,} bytes)")


def _plain(line: str) -> str:
    return line.replace("<@", "user ").replace(">", "")


async def run_demo(
    settings: Settings, model: str | None, options: dict[str, object], *, live: bool, out: Path
) -> int:
    catalog = load_catalog(settings)
    spec = catalog.get(model) if model else catalog.default
    if spec is None:
        print(f"error: there is no model {model!r}; use one of {', '.join(catalog.keys())}")
        return 2
    request = spec.from_options(options)
    if isinstance(request, list):
        for problem in request:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    async with AsyncExitStack() as stack:
        if live:
            if settings.runcomfy_api_token is None:
                raise ConfigError("RUNCOMFY_API_TOKEN", "needed for --live; get one from RunComfy")
            base_url, token = settings.runcomfy_base_url, settings.runcomfy_api_token
        else:
            from bot.sandbox import Sandbox, SandboxConfig

            sandbox = await stack.enter_async_context(Sandbox(SandboxConfig(token="sandbox")))
            base_url, token = sandbox.url, Secret("sandbox")
            print(f"sandbox generator running at {base_url} (no credits are spent)")
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="seedance-demo-")))
        demo_settings = replace(
            settings,
            runcomfy_base_url=base_url,
            runcomfy_api_token=token,
            database_path=workdir / "demo.sqlite3",
            # The sandbox is fast; poll it often so the demo shows each step as it happens.
            poll_interval=settings.poll_interval if live else 0.5,
        )
        session = await stack.enter_async_context(aiohttp.ClientSession())
        db = await Database.open(demo_settings.database_path)
        stack.push_async_callback(db.close)
        services = build_services(demo_settings, session, db)
        sink = ConsoleSink(out)
        try:
            job = await services.jobs.accept(
                guild_id=0, channel_id=0, user_id=0, request=request, upload_limit=DEMO_UPLOAD_LIMIT
            )
        except UserFacingError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        summary = spec.summary(job.params)
        print(
            f"job #{job.id}: “{job.prompt}” · {spec.display_name} · {summary} · "
            f"cost {job.cost} credits"
        )
        services.jobs.start(job, sink)
        await services.jobs.wait_idle()
        final = await services.jobs.get(job.id)
        return 0 if final is not None and final.status is JobStatus.DELIVERED else 1
