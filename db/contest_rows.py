"""Row mapping and shared SQL for `db.contests`: contests and entries as domain values, the
trigger refusals of migration 0006 as the core's refusal enums."""

from __future__ import annotations

from bot.core.contests.domain import Contest, Entry, EntryRefusal, Phase, VoteRefusal
from db.sql import Row, SqlTransaction

LIVE = "withdrawn_at IS NULL AND disqualified_at IS NULL"  # neither withdrawn nor disqualified
LIVE_E = "e.withdrawn_at IS NULL AND e.disqualified_at IS NULL"  # the same, on alias e

# votes_cast: votes on live entries only, the figure the announcement card shows.
CONTEST_SELECT = (
    "SELECT c.*, (SELECT COUNT(*) FROM contest_votes v JOIN contest_entries e"
    f"  ON e.id = v.entry_id WHERE v.contest_id = c.id AND {LIVE_E}) AS votes_cast"
    " FROM contests c"
)

ENTRY_REFUSALS = {
    "contest:submissions_closed": EntryRefusal.CLOSED,
    "contest:entry_limit": EntryRefusal.LIMIT,
}
VOTE_REFUSALS = {
    "contest:not_voting": VoteRefusal.NOT_VOTING,
    "contest:entry_gone": VoteRefusal.ENTRY_GONE,
    "contest:own_entry": VoteRefusal.OWN_ENTRY,
    "contest:vote_budget": VoteRefusal.BUDGET,
}


def contest_of(row: Row) -> Contest:
    values = dict(row)
    values["phase"] = Phase(values["phase"])
    return Contest(**values)


def entry_of(row: Row) -> Entry:
    return Entry(**dict(row))


def refusal_reason(exc: Exception) -> str:
    """The 'contest:<reason>' a 0006 trigger raised, or '' for any other constraint."""
    text = str(exc)
    return text if text.startswith("contest:") else ""


async def contest_in(tx: SqlTransaction, contest_id: int) -> Contest:
    row = await tx.fetchone(f"{CONTEST_SELECT} WHERE c.id = ?", (contest_id,))
    assert row is not None
    return contest_of(row)


async def used_votes(tx: SqlTransaction, contest_id: int, voter_id: int) -> int:
    """The voter's votes on live entries: what the budget counts."""
    row = await tx.fetchone(
        "SELECT COUNT(*) FROM contest_votes v JOIN contest_entries e ON e.id = v.entry_id"
        f" WHERE v.contest_id = ? AND v.voter_id = ? AND {LIVE_E}",
        (contest_id, voter_id),
    )
    return int(row[0]) if row else 0
