"""Errors whose message is written for a Discord member; the cogs show them ephemerally."""


class UserFacingError(Exception):
    """Something the member can read and act on; it never carries a traceback to Discord."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidOptions(UserFacingError):
    def __init__(self, problems: list[str]) -> None:
        lines = "\n".join(f"• {p}" for p in problems)
        super().__init__(f"That request can't be made as it is:\n{lines}\nNothing was charged.")
        self.problems = problems


class QuotaRefused(UserFacingError):
    pass


class NotAllowed(UserFacingError):
    pass


class JobNotFound(UserFacingError):
    def __init__(self, job_id: int) -> None:
        super().__init__(f"There is no job #{job_id} in this server.")


class DuplicateRequest(UserFacingError):
    """The member asked for the same video a moment ago; `job_id` is the one already made."""

    def __init__(self, message: str, job_id: int) -> None:
        super().__init__(message)
        self.job_id = job_id
