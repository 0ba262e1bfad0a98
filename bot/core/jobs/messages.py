"""What a member reads about a job: refusals, failures and cancel answers, in one place."""

from __future__ import annotations

from bot.core.domain import Job, JobStatus, Limits, Refusal

LOST_SUBMIT = (
    "RunComfy did not confirm this job when it was sent, so it may or may not have started. "
    "So that nobody pays twice it was not sent again, and your credits were refunded."
)
UNTRUSTED_VIDEO = (
    "RunComfy's answer pointed to a file on an unexpected address, so the bot did not fetch or "
    "post it. Your credits were refunded."
)
REFUNDED = " Your credits were refunded."
TIMED_OUT = "RunComfy did not finish this video in time. Your credits were refunded."
UNANSWERED = (
    "The bot restarted before it could answer this request, so it was not started. "
    "Nothing was charged: please run /video again."
)
VIDEO_GONE = (
    "The video was made, but its download link had expired before the bot could fetch it. "
    "Your credits were refunded."
)
UNDELIVERABLE = (
    "The video was made, but the bot could not post it here or send it to you by DM (check "
    "the bot's permissions in this channel, and your DM settings). Your credits were refunded; "
    "the link is in /jobs show for a while."
)
REMOVED_FROM_SERVER = "The bot was removed from this server. Your credits were refunded."
EXPIRED = "RunComfy no longer has this job (it expired). Your credits were refunded."
STARTED_MEANWHILE = (
    "It has already started generating, so it can't be cancelled any more; "
    "it will be delivered as usual."
)
BEING_SENT = "It is being sent to RunComfy right now; try again in a moment."
CANCELLED = "Cancelled; the credits were refunded."
CRASHED = (
    "Something went wrong on the bot's side while making this video, and it could not "
    "recover. Your credits were refunded; please try again later."
)
RESTARTING = "The bot is restarting; try again in a minute. Nothing was charged."
NOT_YOURS = "Only the member who asked for this video, or a moderator, can cancel it."

_NOT_CANCELLABLE = {
    JobStatus.RUNNING: STARTED_MEANWHILE,
    JobStatus.DELIVERING: "It has already finished and is being delivered.",
    JobStatus.DELIVERED: "It has already been delivered.",
    JobStatus.FAILED: "It has already ended (it failed and was refunded).",
    JobStatus.CANCELLED: "It was already cancelled.",
}


def not_cancellable(job: Job) -> str:
    return _NOT_CANCELLABLE.get(job.status, "It can't be cancelled now.")


def refusal_text(refusal: Refusal, cost: int, limits: Limits, reset_at: int) -> str:
    """Why a request was not accepted, with what the member can do about it."""
    reset = f"<t:{reset_at}:R>"
    credits = limits.credits + refusal.granted
    if refusal.reason == "active":
        return (
            f"You already have {refusal.active} video(s) in progress (the limit is "
            f"{limits.max_active}). Wait for one to finish, then try again. "
            "Nothing was charged."
        )
    if refusal.reason == "credits" and credits == 0:
        return "Video making is turned off for you in this server. Nothing was charged."
    if refusal.reason == "credits":
        left = max(credits - refusal.used, 0)
        return (
            f"This video costs {cost} credits and you have {left} of {credits} left today. "
            f"Try a shorter or lower-resolution video, or wait for the reset {reset}. "
            "Nothing was charged."
        )
    budget = limits.guild_budget or 0
    left = max(budget - refusal.guild_used, 0)
    return (
        f"This server has {left} of its {budget} daily credits left, not enough for this "
        f"{cost}-credit video. Try a shorter or lower-resolution one, or wait for the reset "
        f"{reset}. Nothing was charged."
    )


def duplicate_text(job: Job) -> str:
    """The answer to a double click: which job it repeats, and that it cost nothing."""
    where = ""
    if job.card_message_id is not None:
        where = (
            f" (https://discord.com/channels/{job.guild_id}/{job.channel_id}/{job.card_message_id})"
        )
    return (
        f"You asked for this exact video a moment ago: it is job #{job.id}{where}. "
        "Nothing was charged for this request. Press Make another if you really want a "
        "second one."
    )
