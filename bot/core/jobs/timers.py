"""One timer structure for every waiting job's next look: a heap driven by one asyncio task,
woken early when an earlier look is due, with a token bucket and a global "not before" in
front of every look. A job waiting at RunComfy has no task of its own; a task exists only for
a look in flight, and at most `max_in_flight` of those at once.

The scheduler knows keys (job ids) and times, nothing about jobs: it calls `look(key, woken)`,
which answers when to look next, optionally with a rank (None: stop watching). It guarantees
one look per key at a time, looks at least `floor` apart and at most `ceiling` apart (the rate
cap permitting).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

# When rate-capped, due looks go by rank, then by time: those likely to find news first, and
# an end before a start (a late end delays a video; a late start only widens a guess).
URGENT = 0  # a job that has probably ended
ENDING = 1  # a job inside its predicted end window
SOON = 2  # a job that has probably started, or any other generating job
PLANNED = 3  # everything else (jobs in the queue)
FIRST = 4  # a job's first look (its place in line): the least news, under the cap
RANKS = 5
PATIENCE = 10.0  # a first look this overdue goes with the PLANNED ones
LookFn = Callable[[int, bool], Awaitable[float | tuple[float, int] | None]]
RETRY_AFTER_CAP = 60.0  # longest everyone waits on one rate limit before looking again
BACKOFF_START = 1.0  # a rate limit without Retry-After: this, doubling while it lasts
TOKEN_SLACK = 1e-9  # rounding in the token bucket's refill


class RateGate:
    """Requests per second to RunComfy (a token bucket; 0 means no cap) and a global back-off
    that a rate limit sets for everyone.

    The bucket holds a tenth of a second's worth, so no second sees much more than `rate`,
    plus a `reserve` only looks at jobs that have probably just ended may use: jobs that
    started together end together, and a wave of them is then seen at once rather than at
    `rate` (which is what keeps delivery quick under the cap). What the reserve lends is paid
    back before any other look goes: over time the average stays `rate`."""

    def __init__(self, rate: float, *, clock: Callable[[], float], reserve: float = 0.0) -> None:
        self.rate = rate
        self._clock = clock
        self.reserve = reserve
        self.capacity = max(rate / 10, 1.0) + reserve
        self._tokens = self.capacity
        self._stamp = clock()
        self.not_before = -math.inf
        self._backoff = 0.0

    def ready_in(self, *, urgent: bool = False) -> float:
        """Seconds until a request may go (an `urgent` one may use the reserve)."""
        now = self._clock()
        wait = max(self.not_before - now, 0.0)
        if self.rate > 0:
            self._refill(now)
            need = 1.0 if urgent else 1.0 + self.reserve
            # A hair short of a token counts as one: waiting out 1e-15 s would not move a
            # clock that reads 100 s, and the caller would ask again forever.
            if self._tokens < need - TOKEN_SLACK:
                wait = max(wait, (need - self._tokens) / self.rate)
        return wait

    def take(self) -> None:
        if self.rate > 0:
            self._refill(self._clock())
            self._tokens -= 1.0

    def slow_down(self, retry_after: float | None) -> float:
        """RunComfy said 429: nobody looks until Retry-After has passed (without one, for a
        back-off that doubles while the limits go on). Returns the wait applied."""
        if retry_after is not None and retry_after > 0:
            wait = min(retry_after, RETRY_AFTER_CAP)
        else:
            self._backoff = min(max(self._backoff * 2, BACKOFF_START), RETRY_AFTER_CAP)
            wait = self._backoff
        self.not_before = max(self.not_before, self._clock() + wait)
        log.warning("RunComfy rate limit: every look waits %.1f s", wait)
        return wait

    def relax(self) -> None:
        """A request got through: the next limit without Retry-After starts the back-off anew."""
        self._backoff = 0.0

    async def pause(self) -> None:
        """Wait out a global back-off (a submit does, so as not to add to the pile)."""
        if (wait := self.not_before - self._clock()) > 0:
            await asyncio.sleep(wait)

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now


class Scheduler:
    def __init__(
        self,
        look: LookFn,
        *,
        gate: RateGate,
        floor: float,
        ceiling: float,
        clock: Callable[[], float],
        max_in_flight: int = 50,
        patience: float = PATIENCE,
        autostart: bool = True,
    ) -> None:
        self._look = look
        self.patience = patience
        self.gate = gate
        self.floor = floor
        self.ceiling = max(ceiling, floor)
        self._clock = clock
        self.max_in_flight = max_in_flight
        self._autostart = autostart
        self._heaps: list[list[tuple[float, int, int]]] = [[] for _ in range(RANKS)]
        self._due: dict[int, tuple[float, int, int]] = {}  # each key's live entry: due, seq, rank
        self._seq = itertools.count()
        self._bells: dict[int, None] = {}  # keys woken, in order (an ordered set)
        self._rewake: set[int] = set()  # woken while a look was in flight
        self._pulled: dict[int, tuple[float, int]] = {}  # pulled while a look was in flight
        self._gone: set[int] = set()  # discarded while a look was in flight
        self._flying: dict[int, asyncio.Task[None]] = {}
        self._last: dict[int, float] = {}  # when each key's last request went out
        self._driver: asyncio.Task[None] | None = None
        self._alarm: asyncio.Future[None] | None = None
        self._alarm_at = math.inf
        self.stopped = False
        self.looks = 0  # looks started, woken ones included

    def __len__(self) -> int:
        return len(self._due.keys() | self._flying.keys())

    def __contains__(self, key: object) -> bool:
        return key in self._due or key in self._flying

    @property
    def in_flight(self) -> int:
        return len(self._flying)

    def due(self, key: int) -> float | None:
        entry = self._due.get(key)
        return None if entry is None else entry[0]

    def add(self, key: int, due: float, rank: int = PLANNED) -> None:
        """Look at `key` at `due` (instead of whenever it was due before)."""
        if self.stopped:
            return
        self._gone.discard(key)
        if key in self._flying:
            return  # the look in flight says when the next one is
        self._schedule(key, due, rank)
        self._ensure_driver()

    def pull(self, key: int, due: float, rank: int = PLANNED) -> None:
        """Look at `key` by `due` (and with at least `rank`'s priority) if it was due later;
        nothing for a key not waiting. A key whose look is in flight gets the pull once that
        look has said when the next one is: its answer may predate what the pull knows."""
        entry = self._due.get(key)
        if entry is not None and (due < entry[0] or rank < entry[2]):
            self._schedule(key, min(due, entry[0]), min(rank, entry[2]))
        elif entry is None and key in self._flying:
            before = self._pulled.get(key, (due, rank))
            self._pulled[key] = (min(due, before[0]), min(rank, before[1]))

    def wake(self, key: int) -> None:
        """Look at `key` now, past the rate cap and the floor: the look is told it was woken
        (a cancel closed the row; nothing needs asking RunComfy)."""
        if self.stopped or key not in self:
            return
        if key in self._flying:
            self._rewake.add(key)
        else:
            self._bells[key] = None
        self._kick()
        self._ensure_driver()

    def discard(self, key: int) -> None:
        self._due.pop(key, None)
        self._bells.pop(key, None)
        self._rewake.discard(key)
        self._pulled.pop(key, None)
        self._last.pop(key, None)
        if key in self._flying:
            self._gone.add(key)

    def run_due(self) -> float | None:
        """Start every look that is due and allowed; when to try again (None: when a look
        ends or something is added). The driver calls this; tests call it with a fake clock."""
        now = self._clock()
        while self._bells and len(self._flying) < self.max_in_flight:
            key = next(iter(self._bells))
            del self._bells[key]
            if key in self._flying:
                self._rewake.add(key)
            elif key in self._due:
                self._launch(key, woken=True, now=now)
        while True:
            heap, next_due = self._first_due(now)
            if heap is None:
                return next_due
            if len(self._flying) >= self.max_in_flight:
                return None
            urgent = heap is self._heaps[URGENT]
            if (wait := self.gate.ready_in(urgent=urgent)) > 0:
                if urgent:
                    return now + wait
                # An end look due before then may use the reserve: wake for it.
                return min(now + wait, self._next_urgent(now))
            _, _, key = heapq.heappop(heap)
            self.gate.take()
            self._launch(key, woken=False, now=now)

    def _first_due(self, now: float) -> tuple[list[tuple[float, int, int]] | None, float | None]:
        """The heap whose due look goes first, or (None and) the earliest look to come. Ranks
        are strict, but a first look overdue by `patience` goes with the PLANNED ones, and any
        look overdue by the ceiling with the ENDING ones: a steady stream of looks at jobs
        about to end must not starve the others for good. (Moving them up sooner undoes the
        ranks under a long overload: on the real bench, queue looks 10 s overdue put first held
        generating jobs' looks back by 7 s.)"""
        earliest, best, chosen = None, None, None
        for rank, heap in enumerate(self._heaps):
            if (head := self._head(rank)) is None:
                continue
            due = head[0]
            earliest = due if earliest is None else min(earliest, due)
            if due <= now:
                order = (self._rank_now(rank, now - due), due)
                if best is None or order < best:
                    best, chosen = order, heap
        return (chosen, None) if chosen is not None else (None, earliest)

    def _next_urgent(self, now: float) -> float:
        """When the next look at a job that has probably ended falls due (inf: none)."""
        head = self._head(URGENT)
        return head[0] if head is not None and head[0] > now else math.inf

    def _head(self, rank: int) -> tuple[float, int, int] | None:
        """The earliest live entry of a rank's heap (due, seq, key); None: the heap is empty."""
        heap = self._heaps[rank]
        while heap and self._due.get(heap[0][2]) != (*heap[0][:2], rank):
            heapq.heappop(heap)  # rescheduled or gone since
        return heap[0] if heap else None

    def _rank_now(self, rank: int, overdue: float) -> int:
        """A look's rank once it has waited `overdue` seconds past its time."""
        if overdue >= self.ceiling:
            # The ceiling's promise, kept as closely as the cap lets it; but a look at jobs that
            # have probably ended still goes first.
            return min(rank, ENDING)
        if rank == FIRST and overdue >= self.patience:
            return PLANNED
        return rank

    async def settle(self) -> None:
        """Wait until no look is in flight."""
        while self._flying:
            await asyncio.gather(*list(self._flying.values()), return_exceptions=True)

    async def stop(self) -> None:
        """Stop looking; everything scheduled is forgotten (the rows say where jobs are)."""
        self.stopped = True
        tasks = [t for t in (self._driver, *self._flying.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for heap in self._heaps:
            heap.clear()
        self._due.clear()
        self._bells.clear()
        self._pulled.clear()
        self._flying.clear()
        self._last.clear()

    # --- inside ----------------------------------------------------------------------------

    def _schedule(self, key: int, due: float, rank: int = PLANNED) -> None:
        last = self._last.get(key)
        if last is not None:
            due = min(max(due, last + self.floor), last + self.ceiling)
        else:
            due = min(due, self._clock() + self.ceiling)
        seq = next(self._seq)
        self._due[key] = (due, seq, rank)
        heapq.heappush(self._heaps[rank], (due, seq, key))
        if sum(map(len, self._heaps)) > 4 * len(self._due) + 64:
            # Rescheduling leaves stale entries behind; drop them now and then.
            self._heaps = [[] for _ in range(RANKS)]
            for k, (d, s, r) in self._due.items():
                self._heaps[r].append((d, s, k))
            for heap in self._heaps:
                heapq.heapify(heap)
        if due < self._alarm_at:
            self._kick()

    def _launch(self, key: int, *, woken: bool, now: float) -> None:
        self._due.pop(key, None)
        if not woken:
            self._last[key] = now
        self.looks += 1
        self._flying[key] = asyncio.create_task(self._run_look(key, woken), name=f"look-{key}")

    async def _run_look(self, key: int, woken: bool) -> None:
        answer: float | tuple[float, int] | None
        try:
            answer = await self._look(key, woken)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The look handles its own failures; this is a bug, and the job must not be lost.
            log.exception("job %d: look failed unexpectedly; looking again later", key)
            answer = self._clock() + self.ceiling
        finally:
            self._flying.pop(key, None)
        if self.stopped:
            return
        due, rank = answer if isinstance(answer, tuple) else (answer, PLANNED)
        pulled = self._pulled.pop(key, None)
        if due is not None and pulled is not None:
            due, rank = min(due, pulled[0]), min(rank, pulled[1])
        if due is None or key in self._gone:
            self._gone.discard(key)
            self._rewake.discard(key)
            self._last.pop(key, None)
        else:
            if key in self._rewake:
                self._rewake.discard(key)
                self._bells[key] = None
            self._schedule(key, due, rank)
        self._kick()

    def _ensure_driver(self) -> None:
        if self._autostart and self._driver is None and not self.stopped:
            self._driver = asyncio.create_task(self._drive(), name="job-scheduler")

    def _kick(self) -> None:
        if self._alarm is not None and not self._alarm.done():
            self._alarm.set_result(None)

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.stopped:
            wake_at = self.run_due()
            self._alarm = loop.create_future()
            self._alarm_at = math.inf if wake_at is None else wake_at
            handle = None
            if wake_at is not None:
                handle = loop.call_later(max(wake_at - self._clock(), 0.0), self._kick)
            try:
                await self._alarm
            finally:
                if handle is not None:
                    handle.cancel()
                self._alarm_at = math.inf
