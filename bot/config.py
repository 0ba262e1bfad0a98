"""Settings read once from the environment (and `.env`), validated, frozen.

Every field is documented in `.env.example`. A bad value raises `ConfigError` naming the variable
and what it expects; `python -m bot` turns that into one line and exit code 2.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from dotenv import find_dotenv, load_dotenv

T = TypeVar("T")

DEFAULT_RUNCOMFY_BASE_URL = "https://model-api.runcomfy.net"
# Where RunComfy serves files, as its own CLI allows; the API host itself is always allowed too.
DEFAULT_DOWNLOAD_HOSTS: tuple[str, ...] = ("*.runcomfy.net", "*.runcomfy.com")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
POLLERS = ("adaptive", "fixed")
DEFAULT_MAX_RPS = 50.0
DEFAULT_END_BURST = 100  # a wave of ends seen at once (the bench: 100 jobs ending together)


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable, never its value."""

    def __init__(self, name: str, expected: str) -> None:
        super().__init__(f"{name}: {expected}")
        self.name = name


class Secret:
    """A string that never shows itself in a repr, str, log line or traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    discord_token: Secret | None = None
    runcomfy_api_token: Secret | None = None
    runcomfy_base_url: str = DEFAULT_RUNCOMFY_BASE_URL
    runcomfy_download_hosts: tuple[str, ...] = DEFAULT_DOWNLOAD_HOSTS
    database_path: Path = Path("data/seedance.db")
    database_url: Secret | None = None  # postgresql://...: PostgreSQL instead of the file
    discord_guild_ids: tuple[int, ...] = ()
    quota_credits_per_day: int = 60
    quota_max_active_jobs: int = 2
    quota_resolution_weights: Mapping[str, int] = field(
        default_factory=lambda: {"480p": 1, "720p": 2, "1080p": 5}
    )
    quota_model_weights: Mapping[str, int] = field(default_factory=dict)
    models_dir: Path | None = None
    log_level: str = "INFO"
    log_format: str = "text"
    metrics_port: int | None = None  # None: no metrics server
    metrics_host: str = "127.0.0.1"
    retention_days: int = 90  # 0: keep everything
    poll_interval: float = 3.0
    poller: str = "adaptive"
    poll_floor: float = 1.0
    poll_ceiling: float = 30.0
    max_rps: float = DEFAULT_MAX_RPS
    end_burst: int = DEFAULT_END_BURST  # looks at ended jobs let past the cap at once
    http_timeout: float = 30.0
    job_timeout: float = 1800.0
    card_edit_interval: float = 5.0
    shutdown_grace: float = 8.0
    job_lease_seconds: float = 30.0  # how long a dead process's jobs wait for a taker
    shard_count: int | None = None  # None: one process, Discord picks the count
    shard_ids: tuple[int, ...] | None = None  # this process's shards (None: all of them)
    # Only for tests and local tooling: point discord.py at a Discord-compatible server.
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings; without a mapping, `.env` is loaded first (the real environment wins)."""
        if env is None:
            # The .env of the folder the bot is started from (or above), not of the package.
            load_dotenv(find_dotenv(usecwd=True), override=False)
            env = os.environ
        r = _Reader(env)
        poll_floor = r.get("RUNCOMFY_POLL_FLOOR", _positive_float, 1.0)
        poll_ceiling = r.get("RUNCOMFY_POLL_CEILING", _positive_float, 30.0)
        if poll_ceiling < poll_floor:
            raise ConfigError("RUNCOMFY_POLL_CEILING", "expected at least RUNCOMFY_POLL_FLOOR")
        shard_count, shard_ids = _shards(r)
        return cls(
            discord_token=r.get("DISCORD_TOKEN", _secret, None),
            runcomfy_api_token=r.get("RUNCOMFY_API_TOKEN", _secret, None),
            runcomfy_base_url=r.get("RUNCOMFY_BASE_URL", _url, DEFAULT_RUNCOMFY_BASE_URL),
            runcomfy_download_hosts=r.get(
                "RUNCOMFY_DOWNLOAD_HOSTS", _host_patterns, DEFAULT_DOWNLOAD_HOSTS
            ),
            database_path=r.get("DATABASE_PATH", Path, Path("data/seedance.db")),
            database_url=r.get("DATABASE_URL", _database_url, None),
            discord_guild_ids=r.get("DISCORD_GUILD_IDS", _id_list, ()),
            quota_credits_per_day=r.get("QUOTA_CREDITS_PER_DAY", _non_negative_int, 60),
            quota_max_active_jobs=r.get("QUOTA_MAX_ACTIVE_JOBS", _positive_int, 2),
            quota_resolution_weights=r.get(
                "QUOTA_RESOLUTION_WEIGHTS", _weights, {"480p": 1, "720p": 2, "1080p": 5}
            ),
            quota_model_weights=r.get("QUOTA_MODEL_WEIGHTS", _model_weights, {}),
            models_dir=r.get("MODELS_DIR", _folder, None),
            log_level=r.get("LOG_LEVEL", _log_level, "INFO"),
            log_format=r.get("LOG_FORMAT", _log_format, "text"),
            metrics_port=r.get("METRICS_PORT", _port, None),
            metrics_host=r.get("METRICS_HOST", str, "127.0.0.1"),
            retention_days=r.get("RETENTION_DAYS", _non_negative_int, 90),
            poll_interval=r.get("RUNCOMFY_POLL_INTERVAL", _positive_float, 3.0),
            poller=r.get("RUNCOMFY_POLLER", _poller, "adaptive"),
            poll_floor=poll_floor,
            poll_ceiling=poll_ceiling,
            max_rps=r.get("RUNCOMFY_MAX_RPS", _rate, DEFAULT_MAX_RPS),
            end_burst=r.get("RUNCOMFY_END_BURST", _non_negative_int, DEFAULT_END_BURST),
            http_timeout=r.get("RUNCOMFY_HTTP_TIMEOUT", _positive_float, 30.0),
            job_timeout=r.get("JOB_TIMEOUT_SECONDS", _positive_float, 1800.0),
            card_edit_interval=r.get("CARD_EDIT_INTERVAL", _positive_float, 5.0),
            shutdown_grace=r.get("SHUTDOWN_GRACE_SECONDS", _positive_float, 8.0),
            job_lease_seconds=r.get("JOB_LEASE_SECONDS", _lease, 30.0),
            shard_count=shard_count,
            shard_ids=shard_ids,
            discord_api_base=r.get("DISCORD_API_BASE", _url, None),
            discord_gateway_url=r.get("DISCORD_GATEWAY_URL", _url, None),
        )

    @property
    def discord_share(self) -> float:
        """This process's part of Discord's global request budget: its shards' part of all
        of them (each process takes its share, so together they stay under the limit)."""
        if self.shard_count is None or self.shard_ids is None:
            return 1.0
        return len(self.shard_ids) / self.shard_count

    def runs_guild(self, guild_id: int) -> bool:
        """Whether this process's shards serve the guild (Discord: `(id >> 22) % count`)."""
        if self.shard_count is None or self.shard_ids is None:
            return True
        return (guild_id >> 22) % self.shard_count in self.shard_ids

    def require_discord_token(self) -> Secret:
        if self.discord_token is None:
            raise ConfigError(
                "DISCORD_TOKEN",
                "not set; put the bot token from the Discord developer portal in .env",
            )
        return self.discord_token


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def get(self, name: str, parse: Callable[[str], T], default: T) -> T:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            return parse(raw)
        except ValueError as exc:
            raise ConfigError(name, str(exc)) from None


def _secret(raw: str) -> Secret:
    return Secret(raw)


def _database_url(raw: str) -> Secret:
    # A secret: it may carry the database password.
    if not raw.startswith(("postgresql://", "postgres://")):
        raise ValueError("expected a URL starting with postgresql://")
    return Secret(raw)


def _url(raw: str) -> str:
    if not raw.startswith(("http://", "https://", "ws://", "wss://")):
        raise ValueError("expected a URL starting with http:// or https://")
    return raw.rstrip("/")


def _host_patterns(raw: str) -> tuple[str, ...]:
    # Imported here: the client package imports this module, so a top-level import would cycle.
    from bot.runcomfy.hosts import PATTERN_RULE, parse_patterns

    patterns = parse_patterns(raw.split(","))
    if not patterns:
        raise ValueError(f"expected at least one of {PATTERN_RULE}")
    return patterns


def _id_list(raw: str) -> tuple[int, ...]:
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not all(p.isascii() and p.isdigit() for p in parts):
        raise ValueError("expected comma-separated numeric server IDs, like 123456789012345678")
    return tuple(int(p) for p in parts)


def _shards(r: _Reader) -> tuple[int | None, tuple[int, ...] | None]:
    """SHARD_COUNT and SHARD_IDS: which of Discord's shards this process runs."""
    count = r.get("SHARD_COUNT", _positive_int, None)
    ids = r.get("SHARD_IDS", _shard_list, None)
    if ids is not None and count is None:
        raise ConfigError("SHARD_IDS", "needs SHARD_COUNT, the number of shards in all")
    if ids is not None and count is not None and max(ids) >= count:
        raise ConfigError("SHARD_IDS", f"expected shard ids from 0 to {count - 1}")
    return count, ids


def _shard_list(raw: str) -> tuple[int, ...]:
    try:
        ids = tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise ValueError("expected comma-separated shard numbers, e.g. 0,1") from None
    if not ids or min(ids) < 0 or len(set(ids)) != len(ids):
        raise ValueError("expected distinct shard numbers from 0, e.g. 0,1")
    return ids


def _lease(raw: str) -> float:
    seconds = _positive_float(raw)
    if seconds < 1.0:
        raise ValueError("expected at least 1 second")
    return seconds


def _non_negative_int(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()):
        raise ValueError("expected a whole number, 0 or more")
    return int(raw)


def _positive_int(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or int(raw) == 0:
        raise ValueError("expected a whole number, 1 or more")
    return int(raw)


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("expected a number of seconds greater than 0") from None
    if not value > 0 or value == float("inf"):
        raise ValueError("expected a number of seconds greater than 0")
    return value


def _rate(raw: str) -> float:
    expected = "expected requests per second, 0 (no cap) or more"
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(expected) from None
    if not 0 <= value < float("inf"):
        raise ValueError(expected)
    return value


def _poller(raw: str) -> str:
    name = raw.lower()
    if name not in POLLERS:
        raise ValueError("expected one of " + ", ".join(POLLERS))
    return name


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise ValueError("expected one of " + ", ".join(LOG_LEVELS))
    return level


def _log_format(raw: str) -> str:
    name = raw.lower()
    if name not in LOG_FORMATS:
        raise ValueError("expected one of " + ", ".join(LOG_FORMATS))
    return name


def _port(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 65535:
        raise ValueError("expected a TCP port number, 1 to 65535")
    return int(raw)


def _model_weights(raw: str) -> dict[str, int]:
    """`key=weight` pairs: a model's credits per second, over its meta file's (checked against
    the loaded models at start)."""
    expected = "expected model=weight pairs like blackforestlabs-flux-3-text-to-video=3"
    weights: dict[str, int] = {}
    for part in raw.split(","):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not (value.isascii() and value.isdigit()) or int(value) == 0:
            raise ValueError(expected)
        weights[key] = int(value)
    return weights


def _folder(raw: str) -> Path:
    path = Path(raw)
    if not path.is_dir():
        raise ValueError("expected a folder of <key>.input.json and <key>.meta.json files")
    return path


def _weights(raw: str) -> dict[str, int]:
    # Imported here so that config stays importable without the schema file in odd tooling.
    from bot.core.schema import MODEL

    expected = "expected resolution=weight pairs like 480p=1,720p=2,1080p=5"
    weights: dict[str, int] = {}
    for part in raw.split(","):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not (value.isascii() and value.isdigit()) or int(value) == 0:
            raise ValueError(expected)
        weights[key] = int(value)
    resolutions = MODEL.enum("resolution")
    if set(weights) != {str(r) for r in resolutions}:
        raise ValueError(expected + " covering exactly " + ", ".join(map(str, resolutions)))
    return weights
