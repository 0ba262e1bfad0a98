"""A heartbeat the running bot writes, and the probe `python -m bot check --health` reads.

Design: the bot process writes the time into the meta table (`heartbeat`) every
HEARTBEAT_SECONDS, through the same connection and lock every job write uses. The probe opens
the database read-only and calls the bot healthy when that time is at most STALE_SECONDS old.
So "healthy" means: the process's event loop runs and its database accepts writes; a bot stuck
in a transaction, or hung, stops beating. (The liveness endpoint on METRICS_PORT, when set,
says more: the gateway connection and the job runner. This probe is for when it is not set;
`probe()` is the place to add checks.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from db.connect import open_database
from db.meta import MetaRepo

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "heartbeat"


def heartbeat_key(shard_ids: tuple[int, ...] | None) -> str:
    """Each process beats under its own key (SHARD_IDS), so one process's beat never makes
    another, stopped one look healthy; one process alone keeps the plain key."""
    if shard_ids is None:
        return HEARTBEAT_KEY
    return f"{HEARTBEAT_KEY}:shards={','.join(str(i) for i in shard_ids)}"


HEARTBEAT_SECONDS = 30.0
# Three missed beats: one slow disk write is not an outage.
STALE_SECONDS = 3 * HEARTBEAT_SECONDS


async def beat_forever(
    meta: MetaRepo, interval: float = HEARTBEAT_SECONDS, *, key: str = HEARTBEAT_KEY
) -> None:
    """Write the heartbeat now and every `interval` seconds until cancelled."""
    while True:
        try:
            await meta.set(key, str(int(time.time())))
        except Exception:
            # A failing write is what the probe is there to notice; keep trying.
            log.exception("could not write the heartbeat")
        await asyncio.sleep(interval)


async def probe(
    database: Path,
    *,
    url: str | None = None,
    now: float | None = None,
    key: str = HEARTBEAT_KEY,
) -> list[str]:
    """Problems that make the bot unhealthy, one line each; empty when it is healthy. `url`:
    the bot runs on PostgreSQL (DATABASE_URL), whose heartbeat is read there."""
    where = "the PostgreSQL database (DATABASE_URL)" if url else f"database {database}"
    try:
        db = await open_database(database, url, read_only=True)
    except Exception as exc:
        return [f"{where} cannot be opened: {exc}"]
    try:
        raw = await MetaRepo(db).get(key)
    except Exception as exc:
        return [f"{where} cannot be read: {exc}"]
    finally:
        await db.close()
    if raw is None or not raw.isdigit():
        return ["no heartbeat in the database: the bot has not run with it yet"]
    age = (time.time() if now is None else now) - int(raw)
    if age > STALE_SECONDS:
        return [f"the last heartbeat is {age:.0f} s old (more than {STALE_SECONDS:.0f} s)"]
    return []
