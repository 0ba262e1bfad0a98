"""One RunComfy queue as all of the bot's looks see it together, assuming first in, first out.

Departures from the head are counted on one clock: a look that saw its job move up `d` places
between two moments says at least `d` jobs left in between. Put together (never counted twice:
the count is a lower bound that only grows where a look says more than is known), every queued
job gets a place in line, `departures then + position then`; once the departures pass it, the
job has left the queue, even if nobody has looked at it since, and the moment is known as
closely as the looks that saw it.
"""

from __future__ import annotations

import bisect
import math

MAX_POINTS = 4096  # departure points kept; older ones fold into a baseline


class QueueLine:
    def __init__(self) -> None:
        self._times: list[float] = []  # when the count was known to have reached ...
        self._counts: list[int] = []  # ... this many departures (both increasing) ...
        self._froms: list[float] = []  # ... from the count before, some time after this
        self._baseline = 0  # the count before the first point kept
        self._places: dict[int, int] = {}  # job id -> its place in line
        self._order: list[tuple[int, int]] = []  # (place, job id), sorted

    def __len__(self) -> int:
        return len(self._places)

    @property
    def count(self) -> int:
        return self._counts[-1] if self._counts else self._baseline

    def count_at(self, moment: float) -> int:
        """Departures known to have happened by `moment` (at least)."""
        index = bisect.bisect_right(self._times, moment)
        return self._counts[index - 1] if index else self._baseline

    def moved(self, since: float, until: float, places: int) -> None:
        """A look saw `places` jobs leave the head between `since` and `until`."""
        if places <= 0 or until <= since:
            return
        before = self.count_at(since)
        reached = before + places
        # Steps already known whose departures all lie between `before` and `reached` are
        # seen again from a later start: they happened after it.
        for index in range(len(self._counts) - 1, -1, -1):
            level = self._counts[index - 1] if index else self._baseline
            if level < before:
                break
            if self._counts[index] <= reached:
                since_then = max(self._froms[index], since)
                self._froms[index] = min(since_then, self._times[index])
        if reached <= self.count or (self._times and until <= self._times[-1]):
            return  # nothing new, or late news about a moment already past
        self._times.append(until)
        self._counts.append(reached)
        self._froms.append(since)
        if len(self._times) > MAX_POINTS:
            half = MAX_POINTS // 2
            self._baseline = self._counts[half - 1]
            del self._times[:half], self._counts[:half], self._froms[:half]

    def place(self, job_id: int, position: int, seen: float) -> None:
        """The job was `position` places from the head at `seen`."""
        self.drop(job_id)
        place = self.count_at(seen) + position
        self._places[job_id] = place
        bisect.insort(self._order, (place, job_id))

    def drop(self, job_id: int) -> None:
        place = self._places.pop(job_id, None)
        if place is None:
            return
        index = bisect.bisect_left(self._order, (place, job_id))
        if index < len(self._order) and self._order[index] == (place, job_id):
            del self._order[index]

    def left(self) -> list[tuple[int, int]]:
        """The jobs the departures have passed since they were placed, with their places;
        they are taken out of the line."""
        gone: list[tuple[int, int]] = []
        count = self.count
        while self._order and self._order[0][0] < count:
            place, job_id = self._order.pop(0)
            del self._places[job_id]
            gone.append((job_id, place))
        return gone

    def left_after(self, place: int) -> float:
        """The moment the job at `place` left after, at the earliest (it may grow closer as
        later looks pin the departure down)."""
        index = bisect.bisect_right(self._counts, place)  # the step that passed the place
        return self._froms[index] if index < len(self._froms) else -math.inf

    def around(self, job_id: int) -> tuple[int, int]:
        """How many jobs are in line ahead of this one, and how many behind."""
        place = self._places.get(job_id)
        if place is None:
            return 0, 0
        ahead = bisect.bisect_left(self._order, (place, -1))
        behind = len(self._order) - bisect.bisect_right(self._order, (place, math.inf))
        return ahead, behind
