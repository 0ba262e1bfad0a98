"""The RunComfy client's exception tree.

Every `RunComfyError` carries `user_message` (plain words a Discord member can act on), the
provider's numeric `code` and the `http_status` when there was one. `str(exc)` is for logs: it
names the route and the provider's reason, already scrubbed of the token by the client.
"""

from __future__ import annotations

from collections.abc import Sequence


class RunComfyError(Exception):
    """Base of every failure talking to RunComfy."""

    default_user_message = "RunComfy refused the request; try again later or tell a server admin."

    def __init__(
        self,
        message: str,
        *,
        user_message: str | None = None,
        code: int | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.user_message = user_message or self.default_user_message
        self.code = code
        self.http_status = http_status


class AuthError(RunComfyError):
    """The API token is missing, wrong, expired or revoked (400004, 401001, HTTP 401).

    A refused token is refused before any work starts, so a submit made nothing and cost nothing.
    """

    default_user_message = (
        "The bot is misconfigured (its RunComfy token was refused), so nothing was made and "
        "nothing was charged. Tell a server admin."
    )


class Forbidden(RunComfyError):
    """The request belongs to another account (403001)."""

    default_user_message = "RunComfy says this job belongs to another account."


class InsufficientCredits(RunComfyError):
    """The account has no balance left (400002, sent as HTTP 400)."""

    default_user_message = (
        "The RunComfy account behind this bot is out of credits; tell a server admin."
    )


class InvalidInput(RunComfyError):
    """RunComfy rejected the job's settings (422001); `details` lists its reasons."""

    default_user_message = "RunComfy rejected these video settings."

    def __init__(
        self,
        message: str,
        *,
        details: Sequence[str] = (),
        user_message: str | None = None,
        code: int | None = None,
        http_status: int | None = None,
    ) -> None:
        self.details: list[str] = list(details)
        if user_message is None and self.details:
            user_message = _clip(
                "RunComfy rejected these video settings: " + "; ".join(self.details), 300
            )
        super().__init__(message, user_message=user_message, code=code, http_status=http_status)


class UnknownModel(RunComfyError):
    """The model path is not known to RunComfy (400001): a setup problem."""

    default_user_message = (
        "RunComfy does not know the model this bot is set up for; tell a server admin."
    )


class NotFound(RunComfyError):
    """The request id is unknown or has expired (404001, HTTP 404)."""

    default_user_message = "RunComfy no longer knows this job; it may have expired."


class RateLimited(RunComfyError):
    """RunComfy kept asking us to slow down (429/408) until the retries ran out."""

    default_user_message = "RunComfy is busy right now; try again in a minute."

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        user_message: str | None = None,
        code: int | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, user_message=user_message, code=code, http_status=http_status)
        self.retry_after = retry_after


class Unavailable(RunComfyError):
    """RunComfy is down or unreachable: 5xx, 500001, timeouts, connection failures."""

    default_user_message = "RunComfy is not answering right now; try again in a few minutes."


class BadResponse(RunComfyError):
    """RunComfy answered something this client cannot read."""

    default_user_message = "RunComfy sent an answer the bot could not read; try again later."


class SubmitUncertain(RunComfyError):
    """A submit whose answer was lost: a billed job may exist, so it was not sent again."""

    default_user_message = (
        "RunComfy did not confirm the job, so it may or may not have started; "
        "it was not sent again to avoid paying twice."
    )


class UntrustedHost(RunComfyError):
    """A file URL, or a redirect on the way to it, left the allowed download hosts or http(s).

    Fetching it could make the bot reach an internal address on an answer's say-so (SSRF).
    """

    default_user_message = (
        "RunComfy's answer pointed to a file on an unexpected address, so the bot did not fetch it."
    )


class TooLarge(Exception):
    """A download is bigger than the caller allowed; the partial file has been removed."""

    def __init__(self, limit: int, size: int | None = None) -> None:
        shown = f"{size} bytes" if size is not None else "more"
        super().__init__(f"download is {shown}, over the limit of {limit} bytes")
        self.limit = limit
        self.size = size


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
