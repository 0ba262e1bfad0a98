"""Adaptive polling without a network or real sleeping: the planning function, what the poller
learns (queue drain, run times, the queue line), the scheduler and its rate gate on a fake
clock, and the whole poller driven through a simulated FIFO provider in virtual time."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import math
from collections import Counter
from typing import Any

import pytest

from bot.core.domain import Job, JobStatus
from bot.core.jobs.context import JobContext, Watch
from bot.core.jobs.estimates import DrainRate, RunTimes
from bot.core.jobs.poller import Poller
from bot.core.jobs.queueline import QueueLine
from bot.core.jobs.schedule import Outlook, Sight, Stage, Tuning, fixed_due, next_delay
from bot.core.jobs.timers import (
    ENDING,
    FIRST,
    PLANNED,
    RETRY_AFTER_CAP,
    SOON,
    URGENT,
    RateGate,
    Scheduler,
)
from bot.core.provider import JobResult, JobState

TUNING = Tuning()


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- the planning function ---------------------------------------------------------------------


def queued(position: int | None, seen: float = 0.0) -> Sight:
    return Sight(Stage.QUEUED, since=seen, before=seen - 1, position=position, position_since=seen)


def running(window: tuple[float, float] | None) -> Sight:
    if window is None:
        return Sight(Stage.RUNNING, since=0.0)
    return Sight(Stage.RUNNING, since=window[1], before=window[0])


SIGHTS = [queued(None), queued(0), queued(5), queued(10_000), running(None), running((0, 1))]
OUTLOOKS = [
    Outlook(None),
    Outlook(1e6),
    Outlook(0.01),
    Outlook(2.0, run=(20.0, 0.5)),
    Outlook(2.0, behind=500),
    Outlook(2.0, ahead=500),
    Outlook(None, expected_end=5.0),
]


@pytest.mark.parametrize("sight", SIGHTS)
@pytest.mark.parametrize("outlook", OUTLOOKS)
@pytest.mark.parametrize("now", [0.0, 0.5, 3.0, 19.0, 21.0, 60.0, 1e5])
def test_every_plan_is_between_the_floor_and_the_ceiling(
    sight: Sight, outlook: Outlook, now: float
):
    delay = next_delay(sight, outlook, now, TUNING)
    assert TUNING.floor <= delay <= TUNING.ceiling


def test_a_long_queue_waits_for_the_ceiling_and_the_head_of_it_for_the_floor():
    assert next_delay(queued(10_000), Outlook(1.0), 0.0, TUNING) == TUNING.ceiling
    assert next_delay(queued(0), Outlook(100.0), 0.0, TUNING) == TUNING.floor


def test_queued_looks_get_denser_as_the_predicted_start_nears():
    # 20 places at 1 place/s: starts in about 21 s.
    delays = [next_delay(queued(20), Outlook(1.0), now, TUNING) for now in (0.0, 10.0, 18.0)]
    assert delays == sorted(delays, reverse=True) and delays[0] > 10 and delays[-1] < 3


def test_a_queue_never_seen_moving_is_looked_at_on_a_learning_cadence():
    early, later = (next_delay(queued(50), Outlook(None), now, TUNING) for now in (1.0, 60.0))
    assert early == TUNING.floor and later == TUNING.learn_cap


def test_a_job_with_many_behind_it_leaves_the_watching_to_them_until_its_start_is_due():
    alone = next_delay(queued(20), Outlook(1.0), 0.0, TUNING)  # starts in about 21 s
    watched = next_delay(queued(20), Outlook(1.0, behind=400), 0.0, TUNING)
    assert math.isclose(alone, 0.7 * 21) and math.isclose(watched, 21.0)
    # At the head of the line its own start is due: it looks itself, many behind or not.
    assert next_delay(queued(0), Outlook(10.0, behind=400), 0.0, TUNING) == TUNING.floor


def test_the_last_in_a_long_queue_looks_often_for_all_of_them():
    far_off = next_delay(queued(300), Outlook(1.0), 0.0, TUNING)
    sentinel = next_delay(queued(300), Outlook(1.0, ahead=300), 0.0, TUNING)
    assert far_off == TUNING.ceiling and sentinel == TUNING.floor


def test_a_generating_job_is_looked_at_sparsely_then_densely_then_steadily_less():
    outlook = Outlook(None, run=(20.0, 0.2))
    sight = running((0.0, 0.5))  # started within the first half second
    first = next_delay(sight, outlook, 0.5, TUNING)
    assert 18 < 0.5 + first < 20  # one jump to just before the expected end
    assert next_delay(sight, outlook, 20.0, TUNING) == TUNING.floor  # around the end: dense
    late = [next_delay(sight, outlook, now, TUNING) for now in (22.0, 25.0, 40.0, 100.0)]
    assert late == sorted(late) and late[-1] == TUNING.ceiling


def test_without_history_a_generating_job_is_looked_at_on_a_learning_cadence():
    sight = running((0.0, 0.5))
    cadence = [next_delay(sight, Outlook(None), now, TUNING) for now in (1.0, 4.0, 8.0, 100.0)]
    assert cadence == sorted(cadence)
    assert cadence[0] == TUNING.floor and cadence[-1] == TUNING.learn_cap


def test_the_stored_history_only_ever_makes_looks_denser():
    sight = running(None)
    plain = next_delay(sight, Outlook(None), 30.0, TUNING)
    near = next_delay(sight, Outlook(None, expected_end=30.5), 30.0, TUNING)
    far = next_delay(sight, Outlook(None, expected_end=500.0), 30.0, TUNING)
    assert near == TUNING.floor and far == plain


def test_a_job_running_out_of_time_is_looked_at_by_its_deadline():
    delay = next_delay(queued(10_000), Outlook(1.0), 0.0, TUNING, deadline_in=4.0)
    assert delay == pytest.approx(4.01)


def test_the_fixed_poller_keeps_its_cadence_and_starts_afresh_after_a_slow_round():
    assert fixed_due(10.0, 10.5, 3.0) == 13.0
    assert fixed_due(10.0, 20.0, 3.0) == 20.0


# --- what the poller learns --------------------------------------------------------------------


def test_the_drain_rate_is_unknown_until_the_queue_moves_and_then_learned_from_all_jobs():
    drain = DrainRate(prior=0.5, prior_seconds=10.0)
    drain.observe(0, 5.0, 5.0)
    assert drain.rate(5.0) is None  # never seen moving: nothing to predict from
    for _job in range(100):  # 100 jobs each saw the queue move 20 places in 10 s
        drain.observe(20, 10.0, 15.0)
    rate = drain.rate(15.0)
    assert rate is not None and rate == pytest.approx(2.0, rel=0.03)
    drain.observe(0, 500.0, 20.0)  # then it stood still for a long while
    slower = drain.rate(20.0)
    assert slower is not None and slower < 1.5


def test_the_drain_rate_prior_weighs_in_until_there_is_data():
    drain = DrainRate(prior=0.5, prior_seconds=10.0)
    drain.observe(10, 1.0, 1.0)  # one look: 10 places in a second
    rate = drain.rate(1.0)
    assert rate is not None and 0.5 < rate < 10  # pulled towards the prior


def test_older_observations_fade_with_the_half_life():
    drain = DrainRate(prior=0.5, prior_seconds=1.0, half_life=10.0)
    drain.observe(100, 10.0, 0.0)  # 10 places/s ...
    drain.observe(10, 10.0, 100.0)  # ... long ago; 1 place/s now
    rate = drain.rate(100.0)
    assert rate is not None and rate < 1.2


def test_run_times_settle_on_what_every_sample_agrees_on():
    runs, job = RunTimes(), make_job(1)
    assert runs.estimate(job) is None
    for seconds, spread in [(19.0, 1.5), (21.0, 1.5), (20.2, 0.5), (19.8, 0.5)]:
        runs.observe(job, seconds, spread)
    estimate = runs.estimate(job)
    assert estimate is not None
    assert estimate[0] == pytest.approx(20.0, abs=0.35) and estimate[1] <= 0.5
    other = make_job(2, params={"resolution": "480p", "duration": 10})
    coarse = runs.estimate(other)  # another duration: the model and resolution's, wider
    assert coarse is not None and coarse[1] > estimate[1]


def test_varying_run_times_give_a_robust_spread():
    runs, job = RunTimes(), make_job(1)
    for seconds in (10, 12, 14, 16, 18, 60):  # one outlier
        runs.observe(job, seconds, 0.5)
    estimate = runs.estimate(job)
    assert estimate is not None and 12 <= estimate[0] <= 16 and 1 < estimate[1] < 10


def test_the_queue_line_counts_departures_once_and_knows_who_left_unseen():
    line = QueueLine()
    line.place(1, 0, seen=0.0)
    line.place(2, 5, seen=0.0)
    line.place(3, 9, seen=0.0)  # the last of ours: the others are ahead of it
    assert line.around(3) == (2, 0)
    line.moved(0.0, 10.0, 6)  # job 3 saw itself move up 6 places ...
    line.place(3, 3, seen=10.0)
    line.moved(1.0, 10.5, 6)  # ... and another job saw the same departures: not twice
    assert line.count == 6
    assert [job_id for job_id, _ in line.left()] == [1, 2]  # places 0 and 5 are gone
    assert line.left() == []
    line.moved(9.0, 10.0, 6)  # a look pinning the same step down closer
    assert line.left_after(5) == 9.0


# --- the scheduler and its gate on a fake clock ------------------------------------------------


class Recorder:
    """A look that records when it ran and asks to be looked at again after `again` s."""

    def __init__(self, clock: FakeClock, again: float | None = 0.0) -> None:
        self.clock = clock
        self.again = again
        self.looks: list[tuple[int, float, bool]] = []
        self.in_flight: set[int] = set()
        self.overlapped = False

    async def __call__(self, key: int, woken: bool) -> float | None:
        if key in self.in_flight:
            self.overlapped = True
        self.in_flight.add(key)
        self.looks.append((key, self.clock.now, woken))
        await asyncio.sleep(0)
        self.in_flight.discard(key)
        return None if self.again is None else self.clock.now + self.again


def scheduler(
    clock: FakeClock, look: Any, *, rate: float = 0.0, reserve: float = 0.0, **kwargs: Any
) -> Scheduler:
    gate = RateGate(rate, clock=clock, reserve=reserve)
    return Scheduler(
        look, gate=gate, floor=1.0, ceiling=30.0, clock=clock, autostart=False, **kwargs
    )


async def run_until(sched: Scheduler, clock: FakeClock, until: float) -> None:
    """Drive the scheduler in virtual time: start what is due, let it finish, jump ahead."""
    while clock.now <= until:
        sched.run_due()
        await sched.settle()
        following = sched.run_due()
        if sched.in_flight:
            continue
        if following is None:
            return
        clock.now = max(clock.now, following)


async def test_no_job_is_looked_at_more_than_once_within_the_floor():
    clock = FakeClock()
    look = Recorder(clock, again=0.0)  # asks for "now" every time
    sched = scheduler(clock, look)
    sched.add(1, clock.now)
    await run_until(sched, clock, clock.now + 10)
    times = [at for _, at, _ in look.looks]
    assert len(times) == 11 and all(b - a >= 1.0 for a, b in itertools.pairwise(times))


async def test_every_job_is_looked_at_within_the_ceiling():
    clock = FakeClock()
    look = Recorder(clock, again=1e9)  # would rather never look again
    sched = scheduler(clock, look)
    sched.add(1, clock.now + 1e9)
    await run_until(sched, clock, clock.now + 100)
    times = [at for _, at, _ in look.looks]
    assert len(times) >= 3 and all(b - a <= 30.0 for a, b in itertools.pairwise(times))


async def test_a_wake_looks_at_once_past_the_floor_and_never_twice_at_the_same_time():
    clock = FakeClock()
    gate_closed = RateGate(1.0, clock=clock)
    gate_closed.slow_down(50.0)  # everyone waits, but a cancel must still be seen at once
    look = Recorder(clock, again=5.0)
    sched = Scheduler(look, gate=gate_closed, floor=1.0, ceiling=30.0, clock=clock, autostart=False)
    sched.add(1, clock.now + 5)
    sched.wake(1)
    sched.run_due()
    sched.wake(1)  # while that look is in flight
    await sched.settle()
    sched.run_due()
    await sched.settle()
    assert [(key, woken) for key, _, woken in look.looks] == [(1, True), (1, True)]
    assert not look.overlapped and sched.due(1) is not None


async def test_the_rate_cap_is_shared_by_every_look():
    clock = FakeClock()
    look = Recorder(clock, again=None)
    sched = scheduler(clock, look, rate=10.0)
    for key in range(100):
        sched.add(key, clock.now)
    start = clock.now
    await run_until(sched, clock, clock.now + 60)
    per_second = Counter(int(at - start) for _, at, _ in look.looks)
    assert len(look.looks) == 100
    assert max(per_second.values()) <= 11  # 10 a second, and the bucket's one spare
    assert clock.now - start >= 9


async def test_a_wave_of_ends_uses_the_reserve_and_the_other_looks_wait_until_it_is_paid_back():
    clock = FakeClock()
    look = Recorder(clock, again=None)
    sched = scheduler(clock, look, rate=10.0, reserve=20.0)
    for key in range(25):
        sched.add(key, clock.now, URGENT)  # 25 jobs that have probably just ended
    for key in range(100, 105):
        sched.add(key, clock.now, PLANNED)
    start = clock.now
    sched.run_due()
    await sched.settle()
    # The reserve and the bucket's own one go at once: 21 of the 25 ends, no queue look.
    assert sorted(key for key, _, _ in look.looks) == list(range(21))
    await run_until(sched, clock, start + 60)
    ends = [at - start for key, at, _ in look.looks if key < 100]
    others = [at - start for key, at, _ in look.looks if key >= 100]
    assert max(ends) <= 0.4 + 1e-9  # the last 4 at the cap's 10 a second
    # The others wait until the reserve is full again (2.5 s of the cap) and then go at
    # the cap: over the whole run, no more than the rate and the bucket's size.
    assert min(others) >= 2.5 - 1e-9 and len(others) == 5
    assert len(look.looks) <= 10.0 * (max(others) + 1e-9) + sched.gate.capacity


async def test_a_look_waiting_for_the_reserve_to_refill_does_not_hold_back_a_later_end():
    clock = FakeClock()
    look = Recorder(clock, again=None)
    sched = scheduler(clock, look, rate=10.0, reserve=20.0)
    for key in range(21):
        sched.add(key, clock.now, URGENT)  # a wave of ends empties the bucket
    sched.run_due()
    await sched.settle()
    sched.add(100, clock.now, PLANNED)  # waits 2.1 s for the reserve to fill again
    sched.add(50, clock.now + 0.5, URGENT)  # an end look due sooner than that
    # The driver sleeps until the end look is due, not until the queue look may go (on the
    # real bench, end looks sat a second past due with a full bucket).
    assert sched.run_due() == clock.now + 0.5
    clock.now += 0.5
    sched.run_due()
    await sched.settle()
    assert look.looks[-1][:2] == (50, clock.now)


async def test_a_reserve_is_no_use_without_a_cap():
    clock = FakeClock()
    look = Recorder(clock, again=None)
    sched = scheduler(clock, look, rate=0.0, reserve=5.0)
    for key in range(50):
        sched.add(key, clock.now, PLANNED)
    sched.run_due()
    await sched.settle()
    assert len(look.looks) == 50  # no cap: nobody waits for the reserve either


async def test_a_rate_limit_with_retry_after_holds_everyone_back_that_long():
    clock = FakeClock()
    look = Recorder(clock, again=1.0)
    sched = scheduler(clock, look)
    for key in range(5):
        sched.add(key, clock.now)
    await run_until(sched, clock, clock.now + 2)
    limited_at = clock.now
    assert sched.gate.slow_down(7.5) == 7.5  # a look got 429 with Retry-After: 7.5
    look.looks.clear()
    await run_until(sched, clock, limited_at + 12)
    first = min(at for _, at, _ in look.looks)
    assert first >= limited_at + 7.5
    assert {key for key, _, _ in look.looks} == set(range(5))  # then everyone carries on


def test_waiting_as_long_as_the_gate_says_is_always_enough():
    # At 1000 s a wait of 1e-15 s does not move the clock: a gate that asked for one would be
    # asked again forever (it did, in bench/polling.py with --max-rps 50).
    clock = FakeClock(1000.0)
    gate = RateGate(50.0, clock=clock)
    for _ in range(200):
        waits = 0
        while (wait := gate.ready_in()) > 0:
            clock.now += wait
            waits += 1
            assert waits == 1
        gate.take()
    assert math.isclose(clock.now - 1000.0, (200 - gate.capacity) / 50.0, rel_tol=1e-6)


async def test_under_the_rate_cap_ends_go_first_then_starts_then_the_queue_then_first_looks():
    clock = FakeClock()
    look = Recorder(clock, again=None)
    sched = scheduler(clock, look, rate=1.0)  # one look a second
    ranks = {1: FIRST, 2: PLANNED, 3: SOON, 4: ENDING, 5: URGENT}
    for key, rank in ranks.items():
        sched.add(key, clock.now - key, rank)  # the least urgent have waited longest
    await run_until(sched, clock, clock.now + 10)
    assert [key for key, _, _ in look.looks] == [5, 4, 3, 2, 1]


async def test_a_first_look_kept_waiting_goes_with_the_queue_but_never_before_a_start():
    clock = FakeClock()
    look = Recorder(clock, again=None)
    sched = scheduler(clock, look, rate=1.0)
    start = clock.now
    sched.gate.slow_down(sched.patience)  # nothing goes for a while
    sched.add(1, start, FIRST)  # overdue by the patience when the gate opens
    sched.add(2, start + 1, PLANNED)
    sched.add(3, start + 2, SOON)
    sched.add(4, start + 3, FIRST)  # overdue, but less
    await run_until(sched, clock, start + 20)
    assert [key for key, _, _ in look.looks] == [3, 1, 2, 4]


async def test_a_pull_while_the_look_is_in_flight_moves_the_next_look():
    clock = FakeClock()
    answered = asyncio.Event()

    async def look(key: int, woken: bool) -> float:
        await answered.wait()
        return clock.now + 20.0  # what the look itself saw: nothing soon

    sched = scheduler(clock, look)
    sched.add(1, clock.now)
    sched.run_due()
    await asyncio.sleep(0)
    sched.pull(1, clock.now, URGENT)  # meanwhile another job's end says it is done too
    answered.set()
    await sched.settle()
    assert sched.due(1) == clock.now + 1.0  # at the floor, not 20 s on


async def test_a_look_kept_waiting_past_the_ceiling_by_ending_ones_still_goes():
    clock = FakeClock()
    seen: list[tuple[int, float]] = []

    async def look(key: int, woken: bool) -> tuple[float, int] | None:
        seen.append((key, clock.now))
        await asyncio.sleep(0)
        return None if key == 1 else (clock.now, ENDING)  # three jobs that always want more

    sched = scheduler(clock, look, rate=1.0)
    start = clock.now
    sched.add(1, start, PLANNED)
    for key in (100, 101, 102):
        sched.add(key, start, ENDING)
    await run_until(sched, clock, start + 3 * sched.ceiling)
    looked = [at for key, at in seen if key == 1]
    assert looked and looked[0] - start <= sched.ceiling + 2


def test_a_rate_limit_without_retry_after_backs_off_doubling_until_one_gets_through():
    clock = FakeClock()
    gate = RateGate(0.0, clock=clock)
    assert [gate.slow_down(None) for _ in range(3)] == [1.0, 2.0, 4.0]
    assert gate.slow_down(1e6) == RETRY_AFTER_CAP  # an absurd Retry-After is capped
    gate.relax()
    assert gate.slow_down(None) == 1.0


async def test_ten_thousand_waiting_jobs_have_no_task_of_their_own():
    clock = FakeClock()
    look = Recorder(clock, again=20.0)
    gate = RateGate(0.0, clock=clock)
    sched = Scheduler(look, gate=gate, floor=1.0, ceiling=30.0, clock=clock, max_in_flight=50)
    before = len(asyncio.all_tasks())
    for key in range(10_000):
        sched.add(key, clock.now + 10 + key % 20)
    await asyncio.sleep(0)
    assert len(sched) == 10_000
    assert len(asyncio.all_tasks()) - before == 1  # the scheduler's one driver
    await sched.stop()
    # Driven through two rounds of looks: at most `max_in_flight` tasks at any moment.
    sched = scheduler(clock, look, max_in_flight=50)
    most = 0
    original = sched._launch

    def launch(key: int, *, woken: bool, now: float) -> None:
        nonlocal most
        original(key, woken=woken, now=now)
        most = max(most, sched.in_flight)

    sched._launch = launch  # type: ignore[method-assign]
    for key in range(10_000):
        sched.add(key, clock.now + key % 20)
    await run_until(sched, clock, clock.now + 39)
    assert len(look.looks) >= 20_000 and most <= 50


async def test_the_driver_wakes_early_when_an_earlier_look_is_added():
    clock = FakeClock()
    seen = asyncio.Event()

    async def look(key: int, woken: bool) -> float | None:
        seen.set()
        return None

    sched = Scheduler(look, gate=RateGate(0.0, clock=clock), floor=1, ceiling=30, clock=clock)
    sched.add(1, clock.now + 25)  # the driver goes to sleep for 25 s of real time ...
    await asyncio.sleep(0.01)
    sched.add(2, clock.now)  # ... and is woken for this one at once
    await asyncio.wait_for(seen.wait(), 1.0)
    await sched.stop()


# --- the whole poller against a simulated FIFO provider, in virtual time -----------------------


def make_job(job_id: int, **changes: Any) -> Job:
    values: dict[str, Any] = {
        "id": job_id,
        "model_path": "some/model",
        "params": {"resolution": "480p", "duration": 5},
        "status": JobStatus.QUEUED,
        "request_id": f"req-{job_id}",
        "created_at": 0.0,
        "submitted_at": 0.0,
        "updated_at": 0.0,
        "cost": 5,
        "period": "2026-01-01",
        "upload_limit": 10**7,
    }
    values.update(changes)
    for field in dataclasses.fields(Job):
        if field.name not in values and field.default is dataclasses.MISSING:
            values[field.name] = 0 if field.type in ("int", int) else None
    return Job(**values)


class FifoProvider:
    """`jobs` jobs, all sent at 0, start in order, `slots` at a time, and run `run` seconds."""

    def __init__(self, clock: FakeClock, *, jobs: int, slots: int, run: float) -> None:
        self.clock, self.run = clock, run
        self.started = {j: ((j - 1) // slots) * run for j in range(1, jobs + 1)}
        self.finished = {j: at + run for j, at in self.started.items()}

    def answer(self, job_id: int) -> JobResult:
        now, request_id = self.clock.now, f"req-{job_id}"
        if now >= self.finished[job_id]:
            return JobResult(request_id, JobState.COMPLETED, "https://v/x.mp4", None, None)
        if now >= self.started[job_id]:
            return JobResult(request_id, JobState.RUNNING, None, None, None)
        ahead = sum(1 for j, at in self.started.items() if j < job_id and at > now)
        return JobResult(request_id, JobState.QUEUED, None, None, ahead)


class FakeLifecycle:
    job_timeout = 1e6

    def __init__(self, provider: FifoProvider) -> None:
        self.provider = provider
        self.looks: Counter[int] = Counter()

    async def look(self, watch: Watch) -> Job | None:
        self.looks[watch.job.id] += 1
        watch.answer = self.provider.answer(watch.job.id)
        await asyncio.sleep(0)
        if watch.answer.state is JobState.COMPLETED:
            return dataclasses.replace(watch.job, status=JobStatus.DELIVERING)
        return None

    async def check(self, watch: Watch) -> Job | None:
        return None


class NoHistory:
    async def expected_at(self, job: Job) -> float | None:
        return None


async def simulate(fixed: float | None, rate: float = 0.0) -> tuple[float, list[float]]:
    """120 jobs, 10 at a time for 20 s each, at most `rate` looks a second (0: no cap): looks
    per job and how late each end was seen."""
    clock = FakeClock(0.0)
    provider = FifoProvider(clock, jobs=120, slots=10, run=20.0)
    lifecycle = FakeLifecycle(provider)
    gate = RateGate(rate, clock=clock)
    ctx = JobContext(store=None, provider=None, clock=clock, gate=gate)  # type: ignore[arg-type]
    poller = Poller(
        ctx,
        lifecycle,
        NoHistory(),
        tuning=TUNING,
        fixed_interval=fixed,
        clock=clock,  # type: ignore[arg-type]
        autostart=False,
    )
    ended: dict[int, float] = {}
    for job_id in range(1, 121):
        poller.watch(
            make_job(job_id),
            None,  # type: ignore[arg-type]
            on_end=lambda job: ended.setdefault(job.id, clock.now),
            on_crash=lambda watch, exc: None,
        )
    await run_until(poller.scheduler, clock, 400.0)
    assert len(ended) == 120
    lags = [ended[j] - provider.finished[j] for j in ended]
    return sum(lifecycle.looks.values()) / 120, lags


async def test_the_adaptive_poller_looks_far_less_than_the_fixed_one_and_sees_ends_sooner():
    fixed_looks, fixed_lags = await simulate(fixed=3.0)
    looks, lags = await simulate(fixed=None)
    assert looks <= fixed_looks / 2
    assert max(lags) <= 1.5 and max(lags) < max(fixed_lags)
    assert math.isclose(fixed_looks, 130 / 3, rel_tol=0.2)  # lifetime / 3 s


async def test_under_a_rate_cap_below_its_wish_the_poller_still_sees_ends_soon():
    # Capped at 8 looks a second it would like more at times (the first looks of 120 jobs, the
    # turns of jobs ending together): the queue's looks wait, the ends do not.
    _, uncapped = await simulate(fixed=None)
    _, lags = await simulate(fixed=None, rate=8.0)
    assert max(lags) <= max(uncapped) + 2.0 <= 3.5


class SlowAnswers(FakeLifecycle):
    """Each answer takes `trip` seconds to come back; RunComfy answers as it arrives."""

    def __init__(self, provider: FifoProvider, clock: FakeClock, trip: float) -> None:
        super().__init__(provider)
        self.clock, self.trip = clock, trip
        self.sent: list[float] = []

    async def look(self, watch: Watch) -> Job | None:
        self.sent.append(self.clock.now)
        self.clock.now += self.trip
        return await super().look(watch)


async def test_a_start_told_by_a_slow_answer_is_placed_before_the_answer_came_back():
    clock = FakeClock(0.0)
    provider = FifoProvider(clock, jobs=1, slots=1, run=20.0)  # started at 0
    lifecycle = SlowAnswers(provider, clock, trip=0.5)
    ctx = JobContext(store=None, provider=None, clock=clock, gate=RateGate(0, clock=clock))  # type: ignore[arg-type]
    poller = Poller(ctx, lifecycle, NoHistory(), tuning=TUNING, clock=clock, autostart=False)  # type: ignore[arg-type]
    poller.watch(make_job(1), None, on_end=lambda job: None, on_crash=lambda w, e: None)  # type: ignore[arg-type]
    clock.now = TUNING.first_look
    poller.scheduler.run_due()
    await poller.scheduler.settle()
    sight = poller._watches[1].sight
    assert sight.stage is Stage.RUNNING
    assert sight.since == lifecycle.sent[0] + 0.5  # the answer's return, not the request's start
    await poller.stop()


async def test_poller_stops_cleanly_with_nothing_left_scheduled():
    clock = FakeClock(0.0)
    provider = FifoProvider(clock, jobs=2, slots=1, run=5.0)
    ctx = JobContext(store=None, provider=None, clock=clock, gate=RateGate(0, clock=clock))  # type: ignore[arg-type]
    poller = Poller(ctx, FakeLifecycle(provider), NoHistory(), tuning=TUNING, clock=clock)  # type: ignore[arg-type]
    poller.watch(make_job(1), None, on_end=lambda job: None, on_crash=lambda w, e: None)  # type: ignore[arg-type]
    assert 1 in poller
    await poller.stop()
    assert len(poller) == 0 and len(poller.scheduler) == 0
    poller.watch(make_job(2), None, on_end=lambda job: None, on_crash=lambda w, e: None)  # type: ignore[arg-type]
    assert 2 not in poller  # stopped: rows resume at the next start


async def test_an_end_pulls_a_peer_whose_look_is_in_flight_to_its_floor():
    # Two jobs started together. Job 1's look reaches RunComfy just before their common end
    # ("generating") and is slow to come back; meanwhile job 2's look finds the end. Job 1 is
    # looked at again as soon as its floor allows, not at its next turn.
    clock = FakeClock(0.0)
    provider = FifoProvider(clock, jobs=2, slots=2, run=20.0)  # both run from 0 to 20
    release = asyncio.Event()

    class HeldAnswer(FakeLifecycle):
        async def look(self, watch: Watch) -> Job | None:
            if watch.job.id != 1 or self.looks[1]:
                return await super().look(watch)
            self.looks[1] += 1
            watch.answer = provider.answer(1)
            await release.wait()
            return None

    lifecycle = HeldAnswer(provider)
    ctx = JobContext(store=None, provider=None, clock=clock, gate=RateGate(0, clock=clock))  # type: ignore[arg-type]
    poller = Poller(ctx, lifecycle, NoHistory(), tuning=TUNING, clock=clock, autostart=False)  # type: ignore[arg-type]
    for job_id in (1, 2):
        poller.watch(make_job(job_id), None, on_end=lambda job: None, on_crash=lambda w, e: None)  # type: ignore[arg-type]
        watch = poller._watches[job_id]
        poller._see(watch, Sight(Stage.RUNNING, since=0.5, before=0.0))
        watch.last_at = 0.5
        poller.runs.observe(watch.job, 20.0, 0.2)
    poller.scheduler.discard(2)
    clock.now = 19.99
    poller.scheduler.add(1, clock.now, ENDING)
    poller.scheduler.run_due()  # job 1's look: "generating", held back
    await asyncio.sleep(0)
    clock.now = 20.1
    poller.scheduler.add(2, clock.now, ENDING)
    poller.scheduler.run_due()  # job 2's look: done
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert 2 not in poller and 1 in poller.scheduler
    clock.now = 20.3
    release.set()
    await poller.scheduler.settle()
    assert poller.scheduler.due(1) == 19.99 + TUNING.floor
    await poller.stop()
