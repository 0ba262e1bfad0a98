"""The refusals of the contest service: `UserFacingError`s the cog shows ephemerally as they are.

`EntryRefused` and `VoteRefused` carry a `reason` (an enum) beside the text, for a caller that
answers differently by reason (e.g. the /video path after delivery, when the window closed).
"""

from __future__ import annotations

from bot.core.contests.domain import EntryRefusal, VoteRefusal
from bot.core.errors import UserFacingError


class ContestError(UserFacingError):
    """Any refusal about a contest."""


class InvalidDuration(ContestError):
    pass


class InvalidContest(ContestError):
    """/contest create with options that can't make a contest; `problems` lists each."""

    def __init__(self, problems: list[str]) -> None:
        lines = "\n".join(f"• {p}" for p in problems)
        super().__init__(f"That contest can't be created as it is:\n{lines}")
        self.problems = problems


class ContestNotFound(ContestError):
    def __init__(self, number: int) -> None:
        super().__init__(f"There is no Contest #{number} in this server.")
        self.number = number


class EntryNotFound(ContestError):
    pass


class WrongPhase(ContestError):
    """The contest is not in a phase where that can be done (closing a closed one, say)."""


class TooManyContests(ContestError):
    pass


class EntryRefused(ContestError):
    def __init__(self, reason: EntryRefusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class VoteRefused(ContestError):
    def __init__(self, reason: VoteRefusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason
