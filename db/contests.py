"""Contest rows: contests, entries, votes and frozen results (migration 0006).

The fairness rules are the database's (triggers and UNIQUE constraints, see 0006): this
repository only turns their refusals into the core's `EntryRefusal` / `VoteRefusal` values.
Each phase change is one compare-and-set on `contests.phase` inside a transaction with what
goes with it (drawing the entry numbers; tallying into `contest_results`), so of two tickers
only one acts and a tally is never half written. Methods take times from the caller (the
service's clock) and return domain values.
"""

from __future__ import annotations

from bot.core.contests.domain import (
    Contest,
    Entry,
    NewContest,
    Phase,
    competition_ranking,
    shuffled_numbers,
)
from bot.core.contests.ports import MessageKind
from db.contest_entries import ContestEntryRepo
from db.contest_rows import CONTEST_SELECT, LIVE, LIVE_E, contest_in, contest_of
from db.sql import SqlTransaction, for_update, serialize

_MESSAGE_COLUMNS: dict[str, str] = {
    "announcement": "announcement_message_id",
    "voting": "voting_message_id",
    "results": "results_message_id",
}


class ContestRepo(ContestEntryRepo):
    """The whole contest store (`bot.core.contests.ports.ContestStore`); the entry and vote
    methods are in `db.contest_entries`."""

    # --- contests ------------------------------------------------------------------------

    async def create(self, new: NewContest, max_open: int) -> Contest | None:
        """Numbered next in its server in the same statement (UNIQUE (guild_id, number) backs
        it); None when `max_open` contests are already running there. The server's creates
        are serialised first (PostgreSQL's transactions run side by side, sqlite's do not)."""
        async with self._db.transaction() as tx:
            await serialize(tx, f"contests:{new.guild_id}")
            row = await tx.fetchone(
                "INSERT INTO contests (guild_id, number, channel_id, title, theme, created_by,"
                " created_at, submissions_close_at, voting_seconds, voting_close_at,"
                " entries_per_member, votes_per_member, min_account_age, min_member_age)"
                " SELECT :g, (SELECT COALESCE(MAX(number), 0) + 1 FROM contests"
                "   WHERE guild_id = :g), :ch, :title, :theme, :by, :at, :sub, :vs, :sub + :vs,"
                "   :epm, :vpm, CAST(:acc AS BIGINT), CAST(:mem AS BIGINT)"
                " WHERE (SELECT COUNT(*) FROM contests WHERE guild_id = :g"
                "   AND phase IN ('submissions', 'voting')) < :max_open"
                " RETURNING id",
                {
                    "g": new.guild_id,
                    "ch": new.channel_id,
                    "title": new.title,
                    "theme": new.theme,
                    "by": new.created_by,
                    "at": new.created_at,
                    "sub": new.submissions_close_at,
                    "vs": new.voting_seconds,
                    "epm": new.entries_per_member,
                    "vpm": new.votes_per_member,
                    "acc": new.min_account_age,
                    "mem": new.min_member_age,
                    "max_open": max_open,
                },
            )
            return await contest_in(tx, int(row[0])) if row else None

    async def get(self, contest_id: int) -> Contest | None:
        row = await self._db.fetchone(f"{CONTEST_SELECT} WHERE c.id = ?", (contest_id,))
        return contest_of(row) if row else None

    async def by_number(self, guild_id: int, number: int) -> Contest | None:
        row = await self._db.fetchone(
            f"{CONTEST_SELECT} WHERE c.guild_id = ? AND c.number = ?", (guild_id, number)
        )
        return contest_of(row) if row else None

    async def in_guild(
        self, guild_id: int, phases: frozenset[Phase], limit: int = 25
    ) -> list[Contest]:
        """Newest first."""
        marks = ", ".join("?" for _ in phases)
        rows = await self._db.fetchall(
            f"{CONTEST_SELECT} WHERE c.guild_id = ? AND c.phase IN ({marks})"
            " ORDER BY c.number DESC LIMIT ?",
            (guild_id, *sorted(phases), limit),
        )
        return [contest_of(r) for r in rows]

    async def due(self, now: float) -> list[Contest]:
        """Running contests whose phase deadline has passed, the oldest deadline first."""
        rows = await self._db.fetchall(
            f"{CONTEST_SELECT} WHERE (c.phase = 'submissions' AND c.submissions_close_at <= ?)"
            " OR (c.phase = 'voting' AND c.voting_close_at <= ?)"
            " ORDER BY CASE c.phase WHEN 'voting' THEN c.voting_close_at"
            " ELSE c.submissions_close_at END, c.id",
            (now, now),
        )
        return [contest_of(r) for r in rows]

    async def needing_posts(self) -> list[Contest]:
        """Voting contests missing their "voting is open" post or an entry's reveal post, and
        closed contests missing their results post (e.g. after a crash mid-reveal)."""
        rows = await self._db.fetchall(
            f"{CONTEST_SELECT} WHERE (c.phase = 'voting' AND (c.voting_message_id IS NULL"
            "   OR EXISTS (SELECT 1 FROM contest_entries e WHERE e.contest_id = c.id"
            f"     AND e.message_id IS NULL AND {LIVE_E})))"
            " OR (c.phase = 'closed' AND c.results_message_id IS NULL) ORDER BY c.id"
        )
        return [contest_of(r) for r in rows]

    async def set_message(self, contest_id: int, kind: MessageKind, message_id: int) -> None:
        column = _MESSAGE_COLUMNS[kind]
        await self._db.execute(
            f"UPDATE contests SET {column} = ? WHERE id = ?", (message_id, contest_id)
        )

    # --- phase changes -------------------------------------------------------------------

    async def open_voting(
        self, contest_id: int, opened_at: float, voting_close_at: float, seed: int
    ) -> Contest | None:
        """submissions -> voting, numbering the live entries in an order drawn from `seed`;
        with no live entries, submissions -> closed. None if it had left submissions."""
        async with self._db.transaction() as tx:
            await _lock(tx, contest_id)
            rows = await tx.fetchall(
                f"SELECT id FROM contest_entries WHERE contest_id = ? AND {LIVE}", (contest_id,)
            )
            ids = [int(r[0]) for r in rows]
            if ids:
                moved = await tx.fetchone(
                    "UPDATE contests SET phase = 'voting', submissions_close_at = :at,"
                    " voting_opened_at = :at,"
                    " voting_close_at = CASE WHEN :close > :at THEN :close ELSE :at END"
                    " WHERE id = :id AND phase = 'submissions' RETURNING id",
                    {"at": opened_at, "close": voting_close_at, "id": contest_id},
                )
            else:
                moved = await tx.fetchone(
                    "UPDATE contests SET phase = 'closed', submissions_close_at = :at,"
                    " voting_close_at = :at, ended_at = :at"
                    " WHERE id = :id AND phase = 'submissions' RETURNING id",
                    {"at": opened_at, "id": contest_id},
                )
            if moved is None:
                return None
            for entry_id, number in shuffled_numbers(ids, seed).items():
                await tx.execute(
                    "UPDATE contest_entries SET number = ? WHERE id = ?", (number, entry_id)
                )
            return await contest_in(tx, contest_id)

    async def close_voting(self, contest_id: int, at: float) -> Contest | None:
        """voting -> closed, tallying the votes of live entries into contest_results in the
        same transaction. None if it was not in voting."""
        async with self._db.transaction() as tx:
            moved = await tx.fetchone(
                "UPDATE contests SET phase = 'closed', ended_at = :at, voting_close_at ="
                " CASE WHEN :at > submissions_close_at THEN :at ELSE submissions_close_at END"
                " WHERE id = :id AND phase = 'voting' RETURNING id",
                {"at": at, "id": contest_id},
            )
            if moved is None:
                return None
            rows = await tx.fetchall(
                "SELECT e.id, e.number, COUNT(v.voter_id) FROM contest_entries e"
                " LEFT JOIN contest_votes v ON v.entry_id = e.id"
                f" WHERE e.contest_id = ? AND {LIVE_E} GROUP BY e.id ORDER BY e.number",
                (contest_id,),
            )
            by_number = {int(r[1]): int(r[0]) for r in rows}
            votes = {int(r[1]): int(r[2]) for r in rows}
            for place, number, count in competition_ranking(votes):
                await tx.execute(
                    "INSERT INTO contest_results (contest_id, entry_id, place, votes)"
                    " VALUES (?, ?, ?, ?)",
                    (contest_id, by_number[number], place, count),
                )
            return await contest_in(tx, contest_id)

    async def cancel(
        self, contest_id: int, actor_id: int, reason: str | None, at: float
    ) -> Contest | None:
        """submissions or voting -> cancelled; None if it had already ended."""
        async with self._db.transaction() as tx:
            moved = await tx.fetchone(
                "UPDATE contests SET phase = 'cancelled', ended_at = ?, cancelled_by = ?,"
                " cancel_reason = ? WHERE id = ? AND phase IN ('submissions', 'voting')"
                " RETURNING id",
                (at, actor_id, reason, contest_id),
            )
            return await contest_in(tx, contest_id) if moved else None

    async def results(self, contest_id: int) -> list[tuple[int, Entry, int]]:
        rows = await self._db.fetchall(
            "SELECT r.place, r.votes, e.* FROM contest_results r"
            " JOIN contest_entries e ON e.id = r.entry_id"
            " WHERE r.contest_id = ? ORDER BY r.place, e.number",
            (contest_id,),
        )
        found = []
        for row in rows:
            values = dict(row)
            place, votes = int(values.pop("place")), int(values.pop("votes"))
            found.append((place, Entry(**values), votes))
        return found


async def _lock(tx: SqlTransaction, contest_id: int) -> None:
    """Lock the contest's row first, as the entry and vote triggers do on PostgreSQL: an entry
    arriving meanwhile waits, then finds voting open, instead of slipping in unnumbered."""
    await tx.execute(f"SELECT id FROM contests WHERE id = ?{for_update(tx)}", (contest_id,))
