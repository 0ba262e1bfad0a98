"""The sandbox generator: a local, RunComfy-compatible model API that costs no credits.

Used by the client's and the end-to-end tests (in-process, through `Sandbox`), by the demo, and
by admins who point the real bot at `python -m bot sandbox` (through `serve`).
"""

from bot.sandbox.server import STATE_KEY, Sandbox, create_app, serve
from bot.sandbox.state import (
    LoggedRequest,
    Outcome,
    SandboxConfig,
    SandboxJob,
    SandboxState,
)

__all__ = [
    "STATE_KEY",
    "LoggedRequest",
    "Outcome",
    "Sandbox",
    "SandboxConfig",
    "SandboxJob",
    "SandboxState",
    "create_app",
    "serve",
]
