"""Property tests on real sqlite files and on PostgreSQL: for random contests and random
sequences of entries, withdrawals, votes (some in simultaneous bursts), take-backs and
disqualifications, no member ever has more live entries or votes than allowed, the votes table
always agrees with a model of what was counted, and the frozen tally equals a recount from the
votes table."""

from __future__ import annotations

import asyncio
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.contests import (
    ChangeKind,
    ContestError,
    ContestService,
    Entry,
    VoteOutcome,
    VoteStatus,
)
from bot.core.contests.domain import competition_ranking
from db.contests import ContestRepo
from db.database import Database
from db.postgres import PgDatabase
from db.sql import SqlDatabase
from tests.backends import ENGINES, PgServer
from tests.integration.test_contests_db import delivered_job
from tests.integration.test_contests_service import Clock

GUILD, MOD = 1, 99
AUTHORS = [10, 11, 12, 13]
VOTERS = [*AUTHORS, 20, 21, 22]  # authors vote too (never for themselves)

submission_step = st.tuples(st.sampled_from(["enter", "withdraw"]), st.sampled_from(AUTHORS))
voting_step = st.one_of(
    st.tuples(st.just("vote"), st.sampled_from(VOTERS), st.integers(0, 7)),
    st.tuples(st.just("take_back"), st.sampled_from(VOTERS), st.integers(0, 7)),
    st.tuples(st.just("burst"), st.sampled_from(VOTERS), st.integers(0, 7)),
    st.tuples(st.just("disqualify"), st.just(0), st.integers(0, 7)),
)


@dataclass
class Model:
    """What should be true: the votes counted, per voter, on entries still live."""

    budget: int
    votes: set[tuple[int, int]] = field(default_factory=set)  # (voter, entry id)
    out: set[int] = field(default_factory=set)  # disqualified entry ids

    def live_votes(self) -> set[tuple[int, int]]:
        return {(v, e) for v, e in self.votes if e not in self.out}

    def used(self, voter: int) -> int:
        return sum(1 for v, _ in self.live_votes() if v == voter)


async def db_live_votes(db: SqlDatabase, contest_id: int) -> set[tuple[int, int]]:
    rows = await db.fetchall(
        "SELECT v.voter_id, v.entry_id FROM contest_votes v"
        " JOIN contest_entries e ON e.id = v.entry_id WHERE v.contest_id = ?"
        " AND e.withdrawn_at IS NULL AND e.disqualified_at IS NULL",
        (contest_id,),
    )
    return {(int(r[0]), int(r[1])) for r in rows}


async def check_limits(db: SqlDatabase, contest_id: int, entries: int, votes: int) -> None:
    over_entries = await db.fetchall(
        "SELECT user_id FROM contest_entries WHERE contest_id = ? AND withdrawn_at IS NULL"
        " AND disqualified_at IS NULL GROUP BY user_id HAVING COUNT(*) > ?",
        (contest_id, entries),
    )
    assert over_entries == []
    over_votes = await db.fetchall(
        "SELECT v.voter_id FROM contest_votes v JOIN contest_entries e ON e.id = v.entry_id"
        " WHERE v.contest_id = ? AND e.withdrawn_at IS NULL AND e.disqualified_at IS NULL"
        " GROUP BY v.voter_id HAVING COUNT(*) > ?",
        (contest_id, votes),
    )
    assert over_votes == []
    own = await db.fetchall(
        "SELECT 1 FROM contest_votes v JOIN contest_entries e ON e.id = v.entry_id"
        " WHERE v.contest_id = ? AND v.voter_id = e.user_id",
        (contest_id,),
    )
    assert own == []


async def press(service: ContestService, voter: int, entry: Entry) -> VoteOutcome | None:
    try:
        return await service.vote(
            GUILD, entry.id, voter, voter_is_bot=False, account_created_at=0, member_joined_at=0
        )
    except ContestError:
        return None


def record(model: Model, outcomes: list[VoteOutcome | None], voter: int) -> None:
    """Apply presses to the model: new votes first, then a repeat must be one of them."""
    counted = [o for o in outcomes if o and o.status is VoteStatus.COUNTED]
    for outcome in counted:
        assert (voter, outcome.entry.id) not in model.votes
        model.votes.add((voter, outcome.entry.id))
    for outcome in outcomes:
        if outcome and outcome.status is VoteStatus.ALREADY_COUNTED:
            assert (voter, outcome.entry.id) in model.votes
    if len(outcomes) == 1 and outcomes[0]:  # one press alone: its count is exact
        assert outcomes[0].votes_left == model.budget - model.used(voter)


async def on_fresh(engine: str, folder: Path, pg_server: PgServer, run: Any) -> None:
    """`run(db)` on a new, empty database on `engine` (one per example), closed afterwards."""
    if engine == "sqlite":
        await run(await Database.open(folder / "contest.db"))
        return
    url = await pg_server.new_database()
    try:
        await run(await PgDatabase.open(url))
    finally:
        await pg_server.drop(url)


async def scenario(
    db: SqlDatabase,
    entries_per_member: int,
    budget: int,
    submissions: list[tuple[str, int]],
    voting: list[tuple[str, int, int]],
    seed: int,
) -> None:
    clock = Clock()
    service = ContestService(ContestRepo(db), clock=clock, rng=random.Random(seed))
    try:
        contest = await service.create(
            GUILD, 2, MOD, title="T", theme="x", submissions=60, voting=60,
            entries_per_member=entries_per_member, votes_per_member=budget,
        )  # fmt: skip
        for action, author in submissions:
            try:
                if action == "enter":
                    job = await delivered_job(db, author)
                    await service.enter(GUILD, contest.number, author, job)
                else:
                    await service.withdraw(GUILD, contest.number, author)
            except ContestError:
                pass
            await check_limits(db, contest.id, entries_per_member, budget)
        clock.advance(60)
        (opened,) = await service.tick()
        if opened.kind is ChangeKind.NO_ENTRIES:
            assert await service.entries(opened.contest) == []
            return
        entries = list(opened.entries)
        model = Model(budget)
        for action, who, index in voting:
            entry = entries[index % len(entries)]
            if action == "vote":
                record(model, [await press(service, who, entry)], who)
            elif action == "burst":  # a member hammering several Vote buttons at once
                picks = [entries[(index + i) % len(entries)] for i in range(6)]
                record(
                    model, list(await asyncio.gather(*(press(service, who, e) for e in picks))), who
                )
            elif action == "take_back":
                try:
                    outcome = await service.take_back(GUILD, entry.id, who)
                except ContestError:
                    pass
                else:
                    was = (who, entry.id) in model.votes
                    assert (outcome.status is VoteStatus.TAKEN_BACK) == was
                    model.votes.discard((who, entry.id))
            elif entry.number is not None:
                try:
                    await service.disqualify(GUILD, contest.number, entry.number, MOD, "rule")
                    model.out.add(entry.id)
                except ContestError:
                    assert entry.id in model.out
            await check_limits(db, contest.id, entries_per_member, budget)
            assert await db_live_votes(db, contest.id) == model.live_votes()
        clock.advance(60)
        (closed,) = await service.tick()
        assert closed.kind is ChangeKind.RESULTS and closed.results is not None
        await check_frozen_tally(db, contest.id, model, closed.results.rows)
    finally:
        await db.close()


async def check_frozen_tally(db: SqlDatabase, contest_id: int, model: Model, rows: Any) -> None:
    recount_rows = await db.fetchall(
        "SELECT e.id, e.number, COUNT(v.voter_id) FROM contest_entries e"
        " LEFT JOIN contest_votes v ON v.entry_id = e.id WHERE e.contest_id = ?"
        " AND e.withdrawn_at IS NULL AND e.disqualified_at IS NULL GROUP BY e.id",
        (contest_id,),
    )
    recount = {int(r[0]): int(r[2]) for r in recount_rows}
    frozen = {
        int(r[0]): (int(r[1]), int(r[2]))
        for r in await db.fetchall(
            "SELECT entry_id, place, votes FROM contest_results WHERE contest_id = ?",
            (contest_id,),
        )
    }
    assert {e: votes for e, (_, votes) in frozen.items()} == recount
    expected = {e: 0 for e in recount}
    for _, entry_id in model.live_votes():
        expected[entry_id] += 1
    assert recount == expected
    places = {e: place for place, e, _ in competition_ranking(recount)}
    assert {e: place for e, (place, _) in frozen.items()} == places
    assert [(r.place, r.entry.id, r.votes) for r in rows] == sorted(
        ((place, e, votes) for e, (place, votes) in frozen.items()),
        key=lambda t: (t[0], next(r.entry.number for r in rows if r.entry.id == t[1])),
    )


# PostgreSQL runs fewer examples: each gets a new database, whose first statements on fresh
# server processes cost far more than sqlite's (the same scenarios, 0.6 s against 0.1 s each).
EXAMPLES = {"sqlite": 100, "postgresql": 25}


@pytest.mark.parametrize("engine", ENGINES)
def test_limits_hold_and_the_frozen_tally_equals_a_recount(engine: str, pg_server: PgServer):
    @settings(
        max_examples=EXAMPLES[engine],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        entries_per_member=st.integers(1, 2),
        budget=st.integers(1, 4),
        submissions=st.lists(submission_step, min_size=0, max_size=10),
        voting=st.lists(voting_step, max_size=30),
        seed=st.integers(0, 2**32),
    )
    def check(
        entries_per_member: int,
        budget: int,
        submissions: list[tuple[str, int]],
        voting: list[tuple[str, int, int]],
        seed: int,
    ) -> None:
        async def run(db: SqlDatabase) -> None:
            await scenario(db, entries_per_member, budget, submissions, voting, seed)

        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(on_fresh(engine, Path(folder), pg_server, run))

    check()
