"""RunComfy model API client: typed answers, one exception tree, safe retries."""

from bot.runcomfy.client import RunComfyClient
from bot.runcomfy.errors import (
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
from bot.runcomfy.models import CancelOutcome, JobResult, JobState, StatusReport, Submission

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
