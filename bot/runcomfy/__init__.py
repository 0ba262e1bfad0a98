"""RunComfy model API client: typed answers, one exception tree, safe retries."""

from bot.core.provider import CancelOutcome, JobResult, JobState, StatusReport, Submission
from bot.core.provider_errors import (
    AuthError,
    BadResponse,
    Forbidden,
    InsufficientCredits,
    InvalidInput,
    NotFound,
    RateLimited,
    RunComfyError,
    SubmitUncertain,
    TooLarge,
    Unavailable,
    UnknownModel,
    UntrustedHost,
)
from bot.runcomfy.client import RunComfyClient

__all__ = [
    "AuthError",
    "BadResponse",
    "CancelOutcome",
    "Forbidden",
    "InsufficientCredits",
    "InvalidInput",
    "JobResult",
    "JobState",
    "NotFound",
    "RateLimited",
    "RunComfyClient",
    "RunComfyError",
    "StatusReport",
    "Submission",
    "SubmitUncertain",
    "TooLarge",
    "Unavailable",
    "UnknownModel",
    "UntrustedHost",
]
