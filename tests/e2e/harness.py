"""Run the real bot (`python -m bot`, its own start-up code) as a child process pointed at the
fake Discord and the sandbox generator, so a restart can be graceful (SIGTERM) or a SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

BOT_TOKEN = "fake-bot-token.not-a-secret-for-real"


class BotProcess:
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.proc: asyncio.subprocess.Process | None = None
        self.runs = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"bot-{self.runs}.log"

    def command(self) -> list[str]:
        """What runs the bot: its own start-up code, as an operator runs it."""
        return [sys.executable, "-m", "bot"]

    async def start(self) -> None:
        self.runs += 1
        log = self.log_path.open("wb")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.command(),
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
            )
        finally:
            log.close()

    async def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 20.0) -> int:
        """SIGTERM (graceful) or SIGKILL (a crash); returns the exit code."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        return code

    async def kill(self) -> None:
        await self.stop(signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(
            f"--- run {i} ---\n" + (self.workdir / f"bot-{i}.log").read_text(errors="replace")
            for i in range(1, self.runs + 1)
            if (self.workdir / f"bot-{i}.log").exists()
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


def bot_env(
    *,
    api_base: str,
    gateway_url: str,
    runcomfy_url: str,
    runcomfy_token: str,
    database: Path,
    guild_ids: list[int],
    **extra: str,
) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    return {
        **keep,
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",  # the work tree stays free of __pycache__
        "DISCORD_TOKEN": BOT_TOKEN,
        "DISCORD_API_BASE": api_base,
        "DISCORD_GATEWAY_URL": gateway_url,
        "RUNCOMFY_BASE_URL": runcomfy_url,
        "RUNCOMFY_API_TOKEN": runcomfy_token,
        "DATABASE_PATH": str(database),
        "DISCORD_GUILD_IDS": ",".join(str(g) for g in guild_ids),
        "RUNCOMFY_POLL_INTERVAL": "0.3",
        "CARD_EDIT_INTERVAL": "0.5",
        "LOG_LEVEL": "INFO",
        **extra,
    }
