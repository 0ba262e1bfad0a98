"""Everything the bot needs, built once in `__main__` and handed to the bot (no globals)."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from bot.config import ConfigError, Settings
from bot.core.catalog import Catalog, CatalogError
from bot.core.jobs import JobService
from bot.core.quotas import QuotaPolicy, QuotaService, QuotaStores
from bot.runcomfy import RunComfyClient
from db.blocklist import BlocklistRepo
from db.database import Database
from db.guild_policy import GuildPolicyRepo
from db.jobs import JobRepo
from db.ledger import LedgerRepo
from db.meta import MetaRepo
from db.modlog import ModerationLogRepo


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    catalog: Catalog
    runcomfy: RunComfyClient
    quotas: QuotaService
    jobs: JobService
    meta: MetaRepo


def quota_stores(db: Database) -> QuotaStores:
    return QuotaStores(
        policies=GuildPolicyRepo(db),
        ledger=LedgerRepo(db),
        blocklist=BlocklistRepo(db),
        modlog=ModerationLogRepo(db),
    )


def build_services(settings: Settings, session: aiohttp.ClientSession, db: Database) -> Services:
    catalog = load_catalog(settings)
    runcomfy = RunComfyClient(
        session,
        base_url=settings.runcomfy_base_url,
        token=settings.runcomfy_api_token,
        timeout=settings.http_timeout,
        download_hosts=settings.runcomfy_download_hosts,
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
    )
    jobs = JobService(
        JobRepo(db),
        quotas,
        runcomfy,
        video_dir=settings.database_path.parent / "videos",
        poller=settings.poller,
        poll_interval=settings.poll_interval,
        poll_floor=settings.poll_floor,
        poll_ceiling=settings.poll_ceiling,
        max_rps=settings.max_rps,
        job_timeout=settings.job_timeout,
    )
    return Services(settings, db, catalog, runcomfy, quotas, jobs, MetaRepo(db))


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
