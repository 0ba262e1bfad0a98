"""Jobs that started together end together: inside their end window they take turns, so the
group looks about once a second (whoever sees an end has the others looked at at once), and
each of them looks inside its own window at least once.

The bench's short-job load found the gap this guards: a hundred jobs that entered the window
at once all planned their next look a group-size of seconds away, so nobody looked again until
the ceiling and their videos waited 30 s."""

from __future__ import annotations

import itertools

import pytest

from bot.core.jobs.schedule import Outlook, Sight, Stage, Tuning, end_window, next_delay

TUNING = Tuning()
RUN = (2.5, 0.5)  # seconds generating, and the spread
SIGHT = Sight(Stage.RUNNING, since=10.0, before=9.0)  # started between 9 and 10


def plan(peers: int, job: int, now: float) -> float:
    phase = (job * 0.618033988749895) % 1.0
    outlook = Outlook(1.0, run=RUN, peers=peers, phase=phase)
    return now + next_delay(SIGHT, outlook, now, TUNING)


def looks_in(first: float, last: float, peers: int, start: float) -> list[tuple[float, int]]:
    """Every look each of `peers + 1` jobs makes from `start` to the end of the window."""
    looks = []
    for job in range(peers + 1):
        at = plan(peers, job, start)
        while at <= last:
            if at >= first:
                looks.append((at, job))
            at = plan(peers, job, at)
    return sorted(looks)


@pytest.mark.parametrize("peers", [0, 1, 5, 99, 500])
@pytest.mark.parametrize("into", [-5.0, 0.01, 1.7])
def test_together_they_look_about_once_a_second_through_the_window(peers: int, into: float):
    """`into`: seconds into the window of the group's last look (before it, as it opened,
    in the middle)."""
    window = end_window(SIGHT, RUN, TUNING)
    assert window is not None
    first, last = window
    start = first + into
    looks = looks_in(first, last, peers, start)
    inside = [at for at, _ in looks]
    gaps = [b - a for a, b in zip([max(start, first), *inside], [*inside, last], strict=True)]
    # The turns are spread by a golden-ratio phase: even to within a quarter of a turn.
    assert max(gaps) <= 1.25 * max(TUNING.queue_watch, TUNING.floor)
    if into <= 0:
        assert {job for _, job in looks} == set(range(peers + 1))  # each looks in its window


def test_each_job_alone_still_looks_no_more_than_the_floor_allows():
    for peers in (0, 3, 99):
        for job in range(peers + 1):
            now = 11.9
            nxt = plan(peers, job, now)
            assert nxt - now >= TUNING.floor - 1e-9


def test_before_any_run_time_is_known_jobs_seen_starting_together_take_turns_too():
    """A hundred jobs seen generating at the same moment (one look at the queue found them all
    started), nothing learned yet of how long such a job runs: each keeps the learning
    cadence, but at its own phase. The real bench's first wave looked in lockstep, every 5 s,
    and saw its end 6 s late."""
    sight = Sight(Stage.RUNNING, since=10.0, before=9.0)
    peers = 99

    def looks(outlook: Outlook) -> list[float]:
        at, times = sight.since, []
        while at < 60.0:
            at += next_delay(sight, outlook, at, TUNING)
            times.append(at)
        return times

    alone = looks(Outlook(1.0))
    each = [
        looks(Outlook(1.0, peers=peers, phase=(job * 0.618033988749895) % 1.0))
        for job in range(peers + 1)
    ]
    assert sum(map(len, each)) / len(each) <= len(alone) + 1  # hardly more looks than alone
    later = sorted(t for times in each for t in times if 30.0 <= t <= 60.0)
    assert max(b - a for a, b in itertools.pairwise(later)) <= 0.5
