"""Prompt contests, Discord-free: a theme, a window to enter videos this bot made, a blind
voting window, and frozen results (issue 11).

The pieces:

- `service.ContestService` (with `voting.ContestVoting`): everything the cog and the ticker
  call. Build it with a `ports.ContestStore` (`db.contests.ContestRepo`), a clock and
  optionally a `random.Random` for the shuffle of entry numbers.
- `domain`: the values (`Contest`, `Entry`, `VoteOutcome`, `ContestResults`, `PhaseChange`,
  `Phase`, the refusal enums), `TIE_RULE`, `competition_ranking`, `account_created_at`.
- `durations`: `parse_duration("2d 6h")` and `format_duration(194400)` ("2 d 6 h").
- `messages`: every text a member reads (`rules(contest)` for the announcement card).
- `errors`: the `UserFacingError` subclasses the service raises.

The cog's part: `/contest create` -> `create(...)`, post the card, `set_announcement`.
`/contest enter` -> `enter(guild, n, user, job)`; `/video contest:<n>` -> `check_can_enter` at
acceptance and `enter` on delivery (`messages.not_entered_after_delivery` if refused). Every few
seconds and at start, `tick()`: for each `PhaseChange`, VOTING_OPENED -> post "voting is open"
(`set_voting_message`) and `entries` in order with a Vote button `contest:vote:<entry.id>`
(`set_entry_message`); NO_ENTRIES -> `messages.no_entries`; RESULTS -> post `results`
(`set_results_message`) and take the buttons off. A Vote press -> `vote(...)`, a Take back press
-> `take_back(...)`; answer `outcome.message` ephemerally. At start, `needing_posts()` lists
contests whose posts a crash left unfinished.
"""

from bot.core.contests.domain import (
    TIE_RULE,
    ChangeKind,
    Contest,
    ContestResults,
    Entry,
    EntryRefusal,
    Phase,
    PhaseChange,
    ResultRow,
    VoteOutcome,
    VoteRefusal,
    VoterStatus,
    VoteStatus,
    account_created_at,
)
from bot.core.contests.durations import format_duration, parse_duration
from bot.core.contests.errors import (
    ContestError,
    ContestNotFound,
    EntryNotFound,
    EntryRefused,
    InvalidContest,
    InvalidDuration,
    TooManyContests,
    VoteRefused,
    WrongPhase,
)
from bot.core.contests.service import ContestService

__all__ = [
    "TIE_RULE",
    "ChangeKind",
    "Contest",
    "ContestError",
    "ContestNotFound",
    "ContestResults",
    "ContestService",
    "Entry",
    "EntryNotFound",
    "EntryRefusal",
    "EntryRefused",
    "InvalidContest",
    "InvalidDuration",
    "Phase",
    "PhaseChange",
    "ResultRow",
    "TooManyContests",
    "VoteOutcome",
    "VoteRefusal",
    "VoteRefused",
    "VoteStatus",
    "VoterStatus",
    "WrongPhase",
    "account_created_at",
    "format_duration",
    "parse_duration",
]
