"""Everything the bot needs, built once in `__main__` and handed to the bot (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp

from bot.config import ConfigError, Settings
from bot.core.catalog import Catalog, CatalogError
from bot.core.contests import ContestService
from bot.core.contests.video_entries import VideoEntries
from bot.core.hints import Hints, LocalHints
from bot.core.jobs import JobService
from bot.core.quotas import QuotaPolicy, QuotaService, QuotaStores
from bot.core.retention import Retention
from bot.metrics import Metrics
from bot.runcomfy import RunComfyClient
from db.blocklist import BlocklistRepo
from db.contest_jobs import JobContestRepo
from db.contests import ContestRepo
from db.guild_policy import GuildPolicyRepo
from db.jobs import JobRepo
from db.ledger import LedgerRepo
from db.meta import MetaRepo
from db.modlog import ModerationLogRepo
from db.retention import RetentionRepo
from db.sql import SqlDatabase

# With other processes on the database, a server's cached rules are read again at least this
# often (seconds), should the hint of a change made elsewhere be missed.
RULES_TTL = 60.0


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: SqlDatabase
    catalog: Catalog
    runcomfy: RunComfyClient
    quotas: QuotaService
    jobs: JobService
    meta: MetaRepo
    contests: ContestService
    video_entries: VideoEntries  # /video contest:<n>
    metrics: Metrics = field(default_factory=Metrics)  # /botstatus, METRICS_PORT
    retention: Retention | None = None  # RETENTION_DAYS; run by `python -m bot`


def quota_stores(db: SqlDatabase) -> QuotaStores:
    return QuotaStores(
        policies=GuildPolicyRepo(db),
        ledger=LedgerRepo(db),
        blocklist=BlocklistRepo(db),
        modlog=ModerationLogRepo(db),
    )


def build_services(
    settings: Settings,
    session: aiohttp.ClientSession,
    db: SqlDatabase,
    hints: Hints | None = None,
) -> Services:
    """`hints`: how processes sharing the database tell each other of changes (PostgreSQL's
    LISTEN/NOTIFY, db/notify.py); None: this is the only process."""
    catalog = load_catalog(settings)
    hints = hints or LocalHints()
    metrics = Metrics()
    runcomfy = RunComfyClient(
        session,
        base_url=settings.runcomfy_base_url,
        token=settings.runcomfy_api_token,
        timeout=settings.http_timeout,
        download_hosts=settings.runcomfy_download_hosts,
        telemetry=metrics,
    )
    quotas = QuotaService(
        QuotaPolicy(
            credits_per_day=settings.quota_credits_per_day,
            max_active_jobs=settings.quota_max_active_jobs,
            resolution_weights=settings.quota_resolution_weights,
            model_weights=settings.quota_model_weights,
        ),
        quota_stores(db),
        catalog,
        hints=hints,
        rules_ttl=None if db.dialect == "sqlite" else RULES_TTL,
    )
    jobs = JobService(
        JobRepo(db, lease_seconds=settings.job_lease_seconds),
        quotas,
        runcomfy,
        video_dir=settings.database_path.parent / "videos",
        poller=settings.poller,
        poll_interval=settings.poll_interval,
        poll_floor=settings.poll_floor,
        poll_ceiling=settings.poll_ceiling,
        max_rps=settings.max_rps,
        end_burst=settings.end_burst,
        job_timeout=settings.job_timeout,
        lease_seconds=settings.job_lease_seconds,
        telemetry=metrics,
        hints=hints,
    )
    contest_store = ContestRepo(db)
    contests = ContestService(contest_store)
    video_entries = VideoEntries(contests, contest_store, JobContestRepo(db))
    return Services(
        settings,
        db,
        catalog,
        runcomfy,
        quotas,
        jobs,
        MetaRepo(db),
        contests=contests,
        video_entries=video_entries,
        metrics=metrics,
        retention=Retention(
            RetentionRepo(db),
            days=settings.retention_days,
            video_dir=settings.database_path.parent / "videos",
            prompt_fields=[spec.meta.prompt_key for spec in catalog],
        ),
    )


def load_catalog(settings: Settings) -> Catalog:
    """The shipped models and the operator's own (MODELS_DIR); a bad file or an unknown model
    in QUOTA_MODEL_WEIGHTS stops start-up with one line."""
    try:
        catalog = Catalog.load(extra=settings.models_dir)
    except CatalogError as exc:
        raise ConfigError("MODELS_DIR", str(exc)) from None
    unknown = sorted(set(settings.quota_model_weights) - set(catalog.keys()))
    if unknown:
        known = ", ".join(catalog.keys())
        raise ConfigError(
            "QUOTA_MODEL_WEIGHTS", f"unknown model {unknown[0]}; the models are {known}"
        )
    return catalog
