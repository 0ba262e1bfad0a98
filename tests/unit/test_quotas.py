"""QuotaService: what a job costs, which quota day it counts against, when credits come back."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.domain import Limits
from bot.core.quotas import QuotaPolicy, QuotaService
from bot.core.schema import MODEL, VideoRequest
from bot.services import quota_stores
from db.database import Database

RESOLUTIONS = [str(r) for r in MODEL.enum("resolution")]
DURATIONS = [int(d) for d in MODEL.enum("duration")]
RATIOS = [str(r) for r in MODEL.enum("ratio")]
# Distinct primes, so a mix-up of resolutions or a sum instead of a product shows.
WEIGHTS = dict(zip(RESOLUTIONS, (3, 7, 11), strict=True))


Make = Callable[..., QuotaService]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "quotas.db")
    yield database
    await database.close()


@pytest.fixture
def make(db: Database) -> Make:
    """A QuotaService over a real (empty) policy table, with a fixed clock."""

    def build(
        clock: float | Callable[[], float] = 0.0,
        weights: dict[str, int] | None = None,
        credits_per_day: int = 60,
        max_active_jobs: int = 2,
    ) -> QuotaService:
        defaults = QuotaPolicy(credits_per_day, max_active_jobs, weights or WEIGHTS)
        tick = clock if callable(clock) else (lambda: float(clock))
        return QuotaService(defaults, quota_stores(db), clock=tick)

    return build


def at(*args: int, microsecond: int = 0) -> float:
    return datetime(*args, microsecond=microsecond, tzinfo=UTC).timestamp()  # type: ignore[misc]


def request(resolution: str, duration: int, ratio: str = "16:9") -> VideoRequest:
    checked = MODEL.validate(
        {"text": "x", "resolution": resolution, "duration": duration, "ratio": ratio}
    )
    assert isinstance(checked, VideoRequest)
    return checked


@pytest.fixture
def far_local_timezone() -> Iterator[None]:
    """Run with a local time 14 hours ahead of UTC: a local-date mistake would show."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    try:
        yield
    finally:
        mp.undo()
        time.tzset()


@pytest.mark.parametrize(
    ("resolution", "duration"), list(itertools.product(RESOLUTIONS, DURATIONS))
)
def test_cost_is_duration_times_weight_for_every_combination(
    make: Make, resolution: str, duration: int
):
    assert make().cost(request(resolution, duration)) == duration * WEIGHTS[resolution]


def test_cost_does_not_depend_on_ratio_or_seed(make: Make):
    quotas = make()
    costs = {quotas.cost(request("720p", 6, ratio)) for ratio in RATIOS}
    seeded = MODEL.validate({"text": "x", "resolution": "720p", "duration": 6, "seed": 99})
    assert isinstance(seeded, VideoRequest)
    assert costs == {quotas.cost(seeded)} == {42}


def test_cost_with_the_default_weights(make: Make):
    quotas = make(weights={"480p": 1, "720p": 2, "1080p": 5})
    assert quotas.cost(request("480p", 5)) == 5
    assert quotas.cost(request("720p", 4)) == 8
    assert quotas.cost(request("1080p", 12)) == 60


def test_prices_list_every_model_with_the_default_first(make: Make):
    quotas = make()
    first, *others = quotas.prices()
    assert first.model == "Seedance 1.0 Pro Fast" and first.per_second == 1
    assert dict(first.resolution_weights) == WEIGHTS  # the setting, not the meta file
    assert [p.model for p in others] == [s.display_name for s in list(quotas.catalog)[1:]]
    for price, spec in zip(others, list(quotas.catalog)[1:], strict=True):
        assert price.per_second == spec.meta.credits_per_second


def test_a_model_weight_setting_prices_that_model(db: Database):
    quotas = QuotaService(
        QuotaPolicy(60, 2, WEIGHTS, {"blackforestlabs-flux-3-text-to-video": 7}), quota_stores(db)
    )
    flux = quotas.catalog.get("blackforestlabs-flux-3-text-to-video")
    assert flux is not None
    checked = flux.from_options({"prompt": "x", "duration": 5, "resolution": "1080p"})
    assert not isinstance(checked, list)
    assert quotas.cost(checked) == 5 * 7 * 2  # seconds x the setting x the 1080p weight


@pytest.mark.parametrize(
    ("clock", "period"),
    [
        (at(2025, 3, 1, 0, 0, 0), "2025-03-01"),
        (at(2025, 3, 1, 12, 0, 0), "2025-03-01"),
        (at(2025, 3, 1, 23, 59, 59, microsecond=999_000), "2025-03-01"),
        (at(2025, 3, 2, 0, 0, 0), "2025-03-02"),
        (at(2025, 3, 2, 0, 0, 0, microsecond=1_000), "2025-03-02"),
        (at(2024, 2, 29, 23, 59, 59), "2024-02-29"),
        (at(2024, 12, 31, 23, 59, 59), "2024-12-31"),
        (at(2025, 1, 1, 0, 0, 1), "2025-01-01"),
        (0.0, "1970-01-01"),
    ],
)
def test_period_is_the_utc_date_of_the_clock(
    make: Make, clock: float, period: str, far_local_timezone: None
):
    assert make(clock).period() == period


@pytest.mark.parametrize(
    ("clock", "reset"),
    [
        (at(2025, 3, 1, 23, 59, 59, microsecond=999_000), at(2025, 3, 2, 0, 0, 0)),
        (at(2025, 3, 2, 0, 0, 0), at(2025, 3, 3, 0, 0, 0)),
        (at(2025, 3, 2, 0, 0, 0, microsecond=1_000), at(2025, 3, 3, 0, 0, 0)),
        (at(2025, 3, 2, 0, 0, 1), at(2025, 3, 3, 0, 0, 0)),
        (at(2025, 3, 2, 13, 30, 0), at(2025, 3, 3, 0, 0, 0)),
        (at(2024, 2, 28, 23, 59, 59), at(2024, 2, 29, 0, 0, 0)),
        (at(2024, 12, 31, 23, 59, 59), at(2025, 1, 1, 0, 0, 0)),
    ],
)
def test_reset_at_is_the_next_utc_midnight(
    make: Make, clock: float, reset: float, far_local_timezone: None
):
    quotas = make(clock)
    assert quotas.reset_at() == int(reset)
    assert isinstance(quotas.reset_at(), int)
    assert clock < quotas.reset_at() <= clock + 86400


def test_period_and_reset_follow_the_clock_as_it_moves(make: Make, far_local_timezone: None):
    now = [at(2025, 6, 30, 23, 59, 59)]
    quotas = make(lambda: now[0])
    assert (quotas.period(), quotas.reset_at()) == ("2025-06-30", int(at(2025, 7, 1, 0, 0, 0)))
    now[0] += 2
    assert (quotas.period(), quotas.reset_at()) == ("2025-07-01", int(at(2025, 7, 2, 0, 0, 0)))


def test_the_reset_belongs_to_the_next_period(make: Make):
    quotas = make(at(2025, 3, 1, 18, 0, 0))
    assert make(quotas.reset_at()).period() == "2025-03-02"
    assert make(quotas.reset_at() - 0.001).period() == quotas.period()


async def test_limits_are_the_defaults_without_a_server_policy(make: Make):
    assert await make(credits_per_day=35, max_active_jobs=3).limits_for(1) == Limits(35, 3, None)


async def test_limits_take_the_server_policy_and_the_best_role(make: Make):
    quotas = make(credits_per_day=60, max_active_jobs=2)
    await quotas.update_policy(1, credits_per_day=20, max_active_jobs=4, daily_budget=500)
    await quotas.set_role_allowance(1, 10, 45)
    await quotas.set_role_allowance(1, 11, 90)
    await quotas.set_role_allowance(1, 12, 5)
    assert await quotas.limits_for(1) == Limits(20, 4, 500)
    assert await quotas.limits_for(1, [10]) == Limits(45, 4, 500)
    assert await quotas.limits_for(1, [12, 10, 11, 999]) == Limits(90, 4, 500)
    assert await quotas.limits_for(1, [12]) == Limits(20, 4, 500)  # a lower role never lowers
    assert await quotas.limits_for(2, [10, 11]) == Limits(60, 2, None)  # another server


async def test_a_server_allowance_of_zero_is_kept_not_replaced_by_the_default(make: Make):
    quotas = make(credits_per_day=60)
    await quotas.update_policy(1, credits_per_day=0)
    assert (await quotas.limits_for(1)).credits == 0
