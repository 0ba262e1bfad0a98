"""Render a job as a public card (an embed). Pure: the same job always renders the same card.

Times are Discord timestamps (`<t:...:R>`), which every client counts up by itself, so a card
only needs an edit when its status, queue position or ETA changes.
"""

from __future__ import annotations

import discord

from bot.core.domain import Job, JobStatus
from bot.ui.budget import EMBED_DESCRIPTION_CHARS, FIELD_VALUE_CHARS, MESSAGE_CHARS, clip

COLOURS = {
    JobStatus.ACCEPTED: discord.Colour.light_grey(),
    JobStatus.SUBMITTING: discord.Colour.light_grey(),
    JobStatus.QUEUED: discord.Colour.blurple(),
    JobStatus.RUNNING: discord.Colour.gold(),
    JobStatus.DELIVERING: discord.Colour.gold(),
    JobStatus.DELIVERED: discord.Colour.green(),
    JobStatus.FAILED: discord.Colour.red(),
    JobStatus.CANCELLED: discord.Colour.dark_grey(),
}


def status_line(job: Job, queue_speed: float | None = None) -> str:
    if job.status in (JobStatus.ACCEPTED, JobStatus.SUBMITTING):
        return "⏳ Sending to the generator…"
    if job.status is JobStatus.QUEUED:
        if job.queue_position is None:
            return "⏳ Queued"
        ahead = job.queue_position
        if ahead == 0:
            return "⏳ Queued: #1 in line (next up)"
        moving = f"; the line moves {speed_text(queue_speed)}" if queue_speed else ""
        return f"⏳ Queued: #{ahead + 1} in line{moving}"
    if job.status is JobStatus.RUNNING:
        return "🎬 Generating…"
    if job.status is JobStatus.DELIVERING:
        return "📦 Finished: uploading the video…"
    if job.status is JobStatus.DELIVERED:
        return "✅ Done"
    if job.status is JobStatus.CANCELLED:
        who = f" by <@{job.cancelled_by}>" if job.cancelled_by else ""
        return f"🚫 Cancelled{who}; the credits were refunded"
    return "❌ Failed"


STAGES = {
    JobStatus.ACCEPTED: "sending",
    JobStatus.SUBMITTING: "sending",
    JobStatus.QUEUED: "queued",
    JobStatus.RUNNING: "generating",
    JobStatus.DELIVERING: "finishing",
    JobStatus.DELIVERED: "done",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELLED: "cancelled",
}
BAR_CELLS = 10


def speed_text(per_second: float) -> str:
    """`about 12 places a minute`, rounded coarsely: a card edit for every wobble of the
    estimate would spend the rate limit on noise."""
    per_minute = per_second * 60
    if per_minute < 1:
        return "less than one place a minute"
    step = 1 if per_minute < 10 else 5 if per_minute < 60 else 10
    shown = max(step, round(per_minute / step) * step)
    return f"about {shown} place{'s' if shown != 1 else ''} a minute"


def stage_of(job: Job) -> str:
    """What a member would call the job's state: a change of it goes to the card at once."""
    return STAGES[job.status]


def progress_bar(start: float, expected: float, now: float) -> str:
    """`▰▰▰▱▱▱▱▱▱▱ 30%`, from how long similar jobs took; full once past the expected end."""
    span = max(expected - start, 1.0)
    done = min(max((now - start) / span, 0.0), 1.0)
    cells = int(done * BAR_CELLS)
    bar = "▰" * cells + "▱" * (BAR_CELLS - cells)
    return f"{bar} {int(done * 100)}%" if done < 1 else f"{bar} any moment now"


def render(
    job: Job,
    options: str,
    eta_at: int | None = None,
    now: float | None = None,
    queue_speed: float | None = None,
) -> discord.Embed:
    """The card; `options` is the model's one-line summary of what was asked for, `eta_at`
    the epoch second the video is expected, when we can say, `now` draws the progress and
    `queue_speed` (places a second) says how fast the line moves."""
    embed = discord.Embed(
        title=f"Video #{job.id}",
        description=_quote(job.prompt),
        colour=COLOURS.get(job.status, discord.Colour.default()),
    )
    embed.add_field(name="Status", value=status_line(job, queue_speed), inline=False)
    if job.status is JobStatus.FAILED and job.error:
        embed.add_field(
            name="What happened", value=clip(job.error, FIELD_VALUE_CHARS), inline=False
        )
    if job.status is JobStatus.CANCELLED and job.error:
        embed.add_field(name="Reason", value=clip(job.error, FIELD_VALUE_CHARS), inline=False)
    embed.add_field(name="Options", value=clip(options, FIELD_VALUE_CHARS), inline=False)
    embed.add_field(name="Cost", value=_cost(job), inline=True)
    embed.add_field(name="Requested by", value=f"<@{job.user_id}>", inline=True)
    embed.add_field(name="Requested", value=f"<t:{int(job.created_at)}:R>", inline=True)
    if job.started_at is not None and job.is_open:
        embed.add_field(name="Started", value=f"<t:{int(job.started_at)}:R>", inline=True)
    if eta_at is not None and job.is_open:
        embed.add_field(name="Expected", value=f"<t:{eta_at}:R> (from recent jobs)", inline=True)
        if job.status is JobStatus.RUNNING and now is not None:
            start = job.submitted_at or job.created_at
            embed.add_field(name="Progress", value=progress_bar(start, eta_at, now), inline=False)
    if job.status is JobStatus.DELIVERED and job.delivered_at:
        took = int(job.delivered_at - job.created_at)
        shown = f"{took // 60} min {took % 60} s" if took >= 60 else f"{took} s"
        embed.add_field(name="Took", value=shown, inline=True)
    embed.set_footer(text=f"Job #{job.id} · /jobs show job:{job.id}")
    return embed


def _cost(job: Job) -> str:
    unit = "credit" if job.cost == 1 else "credits"
    if job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        return f"~~{job.cost} {unit}~~ refunded"
    return f"{job.cost} {unit}"


def _quote(prompt: str) -> str:
    # Code-free quote block: markdown in a prompt stays harmless, mentions in embeds never ping.
    quoted = "\n".join("> " + line for line in prompt.splitlines() or [""])
    return clip(quoted, EMBED_DESCRIPTION_CHARS)


def result_text(job: Job, *, linked: bool, too_large: bool = False) -> str:
    """The message that carries the video (or its link) and pings the author."""
    head = f"<@{job.user_id}> your video #{job.id} is ready."
    if not linked:
        return head
    why = "It is too large to upload here" if too_large else "It could not be attached here"
    text = f"{head} {why}, so here is the link (it may expire, save it soon):\n{job.video_url}"
    if len(text) > MESSAGE_CHARS:  # a signed link can outgrow a message
        return f"{head} {why}, and its link is too long for a message: see /jobs show job:{job.id}."
    return text
