"""When to look at a waiting job next: a pure function of what the looks saw, what the bot has
learned about RunComfy, and the time. No I/O, no asyncio: the poller feeds it, tests call it.

Times are one monotonic clock's seconds. A look is a request, so every answer is clamped
between `floor` (never two looks of a job within it) and `ceiling` (nothing waits longer unseen).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum


class Stage(Enum):
    NEW = "new"  # sent, nothing seen yet
    QUEUED = "queued"
    RUNNING = "running"


@dataclass(frozen=True)
class Tuning:
    floor: float = 1.0  # least seconds between two looks at one job
    ceiling: float = 30.0  # most seconds between two looks at one job
    first_look: float = 0.25  # seconds after the submit: its queue position is worth knowing
    learn_ratio: float = 0.5  # nothing to predict from: the cadence grows with the time waited
    learn_cap: float = 5.0  # ... up to this
    approach: float = 0.7  # before a predicted moment, cover this share of the time left
    run_margin: float = 0.25  # seconds added around a predicted end beyond its spread
    dense_looks: float = 6.0  # looks spread over a predicted end's window, at most
    overdue_ratio: float = 1.5  # past a prediction, the cadence grows by this per second late
    queue_watch: float = 1.0  # seconds between looks at a queue, by all the jobs behind together
    sentinel: float = 10.0  # the last job in a queue looks every this / (jobs ahead) seconds


@dataclass(frozen=True)
class Sight:
    """What the looks at one job have shown."""

    stage: Stage
    since: float  # the first look that saw this stage
    before: float | None = None  # the last moment known to be in the stage before; None: unknown
    position: int | None = None  # jobs ahead in RunComfy's queue (0: next to start)
    position_since: float = 0.0  # the first look that saw that position

    @property
    def start_window(self) -> tuple[float, float] | None:
        """When the stage began, at the earliest and the latest; None when it is unknown."""
        return None if self.before is None else (self.before, self.since)


@dataclass(frozen=True)
class Outlook:
    """What the bot has learned, across all its jobs."""

    drain_rate: float | None  # queue positions RunComfy moves per second; None: not known yet
    run: tuple[float, float] | None = None  # generating seconds for this kind, and their spread
    expected_end: float | None = None  # a looser hint from the stored history (submit + typical)
    behind: int = 0  # jobs of this bot seen behind this one in the same queue
    ahead: int = 0  # ... and ahead of it
    peers: int = 0  # jobs of the same kind that started with this one (and end with it)
    phase: float = 0.0  # this job's turn among them, in [0, 1)


def next_delay(
    sight: Sight,
    outlook: Outlook,
    now: float,
    tuning: Tuning,
    *,
    deadline_in: float | None = None,
) -> float:
    """Seconds until the next look, within [floor, ceiling]; at the deadline at the latest,
    so that a job running out of time is dealt with on time."""
    if sight.stage is Stage.QUEUED:
        delay = _queued(sight, outlook, now, tuning)
    elif sight.stage is Stage.RUNNING:
        delay = _running(sight, outlook, now, tuning)
    else:
        delay = tuning.floor  # sent, and no answer yet: ask again soon
    if deadline_in is not None:
        delay = min(delay, max(deadline_in, 0.0) + 0.01)
    return clamp(delay, tuning)


def clamp(delay: float, tuning: Tuning) -> float:
    return min(max(delay, tuning.floor), tuning.ceiling)


def _learning(elapsed: float, tuning: Tuning) -> float:
    """Nothing to predict from: look often at first, then a little less, never very rarely."""
    return min(max(tuning.learn_ratio * max(elapsed, 0.0), tuning.floor), tuning.learn_cap)


def _late(now: float, expected: float, tuning: Tuning) -> float:
    """Past a predicted moment: steadily sparser (up to the ceiling, which `clamp` applies)."""
    return tuning.floor + tuning.overdue_ratio * (now - expected)


def _queued(sight: Sight, outlook: Outlook, now: float, tuning: Tuning) -> float:
    rate = outlook.drain_rate
    until_start = math.inf  # seconds to the predicted start; unknown: never
    if sight.position is None or rate is None or rate <= 0:
        own = _learning(now - sight.since, tuning)
    else:
        # Position 0 is next: it starts when one more place frees up. Sparse early, denser
        # as it nears, then steadily sparser once it is late.
        expected = sight.position_since + (sight.position + 1) / rate
        until_start = max(expected - now, 0.0)
        own = tuning.approach * (expected - now) if now < expected else _late(now, expected, tuning)
    if outlook.behind:
        # Every look of a job behind this one sees the head of the queue move, and the poller
        # then looks at the jobs that left it: with many behind, its own looks can be rare,
        # but not past its own predicted start (the others' count of departures can lag).
        return max(own, min(outlook.behind * tuning.queue_watch, until_start))
    if outlook.ahead:
        # The last in the queue: its looks time the moves for all those ahead, which then
        # know closely when they started (and so when they will end).
        return min(own, tuning.sentinel / outlook.ahead)
    return own


def end_window(
    sight: Sight, run: tuple[float, float] | None, tuning: Tuning
) -> tuple[float, float] | None:
    """When a generating job should end, at the earliest and the latest; None: no idea."""
    window = sight.start_window
    if run is None or window is None or sight.stage is not Stage.RUNNING:
        return None
    seconds, spread = run
    margin = 2 * spread + tuning.run_margin
    return window[0] + seconds - margin, window[1] + seconds + margin


def _running(sight: Sight, outlook: Outlook, now: float, tuning: Tuning) -> float:
    elapsed = now - sight.since
    window = end_window(sight, outlook.run, tuning)
    if window is not None:
        first, last = window
        if now <= last:
            return _in_turn(now, first, last, outlook, tuning)
        return _late(now, last, tuning)
    learning = _learning(elapsed, tuning)
    if outlook.peers:
        # Jobs seen starting together would keep the same cadence, look at the same moments,
        # and see their common end no sooner than one job alone: each takes its own turn.
        learning = _turn(now, sight.since, learning, outlook.phase, least=learning / 2)
    if outlook.expected_end is not None:
        # A hint only (the stored history counts queue time too): it may make looks denser
        # near its end, never sparser than learning.
        hint = outlook.expected_end - now
        margin = tuning.floor + 0.1 * max(elapsed + hint, 0.0)
        if -margin <= hint <= margin:
            return tuning.floor
        if hint > margin:
            return min(learning, hint - margin)
    return learning


def _in_turn(now: float, first: float, last: float, outlook: Outlook, tuning: Tuning) -> float:
    """Seconds to this job's next slot in its end window. Jobs that started together end
    together: they take turns (whoever sees an end has the others looked at at once), each
    at its own phase of a common period, so that together they look about once a second and
    every one of them looks at least once inside the window."""
    span = last - first
    shared = outlook.peers * tuning.queue_watch
    # At most the window's length: every job looks inside its own window at least once, so a
    # job whose peers' ends did not reach it (a wide start window) is not left to the ceiling.
    period = max(
        tuning.floor,
        min(span / tuning.dense_looks, tuning.ceiling)
        if not shared
        else min(shared, span, tuning.ceiling),
    )
    return _turn(now, first, period, outlook.phase if outlook.peers else 0.0)


def _turn(now: float, origin: float, period: float, phase: float, least: float = 0.0) -> float:
    """Seconds to this job's next slot at least `least` away: slots `period` apart from
    `origin`, shifted by its `phase` (in [0, 1)) of a period."""
    offset = phase * period
    turns = max(0, math.floor((now + least - origin - offset) / period) + 1)
    return origin + offset + turns * period - now


def fixed_due(previous_due: float, now: float, interval: float) -> float:
    """The fixed poller: a steady cadence (not interval-after-work), so that a completion is
    seen within one interval; after a slow round it starts afresh rather than catching up."""
    return max(previous_due + interval, now)
